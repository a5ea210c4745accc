"""The sender: one claimed row, checked once more under its row lock, built and sent.

Only a row in 'sending' whose claim is ours is sent, and it is sent while its row lock is
held, so a second delivery of the same task, a re-claim by the scan and a cancellation all
wait for this one to finish and then find the row sent.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from patients.models import TreatmentCourse
from scheduling.doses import CourseDoses, clinic_today, course_doses
from scheduling.models import Appointment, Reminder
from scheduling.reminders.channels import SEND_ERRORS, content_send
from scheduling.reminders.content import ReminderContent, reminder_content
from scheduling.reminders.outbox import MAX_ATTEMPTS

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
Status = Reminder.Status

DOSE_KINDS = (Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE)


def _doses(reminder: Reminder, *, now: datetime) -> CourseDoses | None:
    """The course's doses for a due-soon or overdue reminder of an active course, else None."""
    course = reminder.course
    if reminder.kind not in DOSE_KINDS or course is None or course.status != TreatmentCourse.Status.ACTIVE:
        return None
    return course_doses(course, today=clinic_today(reminder.clinic, now))


def _still_wanted(reminder: Reminder, *, now: datetime, doses: CourseDoses | None) -> str:
    """'' when the message should go out now, else the reason it should not."""
    patient = reminder.patient
    if not patient.wants_email_reminders:
        return "The patient does not want email reminders."
    if reminder.kind == Kind.APPOINTMENT_UPCOMING:
        appointment = reminder.appointment
        if appointment.status != Appointment.Status.BOOKED:
            return f"The appointment is {appointment.get_status_display().lower()}."
        if not reminder.is_for_start_of(appointment):
            return "The appointment was moved."
        if appointment.starts_at <= now:
            return "The appointment had already started when the reminder could be sent."
        return ""
    if reminder.kind == Kind.MISSED_APPOINTMENT:
        appointment = reminder.appointment
        if appointment.status != Appointment.Status.NO_SHOW:
            return "The appointment is no longer marked as missed."
        if Appointment.objects.filter(course_id=appointment.course_id).upcoming().exists():
            return "The patient has booked again."
        return ""
    course = reminder.course
    if course is None or course.status != TreatmentCourse.Status.ACTIVE:
        return "The treatment course is no longer active."
    if reminder.kind == Kind.MONITORING_LABS:
        return ""
    # Due soon and overdue: only while that same dose is still unbooked.
    if doses is not None and doses.has_booking:
        return "The dose was booked."
    if doses is None or doses.next is None or doses.next.dose_number != reminder.dose_number_from_key:
        return "The dose this reminder was about has been given."
    return ""


def _due_date(reminder: Reminder, doses: CourseDoses | None) -> date | None:
    """The day the message is about: the next dose's target date, or the lab tests' date."""
    if reminder.kind == Kind.MONITORING_LABS:
        return reminder.lab_date_from_key
    if doses is not None and doses.next is not None:
        return doses.next.target_date
    return None


def reminder_content_at(reminder: Reminder, *, now: datetime) -> ReminderContent:
    """What the reminder says if sent at `now` (its clinic, patient, appointment and course loaded)."""
    return reminder_content(reminder, due_date=_due_date(reminder, _doses(reminder, now=now)))


def _claim_for_send(reminder_id: int) -> datetime | None:
    """Count an attempt and take a fresh claim, in its own committed transaction.

    The attempt is counted before the message goes out, so a message that kills its
    worker every time ends as 'failed' after MAX_ATTEMPTS instead of looping.
    """
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True).filter(pk=reminder_id, status=Status.SENDING).first()
        )
        if reminder is None:
            return None  # sent, cancelled, failed, back to pending, or being sent right now
        now = timezone.now()
        if reminder.attempts >= MAX_ATTEMPTS:
            reminder.status = Status.FAILED
            reminder.last_error = (
                f"Gave up after {reminder.attempts} attempts: the sending stopped part-way "
                f"(last error: {reminder.last_error or 'none recorded'}). "
                "Check with the patient whether it arrived before you retry."
            )[:2000]
            reminder.save(update_fields=["status", "last_error", "updated_at"])
            logger.warning("reminder failed reminder=%s attempts=%s (worker lost)", reminder.pk, reminder.attempts)
            return None
        reminder.attempts += 1
        reminder.claimed_at = now
        reminder.save(update_fields=["attempts", "claimed_at", "updated_at"])
        return now


def reminder_deliver(*, reminder_id: int) -> str:
    """Send one claimed reminder and record the outcome on its row.

    Returns the outcome: sent, cancelled, retry, failed or skipped.
    """
    claim = _claim_for_send(reminder_id)
    if claim is None:
        return "skipped"
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("clinic", "patient", "appointment", "course__patient__clinic")
            .filter(pk=reminder_id, status=Status.SENDING, claimed_at=claim)
            .first()
        )
        if reminder is None:
            return "skipped"  # taken over by a newer claim, or cancelled meanwhile
        now = timezone.now()
        # Read once: whether the message is still wanted and the date it gives.
        doses = _doses(reminder, now=now)
        reason = _still_wanted(reminder, now=now, doses=doses)
        if reason:
            reminder.status = Status.CANCELLED
            reminder.last_error = reason
            reminder.save(update_fields=["status", "last_error", "updated_at"])
            logger.info("reminder cancelled at send reminder=%s", reminder.pk)
            return "cancelled"
        try:
            content_send(reminder_content(reminder, due_date=_due_date(reminder, doses)), channel=reminder.channel)
        except SEND_ERRORS as error:
            reminder.last_error = f"{type(error).__name__}: {error}"[:2000]
            if reminder.attempts >= MAX_ATTEMPTS:
                reminder.status = Status.FAILED
                outcome = "failed"
            else:
                reminder.status = Status.PENDING
                reminder.claimed_at = timezone.now()  # the backoff counts from here
                outcome = "retry"
            reminder.save(update_fields=["status", "last_error", "claimed_at", "updated_at"])
            logger.warning("reminder %s reminder=%s attempts=%s", outcome, reminder.pk, reminder.attempts)
            return outcome
        # The window: a crash after the SMTP server accepted the message and before this
        # commit sends it once more on the next attempt (see the README).
        reminder.status = Status.SENT
        reminder.sent_at = timezone.now()
        reminder.last_error = ""
        reminder.save(update_fields=["status", "sent_at", "last_error", "updated_at"])
    logger.info("reminder sent reminder=%s", reminder_id)
    return "sent"
