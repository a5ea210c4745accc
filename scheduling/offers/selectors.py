"""Reads about earlier-time offers that pages share: the patient's offer page, the front desk's list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Prefetch
from django.utils import timezone

from clinic.access import clinics_for_user
from scheduling.models import ChairOpening, SlotOffer
from scheduling.reminders.content import format_long_moment, page_sms_stop_url, phone_link

# The front desk's list: the openings still offered, and the outcomes of the last days.
RECENT = timedelta(days=7)
LIMIT = 100


def offer_page_for(offer: SlotOffer) -> dict:
    """What the patient's page shows: the clinic, the time, how long, the visit it replaces. No drug, no surname."""
    clinic = offer.opening.clinic
    return {
        "clinic": clinic,
        "clinic_phone_html": phone_link(clinic.phone),
        "first_name": offer.patient.first_name,
        "when": format_long_moment(offer.starts_at, clinic.tz),
        "time_zone": clinic.time_zone,
        "minutes": int((offer.ends_at - offer.starts_at).total_seconds() // 60),
        "current_when": format_long_moment(offer.appointment_starts_at, clinic.tz) if offer.appointment_id else "",
        "offer_ends": format_long_moment(offer.expires_at, clinic.tz),
        "sms_stop_url": page_sms_stop_url(offer.patient),
    }


@dataclass(frozen=True)
class OpeningLists:
    open: list[ChairOpening]
    recent: list[ChairOpening]


def openings_for_user(user, *, now=None) -> OpeningLists:
    """The user's clinics' openings still being offered (soonest first) and those closed in the last week (newest first)."""
    now = now or timezone.now()
    rows = (
        ChairOpening.objects.filter(clinic__in=clinics_for_user(user))
        .select_related("clinic", "chair", "filled_by__patient")
        .prefetch_related(
            Prefetch("offers", queryset=SlotOffer.objects.select_related("patient").order_by("round", "pk"))
        )
    )
    return OpeningLists(
        open=list(rows.filter(status__in=ChairOpening.OPEN_STATUSES).order_by("starts_at", "pk")[:LIMIT]),
        recent=list(
            rows.exclude(status__in=ChairOpening.OPEN_STATUSES)
            .filter(closed_at__gte=now - RECENT)
            .order_by("-closed_at", "-pk")[:LIMIT]
        ),
    )
