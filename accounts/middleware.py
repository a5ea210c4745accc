"""Two middlewares for signed-in sessions: the idle sign-out, and the second step before any page."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp import user_has_device

from clinic.mfa import mfa_required

LAST_ACTIVITY_KEY = "last_activity"
# The last activity is written at most this often, so a page does not save its session on every request.
ACTIVITY_RESOLUTION_SECONDS = 60
# A user found to need no second step is not asked again for this long: four lookups a request
# otherwise. A clinic that turns the requirement on is obeyed within five minutes.
MFA_CLEAR_KEY = "mfa_clear_until"
MFA_RECHECK_SECONDS = 300
# Sent by idle.js on requests a page makes by itself (the roster's refresh every minute):
# they are not a person at the computer, so they never keep a session alive.
BACKGROUND_HEADER = "HTTP_X_CHAIRSIDE_BACKGROUND"


def _redirect(request, url: str):
    """A redirect that htmx follows as a whole page, not inside the part it meant to swap."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _with_next(request, url: str) -> str:
    if request.method == "GET" and not request.headers.get("HX-Request"):
        return f"{url}?{urlencode({'next': request.get_full_path()})}"
    return url


class IdleTimeoutMiddleware:
    """Signs out a session that had no activity for SESSION_IDLE_MINUTES.

    Each request a person makes notes the time in the session; the first request after the idle
    time logs the session out and goes to the login page with a sentence saying why.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(timezone.now().timestamp())
            last = request.session.get(LAST_ACTIVITY_KEY)
            minutes = settings.SESSION_IDLE_MINUTES
            if last is not None and now - last > minutes * 60:
                logout(request)
                messages.info(request, f"You were signed out after {minutes} minutes without activity. Log in again.")
                return _redirect(request, _with_next(request, reverse(settings.LOGIN_URL)))
            fresh = last is not None and now - last < ACTIVITY_RESOLUTION_SECONDS
            if last is None or (not fresh and not request.META.get(BACKGROUND_HEADER)):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


def mfa_exempt(view):
    """Mark a view that a signed-in user may open before passing the second step (the step itself, logging out)."""
    view.mfa_exempt = True
    return view


class TwoStepSignInMiddleware:
    """Before any page: a code from the user's authenticator app, or setting one up where it is required.

    A user with an app set up must type a code once per session; a user who must have one
    (`clinic.mfa.mfa_required`) and has none is sent to set it up. Pages open without a login
    (the unsubscribe link) and the views marked `mfa_exempt` are let through.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if getattr(view_func, "mfa_exempt", False) or getattr(view_func, "login_required", True) is False:
            return None
        now = int(timezone.now().timestamp())
        if request.session.get(MFA_CLEAR_KEY, 0) > now:
            return None
        if user_has_device(user):
            return _redirect(request, _with_next(request, reverse("accounts:mfa_verify")))
        if mfa_required(user):
            messages.info(request, "Your clinic asks you to set up two-step sign-in before you carry on.")
            return _redirect(request, _with_next(request, reverse("accounts:mfa_setup")))
        request.session[MFA_CLEAR_KEY] = now + MFA_RECHECK_SECONDS
        return None
