"""The calendar feeds page (`scheduling:feeds`) and the feed itself (`feeds:calendar`, no login).

A new feed's address is shown once, on the page that answers its POST: Chairside keeps only
the token's hash, so it cannot show the address again (revoke it and make a new one instead).
"""

from __future__ import annotations

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clinic.access import clinics_for_user
from scheduling.feeds.access import feeds_for_user, may_have_own_feed, may_manage_clinic_feeds, require_feed_user
from scheduling.feeds.calendar import feed_calendar
from scheduling.feeds.services import FeedError, feed_create, feed_fetched, feed_for_token, feed_revoke
from scheduling.models import CalendarFeed

logger = logging.getLogger(__name__)


class FeedForm(forms.Form):
    kind = forms.ChoiceField(choices=CalendarFeed.Kind.choices, widget=forms.HiddenInput)
    clinic = forms.ModelChoiceField(queryset=None, empty_label=None)
    label = forms.CharField(
        max_length=80, required=False, label="Name (optional)", help_text="Where you will use it: “Phone”, say."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics_for_user(user).order_by("name")
        self.fields["clinic"].widget.attrs["class"] = "form-select"
        self.fields["label"].widget.attrs["class"] = "form-control"


def feed_url(token: str) -> str:
    return settings.SITE_URL + reverse("feeds:calendar", args=[token])


def _form(user, kind: str, *, rejected: FeedForm | None) -> FeedForm:
    """The form for one kind of feed: the rejected one (with what was typed) or a fresh one; ids apart per kind."""
    if rejected is not None and rejected.data.get("kind") == kind:
        return rejected
    return FeedForm(user=user, initial={"kind": kind}, auto_id=f"id_{kind}_%s")


def _page(request, *, created=None, token="", form=None, status=200):
    user = request.user
    feeds = list(
        feeds_for_user(user).select_related("clinic", "nurse", "created_by", "revoked_by").order_by("-created_at")
    )
    context = {
        "clinic_feeds": [feed for feed in feeds if feed.kind == CalendarFeed.Kind.CLINIC],
        "own_feeds": [feed for feed in feeds if feed.kind == CalendarFeed.Kind.NURSE],
        "may_manage": may_manage_clinic_feeds(user),
        "may_own": may_have_own_feed(user),
        "clinic_form": _form(user, CalendarFeed.Kind.CLINIC, rejected=form),
        "own_form": _form(user, CalendarFeed.Kind.NURSE, rejected=form),
        "created": created,
        "created_url": feed_url(token) if token else "",
    }
    return render(request, "scheduling/feeds/feeds.html", context, status=status)


@require_http_methods(["GET", "POST"])
def feeds(request):
    require_feed_user(request.user)
    if request.method == "GET":
        return _page(request)
    kind = request.POST.get("kind", "")
    form = FeedForm(
        request.POST, user=request.user, auto_id=f"id_{kind}_%s" if kind in CalendarFeed.Kind.values else "id_%s"
    )
    if not form.is_valid():
        return _page(request, form=form, status=400)
    kind = form.cleaned_data["kind"]
    allowed = (
        may_manage_clinic_feeds(request.user) if kind == CalendarFeed.Kind.CLINIC else may_have_own_feed(request.user)
    )
    if not allowed:
        raise Http404("No such feed.")
    try:
        feed, token = feed_create(
            kind=kind,
            clinic=form.cleaned_data["clinic"],
            nurse=request.user if kind == CalendarFeed.Kind.NURSE else None,
            label=form.cleaned_data["label"],
            created_by=request.user,
        )
    except FeedError as error:
        form.add_error(None, str(error))
        return _page(request, form=form, status=400)
    return _page(request, created=feed, token=token)


@require_POST
def feed_revoke_view(request, pk: int):
    require_feed_user(request.user)
    feed = feeds_for_user(request.user).filter(pk=pk).first()
    if feed is None:
        raise Http404("No such feed.")
    try:
        feed_revoke(feed=feed, by=request.user)
    except FeedError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The feed is revoked: its address no longer works. Remove it from your calendar app.")
    return redirect("scheduling:feeds")


@login_not_required
@never_cache
@require_GET
def calendar(request, token: str):
    """The feed's iCalendar file. The token is the credential; it is never logged, the feed's id is."""
    feed = feed_for_token(token)
    if feed is None:
        raise Http404("No such feed.")
    body = feed_calendar(feed)
    feed_fetched(feed=feed)
    logger.info("calendar feed fetched feed=%s kind=%s clinic=%s", feed.pk, feed.kind, feed.clinic_id)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="chairside.ics"'
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
