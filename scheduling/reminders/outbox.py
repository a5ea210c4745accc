"""The reminder outbox: rows written in the same transaction as the booking change.

A reminder row is the record of one message owed to a patient. Redis only carries the
ids of rows to send; every decision (is it due, is it still wanted, was it sent) is made
against the row, and every change to it under a short row lock, so a lost or repeated
Celery message can never lose a reminder or send it twice (the README names the two
windows that can). No lock is held while a mail server is talked to.

The life of a row::

    pending --(minute scan claims it)--> sending --(worker sends it)--> sent
       ^                                   |  \\--(SMTP error, still useful)--> pending (after a backoff)
       |                                   |   \\-(SMTP error, too late now)---> failed (staff see it, may retry)
       +--(staff retry a failed row)       +--(worker died: redelivered, or re-claimed by the scan)
    pending/sending --(appointment cancelled or moved, patient unsubscribed, dose booked)--> cancelled
    cancelled while the message was already with the mail server --> sent, with a note saying so

This module writes and cancels rows (for a booking change, an unsubscribe, a retry); the
planner (`planner.py`) writes the rows the dosing rules call for, the minute scan
(`dispatcher.py`) claims due rows and the sender (`sender.py`) sends them. Keys are built on
the `Reminder` model.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic.models import Clinic
from patients.models import Patient
from scheduling.models import Appointment, Reminder
from scheduling.reminders.content import calendar_sequence
from scheduling.reminders.times import local_day_start, local_moment

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
Status = Reminder.Status

# Wait before the next attempt after a failed one: 1, 2, 4 and 8 minutes, then every 15
# minutes for as long as the message is still useful (`Reminder.useful_until`), so an outage
# of a mail server heals by itself.
RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8))
RETRY_EVERY = timedelta(minutes=15)
# A row still 'sending' this long after its last claim lost its task (a whole worker killed,
# the queue flushed): the scan claims it again. Longer than any live attempt (the send task's
# hard time limit is 75 s), so the re-claim finds only lost tasks; a re-claim of a row whose
# task is merely queued behind a backlog queues a second task, which finds the row sent (or
# meets the attempt lock and waits) and sends nothing. See the README, "Reminders".
SENDING_TIMEOUT = timedelta(minutes=5)
# Attempts in a row that kill their worker before anything is recorded: then the row is failed,
# so a message that crashes the worker cannot loop for ever.
MAX_LOST_ATTEMPTS = 3


def retry_wait(attempts: int) -> timedelta:
    """How long a row waits after its `attempts`-th attempt failed."""
    if attempts < 1:
        return timedelta(0)
    return RETRY_WAITS[attempts - 1] if attempts <= len(RETRY_WAITS) else RETRY_EVERY


OPEN_STATUSES = (Status.PENDING, Status.SENDING)


class ReminderError(Exception):
    """A reminder action that cannot be done; the message says what to do instead."""


Channel = Reminder.Channel


def patient_channels(patient: Patient) -> tuple[str, ...]:
    """The channels the patient wants messages on now: email, text messages, both or none.

    Texts only where this installation has an SMS provider (SMS_URL).
    """
    channels = []
    if patient.wants_email_reminders:
        channels.append(Channel.EMAIL)
    if settings.SMS_ENABLED and patient.wants_sms_reminders:
        channels.append(Channel.SMS)
    return tuple(channels)


def not_wanted_on(channel: str) -> str:
    """Why a row of this channel is not sent: the patient does not want that channel."""
    return f"The patient does not want {'text message' if channel == Channel.SMS else 'email'} reminders."


def _per_channel(wanted: Iterable[Wanted], channels: Sequence[str]) -> list[Wanted]:
    """One row of each message per channel: the same message by email and by text, each its own key."""
    return [
        replace(item, key=Reminder.channel_key(item.key, channel), channel=channel)
        for item in wanted
        for channel in channels
    ]


# --- Writing rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """A reminder row that should exist, before it is known whether it does."""

    key: str
    kind: str
    due_at: datetime
    clinic_id: int
    patient_id: int
    appointment_id: int | None = None
    course_id: int | None = None
    appointment_ids: tuple[int, ...] = ()
    channel: str = Reminder.Channel.EMAIL

    def row(self) -> Reminder:
        return Reminder(
            key=self.key,
            kind=self.kind,
            due_at=self.due_at,
            clinic_id=self.clinic_id,
            patient_id=self.patient_id,
            appointment_id=self.appointment_id,
            course_id=self.course_id,
            appointment_ids=list(self.appointment_ids),
            channel=self.channel,
        )


def rows_put(wanted: Iterable[Wanted], existing: dict[str, Reminder], *, now: datetime) -> int:
    """Create the wanted rows that do not exist; bring back cancelled ones; keep the rest.

    A row that was sent (or failed, or is being sent) is left alone: the same message is
    never sent twice. A cancelled row, never sent, is made pending again (an appointment
    moved back to its first time; a dose unbooked again). Returns the rows made pending.
    """
    new, revived = [], []
    for item in wanted:
        row = existing.get(item.key)
        if row is None:
            new.append(item.row())
        elif row.status == Status.CANCELLED and row.sent_at is None:
            row.status = Status.PENDING
            row.due_at = item.due_at
            row.attempts = 0
            row.lost_attempts = 0
            row.claimed_at = None
            row.send_started_at = None
            row.last_error = ""
            row.updated_at = now
            revived.append(row)
        elif row.status == Status.PENDING and row.due_at != item.due_at and item.kind == Kind.APPOINTMENT_UPCOMING:
            # The clinic changed its reminder hour or offsets: follow it.
            row.due_at = item.due_at
            row.updated_at = now
            revived.append(row)
    if new:
        # ignore_conflicts: a concurrent planner run may have created the same key a moment ago.
        Reminder.objects.bulk_create(new, ignore_conflicts=True)
    if revived:
        Reminder.objects.bulk_update(
            revived,
            [
                "status",
                "due_at",
                "attempts",
                "lost_attempts",
                "claimed_at",
                "send_started_at",
                "last_error",
                "updated_at",
            ],
        )
    return len(new) + len(revived)


def _cancel(queryset, *, reason: str) -> int:
    """Cancel the open rows of `queryset`.

    A row being sent right now is cancelled at once too: the sender holds no row lock while it
    talks to the mail server, and records afterwards whether the message went out anyway.
    """
    return queryset.filter(status__in=OPEN_STATUSES).update(
        status=Status.CANCELLED, last_error=reason, updated_at=timezone.now()
    )


# The rows `appointment_reminders_sync` keeps in line with one appointment's status and time.
VISIT_REMINDER_KINDS = (Kind.APPOINTMENT_UPCOMING, Kind.MISSED_APPOINTMENT)


@transaction.atomic
def appointment_reminders_sync(*, appointment) -> None:
    """Bring the appointment's reminder rows in line with its current status and time.

    Called by every booking service inside its transaction: creates the upcoming-visit
    reminders of a booked appointment, cancels those of a cancelled or moved one, and
    creates the missed-appointment reminder of a no-show. Day 2 and later of a block of
    consecutive days (a Lemtrada course) get no reminders of their own: day 1's come before
    the block, and the booking's confirmation listed every day. No reminder is due at or
    after the visit's start. The booking, move and cancellation notices are
    `booking_messages`'s. Idempotent.
    """
    now = timezone.now()
    clinic = appointment.clinic
    patient = appointment.patient
    rows = Reminder.objects.filter(appointment=appointment, kind__in=VISIT_REMINDER_KINDS)
    existing = {row.key: row for row in rows.select_for_update()}
    wanted: list[Wanted] = []
    status = appointment.status
    channels = patient_channels(patient)

    if status == Appointment.Status.BOOKED and channels and not _later_day_of_block(appointment):
        start_day = appointment.starts_at.astimezone(clinic.tz).date()
        for days_before in clinic.reminder_offsets:
            key = Reminder.upcoming_key(appointment, days_before)
            due_at = _upcoming_due(
                local_moment(clinic, start_day - timedelta(days=days_before)),
                [existing.get(Reminder.channel_key(key, channel)) for channel in channels],
                now=now,
            )
            # A reminder whose hour has passed (a late booking) or that would arrive after
            # the visit began is not created: the patient booked it moments ago.
            if due_at is not None and due_at < appointment.starts_at:
                wanted.append(
                    Wanted(
                        key=key,
                        kind=Kind.APPOINTMENT_UPCOMING,
                        due_at=due_at,
                        clinic_id=clinic.pk,
                        patient_id=patient.pk,
                        appointment_id=appointment.pk,
                        course_id=appointment.course_id,
                    )
                )
    if status == Appointment.Status.NO_SHOW and channels:
        wanted.append(
            Wanted(
                key=Reminder.missed_key(appointment),
                kind=Kind.MISSED_APPOINTMENT,
                due_at=now,
                clinic_id=clinic.pk,
                patient_id=patient.pk,
                appointment_id=appointment.pk,
                course_id=appointment.course_id,
            )
        )

    wanted = _per_channel(wanted, channels)
    wanted_keys = {item.key for item in wanted}
    stale = [row for key, row in existing.items() if key not in wanted_keys and row.status in OPEN_STATUSES]
    for channel in {row.channel for row in stale}:
        reason = not_wanted_on(channel) if channel not in channels else _why_cancelled(appointment)
        _cancel(rows.filter(pk__in=[row.pk for row in stale if row.channel == channel]), reason=reason)
    rows_put(wanted, existing, now=now)

    if status in Appointment.UPCOMING_STATUSES:
        # The course's next dose is booked now: "please book" and "please rebook" are moot.
        _cancel(
            Reminder.objects.filter(course_id=appointment.course_id).filter(
                Q(kind__in=(Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE))
                | Q(kind=Kind.MISSED_APPOINTMENT, appointment__starts_at__lt=appointment.starts_at)
            ),
            reason="The dose was booked.",
        )


def _upcoming_due(due_at: datetime, rows: list[Reminder | None], *, now: datetime) -> datetime | None:
    """When an upcoming-visit reminder falls due, or None when it is no longer wanted.

    A new reminder whose hour has passed is not created. One already in the outbox and not
    sent keeps going: when the clinic moves its reminder hour to a time already past today (or
    its time zone), it is sent at once rather than dropped; one waiting for a retry keeps its
    retry time, and one being sent is left to its sender. With both channels, the email's row
    decides (the text's follows it): the rows are of one message.
    """
    if due_at >= now:
        return due_at
    row = next((row for row in rows if row is not None), None)
    if row is None or row.status not in OPEN_STATUSES:
        return None
    if row.status == Status.PENDING and not row.attempts:
        return now if row.due_at >= now else row.due_at
    return row.due_at


def _later_day_of_block(appointment: Appointment) -> bool:
    """Whether the visit follows the course's previous dose on the next local day (Lemtrada's days 2 to 5).

    Read from the appointments as they stand, so it holds however the block was booked or moved.
    """
    if appointment.dose_number <= 1:
        return False
    tz = appointment.clinic.tz
    day_before = appointment.starts_at.astimezone(tz).date() - timedelta(days=1)
    previous = Appointment.objects.filter(
        course_id=appointment.course_id,
        dose_number=appointment.dose_number - 1,
        status__in=Appointment.ACTIVE_STATUSES,
    ).values_list("starts_at", flat=True)
    return any(starts_at.astimezone(tz).date() == day_before for starts_at in previous)


# --- The notices of a booking action ----------------------------------------------------------


@transaction.atomic
def booking_messages(*, kind: str, appointments: Sequence[Appointment]) -> Reminder | None:
    """Write the one notice a booking action owes the patient, due at once.

    Called once by each booking service, after its writes, inside its transaction:
    `BOOKING_CONFIRMED` for a visit or a series booked, `APPOINTMENT_MOVED` for a visit or
    the visits moved together, `APPOINTMENT_CANCELLED` for the visits cancelled. One row
    gives every visit of the action, so a series is one message with one calendar file.
    Visits that have begun are left out, and with none left there is no row.

    A cancellation cancels the confirmations and move notices not yet sent whose visits are
    all cancelled now; a move cancels the move notices not yet sent of the same first visit
    (only the latest move's goes). The visits' own reminders are brought in line once more,
    with the visit after each: which visit starts a block of consecutive days is only known
    once every write of the action is done. Returns the notice's row, or None.
    """
    now = timezone.now()
    appointments = sorted(appointments, key=lambda item: (item.starts_at, item.pk))
    if not appointments:
        return None
    _block_reminders_sync(appointments)
    ids = {item.pk for item in appointments}
    first = appointments[0]
    patient = first.patient
    open_notices = list(
        Reminder.objects.select_for_update().filter(
            patient=patient, kind__in=Reminder.BOOKING_NOTICE_KINDS, status__in=OPEN_STATUSES
        )
    )
    if kind == Kind.APPOINTMENT_CANCELLED:
        booked = set(
            Appointment.objects.filter(
                pk__in={pk for row in open_notices for pk in row.appointment_ids}, status=Appointment.Status.BOOKED
            ).values_list("pk", flat=True)
        )
        _cancel_notices(
            [row for row in open_notices if row.kind != kind and not booked.intersection(row.appointment_ids)],
            reason="The appointment was cancelled.",
        )
    if kind == Kind.APPOINTMENT_MOVED:
        _cancel_notices(
            [row for row in open_notices if row.kind == kind and row.appointment_id in ids],
            reason="The appointment was moved again; only the latest move's notice is sent.",
        )

    ahead = [item for item in appointments if item.starts_at > now]
    channels = patient_channels(patient)
    if not ahead or not channels:
        return None
    first = ahead[0]
    if kind == Kind.BOOKING_CONFIRMED:
        key = Reminder.booking_confirmed_key(first)
    elif kind == Kind.APPOINTMENT_MOVED:
        key = Reminder.moved_key(first, calendar_sequence(first))
    elif kind == Kind.APPOINTMENT_CANCELLED:
        key = Reminder.cancelled_key(first)
    else:
        raise ValueError(f"{kind} is not a booking notice.")
    base = Wanted(
        key=key,
        kind=kind,
        due_at=now,
        clinic_id=first.clinic_id,
        patient_id=patient.pk,
        appointment_id=first.pk,
        course_id=first.course_id,
        appointment_ids=tuple(item.pk for item in ahead),
    )
    wanted = _per_channel([base], channels)
    keys = [item.key for item in wanted]
    rows_put(wanted, {row.key: row for row in Reminder.objects.select_for_update().filter(key__in=keys)}, now=now)
    # The first channel's row (the email's, when there is one) stands for the notice.
    return Reminder.objects.get(key=keys[0])


# --- The messages of an earlier-time offer ---------------------------------------------------


@transaction.atomic
def offer_message(*, kind: str, offer) -> Reminder | None:
    """Write the offer of an earlier time (`SLOT_OFFER`), or the news that it was taken (`SLOT_OFFER_TAKEN`),
    due at once on each of the patient's channels. No row when the patient takes no messages."""
    channels = patient_channels(offer.patient)
    if not channels:
        return None
    if kind == Kind.SLOT_OFFER:
        key = Reminder.offer_key(offer.pk)
    elif kind == Kind.SLOT_OFFER_TAKEN:
        key = Reminder.offer_taken_key(offer.pk)
    else:
        raise ValueError(f"{kind} is not an offer message.")
    now = timezone.now()
    base = Wanted(
        key=key,
        kind=kind,
        due_at=now,
        clinic_id=offer.patient.clinic_id,
        patient_id=offer.patient_id,
        course_id=offer.course_id,
    )
    wanted = _per_channel([base], channels)
    keys = [item.key for item in wanted]
    rows_put(wanted, {row.key: row for row in Reminder.objects.select_for_update().filter(key__in=keys)}, now=now)
    return Reminder.objects.get(key=keys[0])


def offer_messages_cancel(*, offer_ids: Iterable[int], reason: str) -> int:
    """Cancel the offers not sent yet: they ended (answered, taken, expired) before their message went."""
    keys = [Reminder.channel_key(Reminder.offer_key(pk), channel) for pk in offer_ids for channel in Channel.values]
    return _cancel(Reminder.objects.filter(kind=Kind.SLOT_OFFER, key__in=keys), reason=reason)


def _cancel_notices(rows: list[Reminder], *, reason: str) -> None:
    if rows:
        _cancel(Reminder.objects.filter(pk__in=[row.pk for row in rows]), reason=reason)


def _block_reminders_sync(appointments: Sequence[Appointment]) -> None:
    """Sync the visits' reminders again, and those of the booked visit of the dose after each."""
    ids = {item.pk for item in appointments}
    following = Appointment.objects.filter(
        course_id__in={item.course_id for item in appointments},
        dose_number__in={item.dose_number + 1 for item in appointments},
        status=Appointment.Status.BOOKED,
    ).exclude(pk__in=ids)
    for appointment in [*appointments, *following.select_related("clinic", "patient")]:
        appointment_reminders_sync(appointment=appointment)


# The reminders the hourly planner creates for a course's doses, not for one visit.
PLANNED_KINDS = (Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE, Kind.MONITORING_LABS)


def planned_reminders_follow_clock(*, clinic: Clinic, previous_time_zone: str | None = None) -> int:
    """Move the clinic's pending dose and lab reminders to its reminder hour as now saved.

    Each keeps its local day (read in the clinic's previous time zone) and takes the new hour
    in the new zone; one whose new moment has already passed today is sent at once. Rows
    already due, waiting for a retry or being sent are left as they are. Returns the rows moved.
    """
    now = timezone.now()
    before = ZoneInfo(previous_time_zone) if previous_time_zone else clinic.tz
    moved = []
    rows = Reminder.objects.select_for_update().filter(
        clinic=clinic, kind__in=PLANNED_KINDS, status=Status.PENDING, attempts=0, due_at__gte=now
    )
    for row in rows:
        due_at = max(local_moment(clinic, row.due_at.astimezone(before).date()), now)
        if due_at != row.due_at:
            row.due_at, row.updated_at = due_at, now
            moved.append(row)
    Reminder.objects.bulk_update(moved, ["due_at", "updated_at"])
    return len(moved)


def _why_cancelled(appointment: Appointment) -> str:
    if appointment.status == Appointment.Status.CANCELLED:
        return "The appointment was cancelled."
    if appointment.status == Appointment.Status.BOOKED:
        return "The appointment was moved."
    return f"The appointment is {appointment.get_status_display().lower()}."


@transaction.atomic
def patient_reminders_stop(*, patient: Patient, reason: str, channel: str | None = None) -> int:
    """Cancel every open reminder of a patient (consent withdrawn, unsubscribed), or those of one channel."""
    rows = Reminder.objects.filter(patient=patient)
    if channel is not None:
        rows = rows.filter(channel=channel)
    return _cancel(rows, reason=reason)


@transaction.atomic
def patient_unsubscribe(*, patient: Patient) -> bool:
    """Turn email reminders off for the patient, from the link in an email.

    Returns False when they were already off (the link clicked twice).
    """
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.unsubscribed_at is not None:
        return False
    patient.unsubscribed_at = timezone.now()
    patient.save(update_fields=["unsubscribed_at"])
    # Emails only: texts have their own consent, which the patient changes with the clinic.
    patient_reminders_stop(
        patient=patient, reason="The patient unsubscribed from reminder emails.", channel=Channel.EMAIL
    )
    logger.info("reminders unsubscribed patient=%s", patient.pk)
    return True


@transaction.atomic
def patient_sms_stop(*, patient: Patient) -> bool:
    """Turn text messages off for the patient, from the link in a text or on an answer page.

    Clears the text consent (the patient's history shows the change) and cancels the texts
    not yet sent; emails are not touched. Returns False when texts were already off.
    """
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if not patient.sms_consent:
        return False
    patient.sms_consent = False
    patient.save(update_fields=["sms_consent"])
    patient_reminders_stop(
        patient=patient, reason="The patient turned text messages off from a link.", channel=Channel.SMS
    )
    logger.info("reminders sms stopped patient=%s", patient.pk)
    return True


def _retry_refusal(reminder: Reminder, *, now: datetime) -> str:
    """'' when a failed reminder may be sent again, else the sentence saying why not."""
    if reminder.status != Status.FAILED:
        return f"This reminder is {reminder.get_status_display().lower()}, not failed, so there is nothing to retry."
    appointment = reminder.appointment
    if reminder.kind == Kind.APPOINTMENT_UPCOMING and (
        appointment.status != Appointment.Status.BOOKED or appointment.starts_at <= now
    ):
        return (
            "This appointment has started, moved or been cancelled, so its reminder can no longer be sent. "
            "Call the patient instead."
        )
    if reminder.kind in Reminder.BOOKING_NOTICE_KINDS and appointment.starts_at <= now:
        return "This visit has started, so its notice can no longer be sent. Call the patient instead."
    if reminder.kind in Reminder.OFFER_KINDS and now >= reminder.useful_until:
        return "This offer has ended, so its message can no longer be sent."
    if reminder.channel == Channel.SMS and not (settings.SMS_ENABLED and reminder.patient.wants_sms_reminders):
        return "The patient has no phone number or does not want text messages. Check their details first."
    if reminder.channel == Channel.EMAIL and not reminder.patient.wants_email_reminders:
        return "The patient has no email address or does not want email reminders. Check their details first."
    return ""


def _make_pending_again(reminder: Reminder, *, by) -> None:
    reminder.status = Status.PENDING
    reminder.attempts = 0
    reminder.lost_attempts = 0
    reminder.claimed_at = None
    reminder.send_started_at = None
    reminder.last_error = f"Retried by {by.get_username()} after: {reminder.last_error}"[:2000]
    reminder.save(
        update_fields=[
            "status",
            "attempts",
            "lost_attempts",
            "claimed_at",
            "send_started_at",
            "last_error",
            "updated_at",
        ]
    )


@transaction.atomic
def reminder_retry(*, reminder: Reminder, by) -> Reminder:
    """Send a failed reminder again at the next minute scan, with fresh attempts."""
    # The bare row is locked, then what it needs is read: a lock through a join can come back
    # empty when another transaction changes the joined row.
    reminder = Reminder.objects.select_for_update().get(pk=reminder.pk)
    refusal = _retry_refusal(reminder, now=timezone.now())
    if refusal:
        raise ReminderError(refusal)
    _make_pending_again(reminder, by=by)
    logger.info("reminder retried reminder=%s by=%s", reminder.pk, by.pk)
    return reminder


@dataclass(frozen=True)
class RetriedFailed:
    """What a "retry all failed" did: rows made pending again, and rows that can no longer go."""

    retried: int
    refused: int


def failed_in_period(*, clinic: Clinic, first_day: date, last_day: date):
    """The clinic's failed reminders due between two of its local dates, both included."""
    return Reminder.objects.filter(
        clinic=clinic,
        status=Status.FAILED,
        due_at__gte=local_day_start(clinic, first_day),
        due_at__lt=local_day_start(clinic, last_day + timedelta(days=1)),
    )


@transaction.atomic
def reminders_retry_failed(*, clinic: Clinic, first_day: date, last_day: date, by) -> RetriedFailed:
    """Send again, at the next minute scan, every failed reminder of a clinic due in a period.

    For the morning after an outage. A reminder that can no longer be sent (its visit has
    started or moved, the patient turned reminders off) stays failed and is counted apart, so
    staff know how many patients to call instead.
    """
    now = timezone.now()
    ids = list(
        failed_in_period(clinic=clinic, first_day=first_day, last_day=last_day)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    retried = refused = 0
    for reminder in Reminder.objects.filter(pk__in=ids).select_related("appointment", "patient").order_by("pk"):
        if _retry_refusal(reminder, now=now):
            refused += 1
            continue
        _make_pending_again(reminder, by=by)
        retried += 1
    logger.info("reminders retried clinic=%s retried=%s refused=%s by=%s", clinic.pk, retried, refused, by.pk)
    return RetriedFailed(retried=retried, refused=refused)
