"""The sender: one claimed row sent with no row lock held, and its outcome recorded after.

A send is three short steps, so nothing a person does (cancel, move, book, unsubscribe)
ever waits on a mail server:

1. claim: lock the bare row for a moment, count the attempt, note when it started, commit;
2. check and send, with no transaction open: is the message still wanted, build it, connect,
   look at the row once more, hand the message over;
3. record: lock the row for a moment and write what happened (sent, retry, failed).

One attempt at a row runs at a time: an attempt holds a PostgreSQL advisory lock on the
row's id from before its claim until it has recorded the outcome. No booking change takes
that lock, so only another attempt at the same row ever meets it, and it goes with the
worker's database connection when the worker dies. That is how a busy row is told from a
dead worker: the lock is held (busy: try again shortly), or it is free while the row says
an attempt started (that attempt died: count it as lost and send).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from patients.models import TreatmentCourse
from scheduling.doses import CourseDoses, clinic_today, course_doses
from scheduling.models import Appointment, Reminder, SlotOffer
from scheduling.reminders.channels import SEND_ERRORS, content_send
from scheduling.reminders.content import ReminderContent, calendar_sequence, notice_appointments, reminder_content
from scheduling.reminders.outbox import MAX_LOST_ATTEMPTS, SENDING_TIMEOUT, not_wanted_on, patient_channels, retry_wait

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
Status = Reminder.Status

DOSE_KINDS = (Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE)

# What `reminder_deliver` returns.
SENT = "sent"
RETRY = "retry"
FAILED = "failed"
CANCELLED = "cancelled"
SKIPPED = "skipped"  # nothing to do: sent, cancelled or failed already, or back to pending
BUSY = "busy"  # another attempt or a booking change holds the row right now: try again shortly


def _doses(reminder: Reminder, *, now: datetime) -> CourseDoses | None:
    """The course's doses for a due-soon or overdue reminder of an active course, else None."""
    course = reminder.course
    if reminder.kind not in DOSE_KINDS or course is None or course.status != TreatmentCourse.Status.ACTIVE:
        return None
    return course_doses(course, today=clinic_today(reminder.clinic, now))


def _still_wanted(reminder: Reminder, *, now: datetime, doses: CourseDoses | None) -> str:
    """'' when the message should go out now, else the reason it should not."""
    if reminder.channel not in patient_channels(reminder.patient):
        return not_wanted_on(reminder.channel)
    if reminder.kind == Kind.APPOINTMENT_UPCOMING:
        appointment = reminder.appointment
        if appointment.status != Appointment.Status.BOOKED:
            return f"The appointment is {appointment.get_status_display().lower()}."
        if not reminder.is_for_start_of(appointment):
            return "The appointment was moved."
        if appointment.starts_at <= now:
            return "The appointment had already started when the reminder could be sent."
        return ""
    if reminder.kind in Reminder.BOOKING_NOTICE_KINDS:
        return _notice_refusal(reminder, now=now)
    if reminder.kind in Reminder.OFFER_KINDS:
        return _offer_refusal(reminder, now=now)
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


def _notice_refusal(reminder: Reminder, *, now: datetime) -> str:
    """'' when a booking, move or cancellation notice should go out now, else why not.

    A cancellation notice goes even though its visits are cancelled: that is its news.
    """
    first = reminder.appointment
    if first.starts_at <= now:
        return "The visit had already started when the notice could be sent."
    if reminder.kind == Kind.APPOINTMENT_CANCELLED:
        return ""
    if not notice_appointments(reminder):
        return "The visits were cancelled since; the cancellation notice tells the patient."
    if reminder.kind == Kind.APPOINTMENT_MOVED and calendar_sequence(first) != reminder.sequence_from_key:
        return "The appointment was moved again; only the latest move's notice is sent."
    return ""


def _offer_refusal(reminder: Reminder, *, now: datetime) -> str:
    """'' when an offer (or the news that its time was taken) should go out now, else why not."""
    offer = SlotOffer.objects.get(pk=reminder.offer_id_from_key)
    if reminder.kind == Kind.SLOT_OFFER:
        if offer.status != SlotOffer.Status.OPEN:
            return f"The offer ended before it could be sent ({offer.get_status_display().lower()})."
        if now >= offer.expires_at:
            return "The offer ended before it could be sent."
        return ""
    if offer.starts_at <= now:
        return "The offered time had already begun when the message could be sent."
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


# --- One attempt at a time ------------------------------------------------------------------


def _attempt_lock_key(reminder_id: int) -> int:
    digest = hashlib.blake2b(f"chairside:reminder-send:{reminder_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _one_attempt_at_a_time(reminder_id: int) -> Iterator[bool]:
    """Hold the row's attempt lock for the block; yields False when another attempt holds it.

    A session-level advisory lock, not a transaction: no transaction stays open while the
    mail server is talked to. Elsewhere than PostgreSQL (the embedded SQLite default) it
    yields True, and an attempt started less than SENDING_TIMEOUT ago counts as alive.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = _attempt_lock_key(reminder_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        # A connection that broke meanwhile has taken the lock with it.
        if acquired:
            with suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


# --- The three steps -------------------------------------------------------------------------


def _fail(reminder: Reminder, sentence: str) -> None:
    reminder.status = Status.FAILED
    reminder.send_started_at = None
    reminder.last_error = sentence[:2000]
    reminder.save(update_fields=["status", "send_started_at", "lost_attempts", "last_error", "updated_at"])


def _claim(reminder_id: int) -> datetime | str:
    """Step 1: count an attempt and note when it started, in its own committed transaction.

    Returns the attempt's start (which identifies it on the row), or BUSY, SKIPPED or FAILED.
    The attempt is counted before the message goes out, so a message that kills its worker
    every time ends as 'failed' after MAX_LOST_ATTEMPTS instead of looping.
    """
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update(skip_locked=True).filter(pk=reminder_id).first()
        if reminder is None:
            # Locked for a moment by a booking change, a scan or a retry; or no such row.
            return BUSY if Reminder.objects.filter(pk=reminder_id, status=Status.SENDING).exists() else SKIPPED
        if reminder.status != Status.SENDING:
            return SKIPPED  # sent, cancelled, failed, or back to pending
        now = timezone.now()
        if reminder.send_started_at is not None:
            if connection.vendor != "postgresql" and reminder.send_started_at > now - SENDING_TIMEOUT:
                return BUSY
            # The attempt before this one started and never recorded an outcome: its worker died.
            reminder.lost_attempts += 1
            if reminder.lost_attempts >= MAX_LOST_ATTEMPTS:
                _fail(
                    reminder,
                    f"Gave up after the sending stopped part-way {reminder.lost_attempts} times in a row "
                    f"(last error: {reminder.last_error or 'none recorded'}). "
                    "Check with the patient whether it arrived before you retry.",
                )
                logger.warning("reminder failed reminder=%s lost_attempts=%s", reminder.pk, reminder.lost_attempts)
                return FAILED
        if reminder.attempts and now >= reminder.useful_until:
            _fail(reminder, _too_late(reminder, reminder.last_error))
            logger.warning("reminder failed reminder=%s attempts=%s (too late)", reminder.pk, reminder.attempts)
            return FAILED
        reminder.attempts += 1
        reminder.claimed_at = now
        reminder.send_started_at = now
        reminder.save(update_fields=["attempts", "lost_attempts", "claimed_at", "send_started_at", "updated_at"])
        return now


def _too_late(reminder: Reminder, error: str) -> str:
    return (
        f"Not sent: every one of {reminder.attempts} attempts failed, and the reminder stopped being useful "
        f"{reminder.useful_until_phrase} (last error: {error or 'none recorded'}). "
        "Contact the patient another way if it still matters."
    )


def _record_sent(reminder_id: int, *, started: datetime) -> str:
    """Step 3 after the message went out: the row says so, whatever happened to it meanwhile."""
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update().get(pk=reminder_id)
        if reminder.send_started_at == started:
            reminder.send_started_at = None
            reminder.lost_attempts = 0
        if reminder.status == Status.SENT:
            # Only when two attempts ran at once, which the attempt lock prevents on PostgreSQL.
            reminder.save(update_fields=["send_started_at", "lost_attempts", "updated_at"])
            logger.warning("reminder sent twice reminder=%s", reminder.pk)
            return SENT
        if reminder.status == Status.CANCELLED:
            # The cancellation was saved while the message was on its way; it went out all the
            # same. The row keeps both facts, so staff can tell the patient what stands.
            reason = reminder.last_error or "It was cancelled."
            reminder.last_error = (
                f"Sent while it was being cancelled: {reason[:1].lower()}{reason[1:]} "
                "Make sure the patient knows what stands."
            )[:2000]
            logger.warning("reminder sent while cancelled reminder=%s", reminder.pk)
        else:
            reminder.last_error = ""
        reminder.status = Status.SENT
        reminder.sent_at = timezone.now()
        reminder.save(
            update_fields=["status", "sent_at", "last_error", "send_started_at", "lost_attempts", "updated_at"]
        )
    logger.info("reminder sent reminder=%s", reminder_id)
    return SENT


def _record_not_sent(reminder_id: int, *, started: datetime, error: str = "", reason: str = "") -> str:
    """Step 3 when nothing went out: cancelled (`reason`), retried later or failed (`error`)."""
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update().get(pk=reminder_id)
        if reminder.send_started_at != started:
            return SKIPPED  # a later attempt has taken the row over; it records its own outcome
        reminder.send_started_at = None
        reminder.lost_attempts = 0
        fields = ["send_started_at", "lost_attempts", "updated_at"]
        if reminder.status != Status.SENDING:
            # Cancelled while the attempt was under way: the cancellation's reason stays.
            reminder.save(update_fields=fields)
            if reminder.status != Status.CANCELLED:
                return SKIPPED
            logger.info("reminder cancelled while sending reminder=%s", reminder.pk)
            return CANCELLED
        fields += ["status", "last_error"]
        if reason:
            reminder.status = Status.CANCELLED
            reminder.last_error = reason
            reminder.save(update_fields=fields)
            logger.info("reminder cancelled at send reminder=%s", reminder.pk)
            return CANCELLED
        now = timezone.now()
        reminder.last_error = error[:2000]
        if now + retry_wait(reminder.attempts) >= reminder.useful_until:
            reminder.status = Status.FAILED
            reminder.last_error = _too_late(reminder, error)[:2000]
            outcome = FAILED
        else:
            reminder.status = Status.PENDING
            reminder.claimed_at = now  # the backoff counts from here
            fields.append("claimed_at")
            outcome = RETRY
        reminder.save(update_fields=fields)
    logger.warning("reminder %s reminder=%s attempts=%s", outcome, reminder_id, reminder.attempts)
    return outcome


def _still_sending(reminder_id: int, started: datetime) -> bool:
    return Reminder.objects.filter(pk=reminder_id, status=Status.SENDING, send_started_at=started).exists()


def reminder_deliver(*, reminder_id: int) -> str:
    """Send one claimed reminder and record the outcome on its row.

    Returns the outcome: sent, cancelled, retry, failed, skipped, or busy (the row is held by
    another attempt or a booking change this moment; the caller tries again shortly).
    """
    with _one_attempt_at_a_time(reminder_id) as ours:
        if not ours:
            return BUSY
        started = _claim(reminder_id)
        if isinstance(started, str):
            return started
        reminder = Reminder.objects.select_related("clinic", "patient", "appointment", "course__patient__clinic").get(
            pk=reminder_id
        )
        now = timezone.now()
        # Read once: whether the message is still wanted and the date it gives.
        doses = _doses(reminder, now=now)
        reason = _still_wanted(reminder, now=now, doses=doses)
        if reason:
            return _record_not_sent(reminder_id, started=started, reason=reason)
        content = reminder_content(reminder, due_date=_due_date(reminder, doses))
        try:
            handed_over = content_send(
                content, channel=reminder.channel, still_wanted=lambda: _still_sending(reminder_id, started)
            )
        except SEND_ERRORS as error:
            return _record_not_sent(reminder_id, started=started, error=f"{type(error).__name__}: {error}")
        except Exception as error:  # the soft time limit, or a fault in a channel: retried like any failure
            logger.exception("reminder send error reminder=%s", reminder_id)
            return _record_not_sent(reminder_id, started=started, error=f"{type(error).__name__}: {error}")
        if not handed_over:
            return _record_not_sent(reminder_id, started=started)
        # The windows: a crash after the mail server accepted the message and before this
        # commit, or a server whose acceptance never arrives, sends it once more on the next
        # attempt (see the README).
        return _record_sent(reminder_id, started=started)
