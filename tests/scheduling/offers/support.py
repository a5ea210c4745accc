"""What the offer tests share: a booked visit to cancel, patients whose next dose fits its time, the offers' links."""

from __future__ import annotations

import re
from datetime import timedelta

from scheduling.booking.services import booking_cancel, booking_create
from scheduling.models import AnswerLink, CapacityPolicy, ChairOpening, Reminder, SlotOffer
from scheduling.reminders.content import reminder_content
from tests.helpers import give, local, make_course
from tests.scheduling.reminders.support import next_weekday, visit_day

LINK = re.compile(r"https?://[^\s\"<>]+/a/([A-Za-z0-9_-]+)/")
TYSABRI_EVERY = timedelta(days=28)  # dose 2's target; its window runs a week from there


def opening_day(clinic):
    return visit_day(clinic, days_ahead=10)


def due_course(clinic, day, *, days_into_window: int = 0, first_name: str = "Robin", **patient):
    """A Tysabri patient whose dose 2 is due and not booked, `days_into_window` days after its window opened on `day`."""
    given = day - TYSABRI_EVERY - timedelta(days=days_into_window)
    course = make_course(
        clinic,
        "tysabri",
        start=given,
        first_name=first_name,
        email=f"{first_name.lower()}@patients.example.org",
        **patient,
    )
    give(course, given, dose_number=1)
    return course


def booked_later(clinic, day, by, *, days_later: int, first_name: str, opted_in: bool = True, hour: int = 10):
    """A Tysabri patient booked `days_later` after `day`, inside dose 2's window, who wants earlier offers (or not)."""
    course = due_course(clinic, day, days_into_window=0, first_name=first_name, wants_earlier_offers=opted_in)
    later = next_weekday(day + timedelta(days=days_later))
    return booking_create(
        course=course,
        chair=clinic.chairs.order_by("position")[1],
        starts_at=local(clinic, later, hour),
        booked_by=by,
    )


def freed_opening(clinic, day, by, *, hour: int = 10) -> ChairOpening:
    """A Tysabri visit booked at `hour` on `day` in the first chair and then cancelled: its two hours are an opening."""
    course = due_course(clinic, day, first_name="Casey")
    visit = booking_create(
        course=course,
        chair=clinic.chairs.order_by("position").first(),
        starts_at=local(clinic, day, hour),
        booked_by=by,
    )
    booking_cancel(appointment=visit, by=by, reason="The patient cannot come")
    return ChairOpening.objects.get(freed_by=visit)


def set_policy(clinic, **fields) -> CapacityPolicy:
    policy, _created = CapacityPolicy.objects.update_or_create(clinic=clinic, defaults=fields)
    return policy


def offer_row(offer: SlotOffer, kind=Reminder.Kind.SLOT_OFFER, channel="email") -> Reminder:
    key = Reminder.offer_key(offer.pk) if kind == Reminder.Kind.SLOT_OFFER else Reminder.offer_taken_key(offer.pk)
    return Reminder.objects.get(key=Reminder.channel_key(key, channel))


def offer_links(offer: SlotOffer) -> dict[str, str]:
    """The links in the offer's email as it would be sent now, by purpose."""
    tokens = LINK.findall(reminder_content(offer_row(offer)).text)
    links = {link.purpose: link.token for link in AnswerLink.objects.filter(token__in=tokens)}
    assert set(links) == {"take_offer", "decline_offer"}
    return links


def mark_offers_sent(offers) -> None:
    """The offers' messages went out (the pipeline test sends real ones)."""
    keys = [
        Reminder.channel_key(Reminder.offer_key(offer.pk), channel) for offer in offers for channel in ("email", "sms")
    ]
    Reminder.objects.filter(key__in=keys).update(status=Reminder.Status.SENT)


def path(token: str) -> str:
    return f"/a/{token}/"
