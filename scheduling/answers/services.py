"""Acting on a patient's answer: one link, one answer, under the link's and the visit's row locks."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from scheduling.answers.ratelimit import address_hash
from scheduling.booking.services import BookingError, booking_cancel, lock_appointment
from scheduling.models import AnswerLink, AppointmentEvent, PatientAnswer
from scheduling.reminders.answer_links import link_refusal

logger = logging.getLogger(__name__)

Purpose = AnswerLink.Purpose
Kind = PatientAnswer.Kind

NOTE_MAX_LENGTH = 1000
KINDS = {Purpose.CONFIRM: Kind.CONFIRMED, Purpose.CANCEL: Kind.CANCELLED, Purpose.OTHER_TIME: Kind.OTHER_TIME}
# What the visit's history says, with the patient's words after it.
HISTORY = {
    Purpose.CONFIRM: "Attendance confirmed by the patient from the message.",
    Purpose.CANCEL: "Cancelled by the patient from the message.",
    Purpose.OTHER_TIME: "The patient asked for another time from the message.",
}


class AnswerError(Exception):
    """The link cannot act; the message is the sentence the patient reads, in the active language."""


def _with_note(sentence: str, note: str) -> str:
    return f"{sentence} Their words: {note}" if note else sentence


@transaction.atomic
def patient_answer_record(*, token: str, purpose: str, note: str = "", address: str | None = None) -> PatientAnswer:
    """Record the patient's answer from a link and act on it; the link is used up.

    Confirming marks the visit confirmed (the roster shows it); cancelling goes through
    `booking_cancel` (the chair is free at once, the dose is due again on the worklist, the
    patient gets the cancellation notice); asking for another time leaves the visit booked
    and puts the request, with the patient's note, before the front desk. Each is written in
    the visit's history. Raises AnswerError when the link is not for this purpose, used,
    or its visit has started, moved or been cancelled.
    """
    link = AnswerLink.objects.select_for_update().filter(token=token).first()
    if link is None:
        raise AnswerError(gettext("This link is not valid. Check that the whole link was copied."))
    if link.purpose != purpose:
        # A link does one thing: a confirmation link never cancels.
        raise AnswerError(
            gettext("This link cannot do that. Use the link for what you want to do, or call the clinic.")
        )
    appointment = lock_appointment(link.appointment_id)
    link.appointment = appointment
    now = timezone.now()
    refusal = link_refusal(link, now=now)
    if refusal:
        raise AnswerError(refusal)
    note = " ".join((note or "").split())[:NOTE_MAX_LENGTH]
    history = _with_note(HISTORY[purpose], note)
    if purpose == Purpose.CANCEL:
        try:
            booking_cancel(appointment=appointment, by=None, reason=history)
        except BookingError as error:
            raise AnswerError(str(error)) from None
    else:
        AppointmentEvent.objects.create(
            appointment=appointment,
            action=AppointmentEvent.Action.NOTE,
            from_status=appointment.status,
            to_status=appointment.status,
            reason=history,
            details={"answer": purpose},
        )
    link.used_at = now
    link.save(update_fields=["used_at"])
    answer = PatientAnswer.objects.create(
        clinic_id=appointment.clinic_id,
        appointment=appointment,
        link=link,
        kind=KINDS[purpose],
        note=note,
        starts_at=link.starts_at,
        ip_hash=address_hash(address) if address else "",
    )
    logger.info("patient answer appointment=%s kind=%s", appointment.pk, answer.kind)
    return answer


@transaction.atomic
def patient_answer_handled(*, answer: PatientAnswer, by) -> PatientAnswer:
    """The front desk has dealt with a cancellation or a request for another time: it leaves their list."""
    answer = PatientAnswer.objects.select_for_update().get(pk=answer.pk)
    if answer.handled_at is None:
        answer.handled_at = timezone.now()
        answer.handled_by = by
        answer.save(update_fields=["handled_at", "handled_by"])
    return answer
