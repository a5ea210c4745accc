"""Failed-login lockouts (django-axes): the page a locked-out person sees, who is locked, lifting a lockout."""

from __future__ import annotations

import logging

from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger(__name__)


def client_address(request) -> str | None:
    """The address failed logins are counted against.

    The connecting address, unless TRUSTED_PROXY_COUNT proxies stand in front of Chairside: then
    the address the outermost of them saw, read from the right of X-Forwarded-For, where a
    visitor cannot write it.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


def cool_off_minutes() -> int:
    return int(get_cool_off().total_seconds() // 60)


def lockout_sentence(username: str) -> str:
    minutes = cool_off_minutes()
    limit = settings.AXES_FAILURE_LIMIT
    return (
        f"Signing in as {username} from this computer is locked for {minutes} minutes after {limit} wrong "
        f"passwords in a row. Wait {minutes} minutes and try again, or ask a clinic manager to unlock your "
        "account on the Staff page."
    )


def lockout_response(request, original_response=None, credentials=None):
    """The login page again, with the lockout in a sentence and what typed kept (AXES_LOCKOUT_CALLABLE)."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    logger.warning(
        "login locked out address=%s failures=%s", client_address(request), get_failure_limit(request, credentials)
    )
    form = AuthenticationForm(request, initial={"username": username})
    return render(
        request,
        "registration/login.html",
        {"form": form, "lockout_message": lockout_sentence(username), "next": request.POST.get("next", "")},
        status=429,
    )


def locked_usernames(usernames) -> set[str]:
    """Which of these usernames are locked out from at least one address now."""
    since = timezone.now() - get_cool_off()
    return set(
        AccessAttempt.objects.filter(
            username__in=list(usernames), failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
        ).values_list("username", flat=True)
    )


def lockout_lift(*, username: str) -> int:
    """Forget every failed login of this username, from every address; returns how many records went."""
    return reset(username=username)
