"""Offering freed chair time, and acting on the patients' answers.

The life of an opening::

    new --(offer scan: the first few patients asked)--> offering
    offering --(every offer answered no or ended)--> offering, the next few asked
    offering --(a patient takes it, through the booking services)--> filled
    new/offering --(nobody left to ask, or the time is about to begin)--> closed

Every accept, decline and new round locks the opening's row first, then the offers' rows:
that order is the same everywhere, so answers arriving together queue on the opening and
exactly one of them books. The booking itself is `booking_create` (a dose not yet booked) or
`booking_reschedule` (the patient's later visit, whose old time becomes an opening of its
own), with all their checks; the others asked are told by a message that the time was taken.
Offers and the news go through the reminder outbox. Rows are changed with `save()`, so the
audit trail keeps every change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from scheduling.booking.services import BookingError, booking_create, booking_reschedule
from scheduling.models import (
    AnswerLink,
    Appointment,
    AppointmentEvent,
    CapacityPolicy,
    ChairOpening,
    Reminder,
    SlotOffer,
)
from scheduling.offers.candidates import NOTICE, opening_candidates
from scheduling.reminders.outbox import offer_message, offer_messages_cancel

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
Offer = SlotOffer.Status
Opening = ChairOpening.Status
Purpose = AnswerLink.Purpose

# Openings the scan looks at per pass, so one pass stays short.
SCAN_LIMIT = 200


def _lock_opening(opening_id: int) -> ChairOpening:
    list(ChairOpening.objects.select_for_update().filter(pk=opening_id).order_by().values_list("pk", flat=True))
    return ChairOpening.objects.select_related("clinic", "chair").get(pk=opening_id)


def _close(opening: ChairOpening, *, outcome: str, now: datetime) -> None:
    opening.status = Opening.CLOSED
    opening.outcome = outcome
    opening.closed_at = now
    opening.save(update_fields=["status", "outcome", "closed_at"])
    logger.info("opening closed opening=%s rounds=%s", opening.pk, opening.rounds)


def _end_offers(offers, *, status: str, outcome: str, now: datetime) -> list[SlotOffer]:
    ended = []
    for offer in offers:
        offer.status = status
        offer.outcome = outcome
        offer.answered_at = offer.answered_at or (now if status in (Offer.DECLINED, Offer.ACCEPTED) else None)
        offer.save(update_fields=["status", "outcome", "answered_at"])
        ended.append(offer)
    if ended:
        offer_messages_cancel(offer_ids=[offer.pk for offer in ended], reason=f"The offer ended: {outcome}")
    return ended


def _tell_taken(offers: list[SlotOffer], *, now: datetime, outcome: str) -> None:
    """End these open offers as taken; those whose message went out (or is going) get the news that it was taken."""
    keys = {
        Reminder.channel_key(Reminder.offer_key(offer.pk), channel): offer.pk
        for offer in offers
        for channel in Reminder.Channel.values
    }
    messaged = {
        keys[key]
        for key in Reminder.objects.filter(
            kind=Kind.SLOT_OFFER, key__in=keys, status__in=(Reminder.Status.SENT, Reminder.Status.SENDING)
        ).values_list("key", flat=True)
    }
    for offer in _end_offers(offers, status=Offer.TAKEN, outcome=outcome, now=now):
        if offer.pk in messaged:
            offer_message(kind=Kind.SLOT_OFFER_TAKEN, offer=offer)


def _ask_next(opening: ChairOpening, *, now: datetime) -> int:
    """With the opening locked: ask the next few patients, or close it when there is nobody left or no time."""
    if opening.starts_at < now + NOTICE:
        _close(opening, outcome="The time was about to begin before anyone took it.", now=now)
        return 0
    if opening.offers.filter(status=Offer.OPEN).exists():
        return 0
    policy = CapacityPolicy.for_clinics([opening.clinic])[opening.clinic_id]
    # Never the patient whose change freed the time, nor anyone asked about it before.
    asked = set(opening.offers.values_list("course_id", flat=True)) | {opening.freed_by.course_id}
    # One open offer per course at a time: a patient never holds two times at once.
    busy = set(SlotOffer.objects.filter(status=Offer.OPEN).values_list("course_id", flat=True))
    candidates = opening_candidates(opening, limit=policy.offers_at_once, skip=asked | busy, now=now)
    if not candidates:
        outcome = (
            "Nobody else's next dose fits this time." if opening.rounds else "No patient's next dose fits this time."
        )
        _close(opening, outcome=outcome, now=now)
        return 0
    opening.rounds += 1
    opening.status = Opening.OFFERING
    opening.save(update_fields=["rounds", "status"])
    for candidate in candidates:
        offer = SlotOffer.objects.create(
            opening=opening,
            patient=candidate.course.patient,
            course=candidate.course,
            dose_number=candidate.dose_number,
            appointment=candidate.appointment,
            appointment_starts_at=candidate.appointment.starts_at if candidate.appointment else None,
            chair=opening.chair,
            starts_at=candidate.starts_at,
            ends_at=candidate.ends_at,
            round=opening.rounds,
            expires_at=min(now + timedelta(minutes=policy.offer_minutes), candidate.starts_at),
        )
        offer_message(kind=Kind.SLOT_OFFER, offer=offer)
    logger.info("opening offered opening=%s round=%s asked=%s", opening.pk, opening.rounds, len(candidates))
    return len(candidates)


@transaction.atomic
def opening_offer_next(*, opening_id: int, now: datetime | None = None) -> int:
    """Ask the next patients about an opening that is new, or whose offers have all ended; returns how many."""
    now = now or timezone.now()
    opening = _lock_opening(opening_id)
    if not opening.is_open:
        return 0
    return _ask_next(opening, now=now)


@transaction.atomic
def offers_expire(*, now: datetime) -> list[int]:
    """End the open offers whose time to answer is over; returns the openings to ask again."""
    ids = list(
        SlotOffer.objects.select_for_update(skip_locked=True)
        .filter(status=Offer.OPEN, expires_at__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    ended = _end_offers(
        SlotOffer.objects.filter(pk__in=ids).order_by("pk"), status=Offer.EXPIRED, outcome="No answer in time.", now=now
    )
    return sorted({offer.opening_id for offer in ended})


def offers_advance(*, now: datetime | None = None) -> int:
    """The offer scan, every minute: end the offers whose time is over, then ask about every new opening and
    every opening whose offers have all ended. One opening's failure is logged and never stops the others.

    Returns how many patients were asked.
    """
    now = now or timezone.now()
    offers_expire(now=now)
    waiting = (
        ChairOpening.objects.filter(status__in=ChairOpening.OPEN_STATUSES)
        .exclude(offers__status=Offer.OPEN)
        .order_by("starts_at", "pk")
        .values_list("pk", flat=True)[:SCAN_LIMIT]
    )
    asked = 0
    for opening_id in list(waiting):
        try:
            asked += opening_offer_next(opening_id=opening_id, now=now)
        except Exception:
            logger.exception("offer scan failed opening=%s", opening_id)
    return asked


# --- The patient's answers ------------------------------------------------------------------


@dataclass(frozen=True)
class OfferAnswer:
    """What came of a patient's answer: booked, declined, taken (someone else was first) or refused, and the sentence."""

    outcome: str
    sentence: str
    offer: SlotOffer | None = None
    appointment: Appointment | None = None

    BOOKED = "booked"
    DECLINED = "declined"
    TAKEN = "taken"
    REFUSED = "refused"


# The sentences below are the patient's, read on the offer's page in the patient's language (the
# answers view sets it); the outcomes stored for the front desk stay in the clinic's words.


def wrong_purpose_sentence() -> str:
    return gettext("This link cannot do that. Use the link for what you want to do.")


def _taken(offer: SlotOffer) -> str:
    """What the patient reads when someone else was quicker."""
    if offer.appointment_id:
        return gettext("This time was taken by another patient a moment ago. Your booking is unchanged.")
    return gettext("This time was taken by another patient a moment ago. Nothing has changed for you.")


def _unchanged(offer: SlotOffer) -> str:
    return gettext("Your booking is unchanged.") if offer.appointment_id else gettext("Nothing has changed for you.")


def _call_if_changed(clinic) -> str:
    names = {"clinic": clinic.name, "phone": clinic.phone}
    if clinic.phone:
        return gettext("Please call %(clinic)s on %(phone)s if something has changed.") % names
    return gettext("Please call %(clinic)s if something has changed.") % names


def _call_with_questions(clinic) -> str:
    names = {"clinic": clinic.name, "phone": clinic.phone}
    if clinic.phone:
        return gettext("Please call %(clinic)s on %(phone)s if you have a question.") % names
    return gettext("Please call %(clinic)s if you have a question.") % names


def offer_refusal(offer: SlotOffer, *, link: AnswerLink, now: datetime) -> str:
    """'' while the offer may still be answered with this link, else the sentence the patient reads instead."""
    clinic = offer.opening.clinic
    if link.used_at is not None or offer.status in (Offer.ACCEPTED, Offer.DECLINED):
        return " ".join([gettext("You have already answered this offer."), _call_if_changed(clinic)])
    if offer.status == Offer.TAKEN:
        return _taken(offer)
    if offer.status != Offer.OPEN or now >= offer.expires_at or now >= offer.starts_at:
        return " ".join([gettext("This offer has ended."), _unchanged(offer)])
    return ""


def _locked_offer(token: str, purpose: str) -> tuple[AnswerLink, SlotOffer, ChairOpening] | OfferAnswer:
    link = AnswerLink.objects.filter(token=token, offer__isnull=False).values_list("pk", "offer__opening_id").first()
    if link is None:
        return OfferAnswer(
            OfferAnswer.REFUSED, gettext("This link is not valid. Check that the whole link was copied.")
        )
    link_id, opening_id = link
    # The opening first: every answer about this time waits here, in turn.
    opening = _lock_opening(opening_id)
    link = AnswerLink.objects.select_for_update().get(pk=link_id)
    if link.purpose != purpose:
        return OfferAnswer(OfferAnswer.REFUSED, wrong_purpose_sentence())
    list(SlotOffer.objects.select_for_update().filter(pk=link.offer_id).order_by().values_list("pk", flat=True))
    offer = SlotOffer.objects.select_related("patient", "course", "appointment", "chair").get(pk=link.offer_id)
    offer.opening = opening
    return link, offer, opening


@transaction.atomic
def offer_accept(*, token: str, now: datetime | None = None) -> OfferAnswer:
    """The patient takes the offered time: the first to accept is booked, the others are told it was taken.

    Booked through `booking_create` (a dose not yet booked) or `booking_reschedule` (the patient's
    later visit moves here, and its old time becomes an opening); either refuses a booking that
    breaks a rule, and then nothing of the patient's changes.
    """
    now = now or timezone.now()
    found = _locked_offer(token, Purpose.TAKE_OFFER)
    if isinstance(found, OfferAnswer):
        return found
    link, offer, opening = found
    unchanged = _taken(offer)
    if opening.status == Opening.FILLED and offer.status in (Offer.OPEN, Offer.TAKEN):
        return OfferAnswer(OfferAnswer.TAKEN, unchanged, offer)
    refusal = offer_refusal(offer, link=link, now=now)
    if refusal:
        outcome = OfferAnswer.TAKEN if offer.status == Offer.TAKEN else OfferAnswer.REFUSED
        return OfferAnswer(outcome, refusal, offer)
    link.used_at = now
    link.save(update_fields=["used_at"])
    try:
        with transaction.atomic():
            appointment = _book(offer)
    except BookingError as error:
        logger.info("offer refused offer=%s code=%s", offer.pk, error.code)
        if error.code == "slot_taken":
            # Booked another way meanwhile (the front desk, a move): nobody can take it from an offer now.
            others = list(SlotOffer.objects.select_for_update().filter(opening=opening, status=Offer.OPEN))
            _tell_taken(others, now=now, outcome="The time was booked another way.")
            _end_offers([offer], status=Offer.TAKEN, outcome=error.message, now=now)
            _close(opening, outcome="The time was booked another way before anyone took it.", now=now)
            return OfferAnswer(OfferAnswer.TAKEN, unchanged, offer)
        _end_offers([offer], status=Offer.WITHDRAWN, outcome=error.message, now=now)
        _ask_next(opening, now=now)
        sentence = " ".join(
            [
                gettext("This time can no longer be booked for you."),
                _unchanged(offer),
                _call_with_questions(opening.clinic),
            ]
        )
        return OfferAnswer(OfferAnswer.REFUSED, sentence, offer)
    offer.status = Offer.ACCEPTED
    offer.answered_at = now
    offer.booked = appointment
    offer.outcome = "Booked from the offer."
    offer.save(update_fields=["status", "answered_at", "booked", "outcome"])
    offer_messages_cancel(offer_ids=[offer.pk], reason="The patient took the time.")
    opening.status = Opening.FILLED
    opening.filled_by = appointment
    opening.closed_at = now
    opening.outcome = "Taken from an offer."
    opening.save(update_fields=["status", "filled_by", "closed_at", "outcome"])
    others = list(SlotOffer.objects.select_for_update().filter(opening=opening, status=Offer.OPEN).order_by("pk"))
    _tell_taken(others, now=now, outcome="Another patient took the time first.")
    AppointmentEvent.objects.create(
        appointment=appointment,
        action=AppointmentEvent.Action.NOTE,
        from_status=appointment.status,
        to_status=appointment.status,
        reason="Booked by the patient from an offer of an earlier time.",
        details={"offer": offer.pk, "opening": opening.pk},
    )
    logger.info("offer accepted offer=%s opening=%s appointment=%s", offer.pk, opening.pk, appointment.pk)
    return OfferAnswer(OfferAnswer.BOOKED, "", offer, appointment)


def _book(offer: SlotOffer) -> Appointment:
    if offer.appointment_id is None:
        return booking_create(
            course=offer.course,
            chair=offer.chair,
            starts_at=offer.starts_at,
            booked_by=None,
            dose_number=offer.dose_number,
        )
    appointment = offer.appointment
    if appointment.status != Appointment.Status.BOOKED or appointment.starts_at != offer.appointment_starts_at:
        raise BookingError("The visit this offer would move has changed since.", code="visit_changed")
    return booking_reschedule(
        appointment=appointment,
        chair=offer.chair,
        starts_at=offer.starts_at,
        by=None,
        reason="Moved earlier by the patient, from an offer of an earlier time.",
    )


@transaction.atomic
def offer_decline(*, token: str, now: datetime | None = None) -> OfferAnswer:
    """The patient says no thanks: nothing of theirs changes; once every offer of the round has ended, the next are asked."""
    now = now or timezone.now()
    found = _locked_offer(token, Purpose.DECLINE_OFFER)
    if isinstance(found, OfferAnswer):
        return found
    link, offer, opening = found
    refusal = offer_refusal(offer, link=link, now=now)
    if refusal:
        return OfferAnswer(OfferAnswer.REFUSED, refusal, offer)
    link.used_at = now
    link.save(update_fields=["used_at"])
    _end_offers([offer], status=Offer.DECLINED, outcome="The patient said no thanks.", now=now)
    if opening.is_open:
        _ask_next(opening, now=now)
    logger.info("offer declined offer=%s opening=%s", offer.pk, opening.pk)
    return OfferAnswer(OfferAnswer.DECLINED, "", offer)
