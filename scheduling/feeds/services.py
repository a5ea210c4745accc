"""Making, revoking and finding calendar feeds. Only the token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clinic.access import clinics_for_user
from clinic.models import Clinic
from scheduling.models import CalendarFeed

# 48 random bytes: a URL-safe token of 64 characters, beyond any guessing.
TOKEN_BYTES = 48


class FeedError(Exception):
    """A feed that cannot be made or revoked, with the sentence to show."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def feed_create(*, kind: str, clinic: Clinic, created_by, nurse=None, label: str = "") -> tuple[CalendarFeed, str]:
    """A new feed and its token (shown once: Chairside keeps only its hash).

    A clinic feed needs a clinic of the person making it; a nurse feed is the nurse's own.
    """
    if not clinics_for_user(created_by).filter(pk=clinic.pk).exists():
        raise FeedError("You do not work at this clinic, so you cannot make its feed.")
    if kind == CalendarFeed.Kind.NURSE and nurse is None:
        raise FeedError("A feed of assignments belongs to one nurse.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed(
        kind=kind,
        clinic=clinic,
        nurse=nurse if kind == CalendarFeed.Kind.NURSE else None,
        token_hash=token_hash(token),
        label=label.strip()[:80],
        created_by=created_by,
    )
    feed.full_clean()
    feed.save()
    return feed, token


@transaction.atomic
def feed_revoke(*, feed: CalendarFeed, by) -> CalendarFeed:
    """Stop a feed for good: its address answers 404 from now on."""
    locked = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if locked.revoked_at is not None:
        raise FeedError("This feed was already revoked.")
    locked.revoked_at = timezone.now()
    locked.revoked_by = by
    locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked


def feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed the token opens, or None (unknown, revoked, or its nurse or clinic no longer active)."""
    if not token or len(token) > 200:
        return None
    feed = (
        CalendarFeed.objects.select_related("clinic", "nurse")
        .filter(token_hash=token_hash(token), revoked_at__isnull=True, clinic__active=True)
        .first()
    )
    if feed is None:
        return None
    if feed.kind == CalendarFeed.Kind.NURSE:
        nurse = feed.nurse
        if nurse is None or not nurse.is_active or not clinics_for_user(nurse).filter(pk=feed.clinic_id).exists():
            return None
    return feed


def feed_fetched(*, feed: CalendarFeed) -> None:
    """Count a fetch on the row (calendars poll every few minutes: a counter, not an audit entry each)."""
    CalendarFeed.objects.filter(pk=feed.pk).update(fetch_count=F("fetch_count") + 1, last_fetched_at=timezone.now())
