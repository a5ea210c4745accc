"""The reminder outbox: rows written in the same transaction as the booking change.

A reminder row is the record of one message owed to a patient. Redis only carries the
ids of rows to send; every decision (is it due, is it still wanted, was it sent) is made
against the row, under a row lock, so a lost or repeated Celery message can never lose
a reminder or send it twice.

The life of a row::

    pending --(minute scan claims it)--> sending --(worker sends it)--> sent
       ^                                   |  \\--(SMTP error, attempts left)--> pending (after a backoff)
       |                                   |   \\-(SMTP error, last attempt)---> failed (staff see it, may retry)
       +--(staff retry a failed row)       +--(worker died: redelivered, or re-claimed by the scan)
    pending/sending --(appointment cancelled or moved, patient unsubscribed, dose booked)--> cancelled

Keys make each message unique: the same reminder is never created twice, and a
rescheduled appointment gets new keys (its start time is part of them) while the rows
of its old time are cancelled.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clinic import dosing
from clinic.models import Clinic, Regimen
from patients.models import Patient, TreatmentCourse
from scheduling.models import Appointment, Reminder

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
Status = Reminder.Status

# Attempts per row before it is failed and shown to staff. A worker that dies mid-send
# uses up an attempt too, so a message that crashes the worker cannot loop for ever.
MAX_ATTEMPTS = 5
# Wait before attempt n+1 after a failed attempt n: 1, 2, 4, 8 minutes.
RETRY_BACKOFF = timedelta(minutes=1)
# A row still 'sending' this long after its claim lost its worker (the task time limit is
# 90 s): the scan claims it again. Long enough that a busy queue is not mistaken for a death.
SENDING_TIMEOUT = timedelta(minutes=15)
# Overdue doses: one reminder a week, at most this many per dose.
OVERDUE_REMINDERS = 3
OVERDUE_EVERY = timedelta(days=7)
# Lab monitoring: remind this many days before the test is due.
LAB_REMINDER_DAYS_BEFORE = 3
# Courses read per query by the planner, so its memory stays bounded.
PLAN_CHUNK = 2000

APPOINTMENT_KINDS = (Kind.APPOINTMENT_UPCOMING, Kind.MISSED_APPOINTMENT)
PLANNED_KINDS = (Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE, Kind.MONITORING_LABS)
OPEN_STATUSES = (Status.PENDING, Status.SENDING)
# Appointment statuses that still hold the chair but have not been given yet.
UPCOMING_STATUSES = (
    Appointment.Status.BOOKED,
    Appointment.Status.ARRIVED,
    Appointment.Status.IN_CHAIR,
    Appointment.Status.INFUSING,
    Appointment.Status.OBSERVATION,
)


class ReminderError(Exception):
    """A reminder action that cannot be done; the message says what to do instead."""


# --- Keys and local times --------------------------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def upcoming_key(appointment: Appointment, days_before: int) -> str:
    """The appointment's id and its start time: a moved appointment gets new rows."""
    return f"upcoming:{appointment.pk}:{_stamp(appointment.starts_at)}:{days_before}d"


def missed_key(appointment: Appointment) -> str:
    return f"missed:{appointment.pk}"


def due_soon_key(course_id: int, dose_number: int) -> str:
    return f"due-soon:{course_id}:{dose_number}"


def overdue_key(course_id: int, dose_number: int, number: int) -> str:
    return f"overdue:{course_id}:{dose_number}:{number}"


def labs_key(course_id: int, due: date) -> str:
    return f"labs:{course_id}:{due.isoformat()}"


def key_dose_number(reminder: Reminder) -> int | None:
    """The dose a due-soon or overdue reminder is about (part of its key)."""
    if reminder.kind in (Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE):
        return int(reminder.key.split(":")[2])
    return None


def key_lab_date(reminder: Reminder) -> date | None:
    if reminder.kind == Kind.MONITORING_LABS:
        return date.fromisoformat(reminder.key.split(":")[2])
    return None


def _reminder_time(clinic: Clinic) -> time:
    value = clinic.reminder_local_time
    # A clinic created in this process and not reloaded still holds the field's string default.
    return time.fromisoformat(value) if isinstance(value, str) else value


def local_moment(clinic: Clinic, day: date) -> datetime:
    """`day` at the clinic's reminder hour, in UTC.

    Built from the local date and wall-clock time, so 09:00 stays 09:00 on both sides of a
    daylight-saving change (the UTC hour moves instead).
    """
    return datetime.combine(day, _reminder_time(clinic), tzinfo=clinic.tz).astimezone(UTC)


def next_local_moment(clinic: Clinic, now: datetime, *, not_before: date | None = None) -> datetime:
    """The first reminder hour at or after `now` (and on or after `not_before`)."""
    day = max(now.astimezone(clinic.tz).date(), not_before or date.min)
    moment = local_moment(clinic, day)
    if moment < now:
        moment = local_moment(clinic, day + timedelta(days=1))
    return moment


def _wants_email(patient: Patient) -> bool:
    return patient.wants_email_reminders


# --- Writing rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    key: str
    kind: str
    due_at: datetime
    clinic_id: int
    patient_id: int
    appointment_id: int | None = None
    course_id: int | None = None

    def row(self) -> Reminder:
        return Reminder(
            key=self.key,
            kind=self.kind,
            due_at=self.due_at,
            clinic_id=self.clinic_id,
            patient_id=self.patient_id,
            appointment_id=self.appointment_id,
            course_id=self.course_id,
            channel=Reminder.Channel.EMAIL,
        )


def _put(wanted: Iterable[_Wanted], existing: dict[str, Reminder], *, now: datetime) -> int:
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
            row.claimed_at = None
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
            revived, ["status", "due_at", "attempts", "claimed_at", "last_error", "updated_at"]
        )
    return len(new) + len(revived)


def _cancel(queryset, *, reason: str) -> int:
    """Cancel the open rows of `queryset`. A row being sent right now waits for its lock."""
    return queryset.filter(status__in=OPEN_STATUSES).update(
        status=Status.CANCELLED, last_error=reason, updated_at=timezone.now()
    )


@transaction.atomic
def appointment_reminders_sync(*, appointment) -> None:
    """Bring the appointment's reminder rows in line with its current status and time.

    Called by every booking service inside its transaction: creates the upcoming-visit
    reminders of a booked appointment, cancels those of a cancelled or moved one, and
    creates the missed-appointment reminder of a no-show. Idempotent.
    """
    now = timezone.now()
    clinic = appointment.clinic
    patient = appointment.patient
    rows = Reminder.objects.filter(appointment=appointment)
    existing = {row.key: row for row in rows.select_for_update()}
    wanted: list[_Wanted] = []
    status = appointment.status

    if status == Appointment.Status.BOOKED and _wants_email(patient):
        start_day = appointment.starts_at.astimezone(clinic.tz).date()
        for days_before in clinic.reminder_offsets:
            due_at = local_moment(clinic, start_day - timedelta(days=days_before))
            # A reminder whose hour has passed (a late booking) or that would arrive after
            # the visit began is not created: the patient booked it moments ago.
            if now <= due_at < appointment.starts_at:
                wanted.append(
                    _Wanted(
                        key=upcoming_key(appointment, days_before),
                        kind=Kind.APPOINTMENT_UPCOMING,
                        due_at=due_at,
                        clinic_id=clinic.pk,
                        patient_id=patient.pk,
                        appointment_id=appointment.pk,
                        course_id=appointment.course_id,
                    )
                )
    if status == Appointment.Status.NO_SHOW and _wants_email(patient):
        wanted.append(
            _Wanted(
                key=missed_key(appointment),
                kind=Kind.MISSED_APPOINTMENT,
                due_at=now,
                clinic_id=clinic.pk,
                patient_id=patient.pk,
                appointment_id=appointment.pk,
                course_id=appointment.course_id,
            )
        )

    wanted_keys = {item.key for item in wanted}
    stale = [key for key, row in existing.items() if key not in wanted_keys and row.status in OPEN_STATUSES]
    if stale:
        _cancel(rows.filter(key__in=stale), reason=_why_cancelled(appointment, patient))
    _put(wanted, existing, now=now)

    if status in UPCOMING_STATUSES:
        # The course's next dose is booked now: "please book" and "please rebook" are moot.
        _cancel(
            Reminder.objects.filter(course_id=appointment.course_id).filter(
                Q(kind__in=(Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE))
                | Q(kind=Kind.MISSED_APPOINTMENT, appointment__starts_at__lt=appointment.starts_at)
            ),
            reason="The dose was booked.",
        )


def _why_cancelled(appointment: Appointment, patient: Patient) -> str:
    if not _wants_email(patient):
        return "The patient does not want email reminders."
    if appointment.status == Appointment.Status.CANCELLED:
        return "The appointment was cancelled."
    if appointment.status == Appointment.Status.BOOKED:
        return "The appointment was moved."
    return f"The appointment is {appointment.get_status_display().lower()}."


@transaction.atomic
def patient_reminders_stop(*, patient: Patient, reason: str) -> int:
    """Cancel every open reminder of a patient (consent withdrawn, unsubscribed)."""
    return _cancel(Reminder.objects.filter(patient=patient), reason=reason)


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
    patient_reminders_stop(patient=patient, reason="The patient unsubscribed from reminder emails.")
    logger.info("reminders unsubscribed patient=%s", patient.pk)
    return True


@transaction.atomic
def reminder_retry(*, reminder: Reminder, by) -> Reminder:
    """Send a failed reminder again at the next minute scan, with fresh attempts."""
    reminder = (
        Reminder.objects.select_for_update(of=("self",)).select_related("appointment", "patient").get(pk=reminder.pk)
    )
    if reminder.status != Status.FAILED:
        raise ReminderError(
            f"This reminder is {reminder.get_status_display().lower()}, not failed, so there is nothing to retry."
        )
    appointment = reminder.appointment
    if reminder.kind == Kind.APPOINTMENT_UPCOMING and (
        appointment.status != Appointment.Status.BOOKED or appointment.starts_at <= timezone.now()
    ):
        raise ReminderError(
            "This appointment has started, moved or been cancelled, so its reminder can no longer be sent. "
            "Call the patient instead."
        )
    if not reminder.patient.wants_email_reminders:
        raise ReminderError(
            "The patient has no email address or does not want email reminders. Check their details first."
        )
    reminder.status = Status.PENDING
    reminder.attempts = 0
    reminder.claimed_at = None
    reminder.last_error = f"Retried by {by.get_username()} after: {reminder.last_error}"[:2000]
    reminder.save(update_fields=["status", "attempts", "claimed_at", "last_error", "updated_at"])
    logger.info("reminder retried reminder=%s by=%s", reminder.pk, by.pk)
    return reminder


# --- The daily planner -----------------------------------------------------------------------


@dataclass(frozen=True)
class _CourseToPlan:
    """What the planner reads of a course: plain values, not model instances (100,000 of them)."""

    pk: int
    patient_id: int
    regimen_id: int
    clinic_id: int
    start_date: date
    options: dict
    visits: tuple[tuple[str, datetime, bool], ...]  # (status, starts_at, serious_reaction), open or given


def _courses_in_chunks(chunk: int) -> Iterator[list[_CourseToPlan]]:
    """Active courses of patients who want email reminders, `chunk` at a time (keyset paging)."""
    base = (
        TreatmentCourse.objects.filter(
            status=TreatmentCourse.Status.ACTIVE,
            patient__clinic__active=True,
            patient__reminder_consent=True,
            patient__reminder_channel=Patient.Channel.EMAIL,
            patient__unsubscribed_at__isnull=True,
        )
        .exclude(patient__email="")
        .order_by("pk")
        .values_list("pk", "patient_id", "regimen_id", "patient__clinic_id", "start_date", "options")
    )
    last = 0
    while True:
        rows = list(base.filter(pk__gt=last)[:chunk])
        if not rows:
            return
        visits: dict[int, list] = {}
        for course_id, status, starts_at, serious in Appointment.objects.filter(
            course_id__in=[row[0] for row in rows], status__in=(*UPCOMING_STATUSES, Appointment.Status.COMPLETED)
        ).values_list("course_id", "status", "starts_at", "serious_reaction"):
            visits.setdefault(course_id, []).append((status, starts_at, serious))
        yield [_CourseToPlan(*row, visits=tuple(visits.get(row[0], ()))) for row in rows]
        last = rows[-1][0]


def _plan_course(course: _CourseToPlan, *, clinic: Clinic, spec, now: datetime, existing: dict[str, Reminder]):
    """The planned reminders this course needs now."""
    today = now.astimezone(clinic.tz).date()
    given, booked = [], False
    for status, starts_at, serious in course.visits:
        if status == Appointment.Status.COMPLETED:
            given.append(dosing.GivenDose(date=starts_at.astimezone(clinic.tz).date(), serious_reaction=serious))
        else:
            booked = True
    common = {"clinic_id": clinic.pk, "patient_id": course.patient_id, "course_id": course.pk}
    wanted: list[_Wanted] = []

    planned = dosing.next_dose(
        spec,
        start_date=course.start_date,
        given=given,
        options=course.options,
        today=today,
        due_soon_days=clinic.due_soon_days,
    )
    if planned is not None and not booked:
        if planned.status in (dosing.DoseStatus.DUE_SOON, dosing.DoseStatus.DUE):
            wanted.append(
                _Wanted(
                    key=due_soon_key(course.pk, planned.dose_number),
                    kind=Kind.DOSE_DUE_SOON,
                    due_at=next_local_moment(clinic, now),
                    **common,
                )
            )
        elif planned.status == dosing.DoseStatus.OVERDUE:
            overdue = _next_overdue(course.pk, planned.dose_number, clinic=clinic, now=now, existing=existing)
            if overdue is not None:
                wanted.append(_Wanted(kind=Kind.DOSE_OVERDUE, **overdue, **common))

    if spec.monitoring:
        for item in dosing.monitoring_due(spec, given=given, today=today):
            if item.kind != "labs":
                continue  # programme paperwork is the clinic's job, not the patient's
            wanted.append(
                _Wanted(
                    key=labs_key(course.pk, item.due_date),
                    kind=Kind.MONITORING_LABS,
                    due_at=next_local_moment(
                        clinic, now, not_before=item.due_date - timedelta(days=LAB_REMINDER_DAYS_BEFORE)
                    ),
                    **common,
                )
            )
    # Several tests due on the same day make one email.
    return list({item.key: item for item in wanted}.values())


def _next_overdue(course_id: int, dose_number: int, *, clinic: Clinic, now: datetime, existing) -> dict | None:
    """The next weekly overdue reminder for this dose, or None (one is open, or three went)."""
    rows = [existing.get(overdue_key(course_id, dose_number, n)) for n in range(1, OVERDUE_REMINDERS + 1)]
    if any(row is not None and row.status in OPEN_STATUSES for row in rows):
        return None
    done = [row for row in rows if row is not None and row.status in (Status.SENT, Status.FAILED)]
    if len(done) >= OVERDUE_REMINDERS:
        return None
    not_before = None
    if done:
        last = max(row.sent_at or row.due_at for row in done)
        not_before = (last + OVERDUE_EVERY).astimezone(clinic.tz).date()
    return {
        "key": overdue_key(course_id, dose_number, len(done) + 1),
        "due_at": next_local_moment(clinic, now, not_before=not_before),
    }


def reminders_plan(*, now: datetime, chunk: int = PLAN_CHUNK) -> int:
    """The planner: create the due-soon, overdue and lab reminders the dosing rules call for.

    Runs every hour (each clinic's reminders fall due at its own local hour); idempotent,
    since every message has a key. Reads courses `chunk` at a time, one transaction per
    chunk, so memory stays bounded however many patients the clinics have. Returns the
    number of rows created or made pending again.
    """
    clinics = {clinic.pk: clinic for clinic in Clinic.objects.filter(active=True)}
    specs: dict[int, dosing.RegimenSpec] = {}
    for regimen in Regimen.objects.prefetch_related("phases", "monitoring"):
        specs[regimen.pk] = regimen.spec()
    made = 0
    for courses in _courses_in_chunks(chunk):
        with transaction.atomic():
            existing = {
                row.key: row
                for row in Reminder.objects.filter(
                    course__in=[course.pk for course in courses], kind__in=PLANNED_KINDS
                ).only("id", "key", "status", "due_at", "sent_at", "kind")
            }
            # A patient just asked to rebook a missed visit is not also told to book that dose.
            just_missed = set(
                Reminder.objects.filter(
                    course__in=[course.pk for course in courses],
                    kind=Kind.MISSED_APPOINTMENT,
                    due_at__gte=now - OVERDUE_EVERY,
                )
                .exclude(status=Status.CANCELLED)
                .values_list("course_id", flat=True)
            )
            wanted: list[_Wanted] = []
            for course in courses:
                clinic = clinics.get(course.clinic_id)
                spec = specs.get(course.regimen_id)
                if clinic is None or spec is None:
                    continue
                planned = _plan_course(course, clinic=clinic, spec=spec, now=now, existing=existing)
                if course.pk in just_missed:
                    planned = [item for item in planned if item.kind == Kind.MONITORING_LABS]
                wanted.extend(planned)
            made += _put(wanted, existing, now=now)
    logger.info("reminders planned made=%s", made)
    return made


# --- The minute scan -------------------------------------------------------------------------


def _backoff_elapsed(now: datetime) -> Q:
    """Pending rows whose wait after their last failed attempt is over."""
    condition = Q(attempts=0) | Q(claimed_at__isnull=True)
    for attempts in range(1, MAX_ATTEMPTS):
        condition |= Q(attempts=attempts, claimed_at__lte=now - RETRY_BACKOFF * 2 ** (attempts - 1))
    return condition


def _enqueue(ids: list[int]) -> None:
    from scheduling import tasks

    for reminder_id in ids:
        tasks.reminder_send.delay(reminder_id=reminder_id)


@transaction.atomic
def reminders_dispatch_due(*, now: datetime, limit: int = 500) -> int:
    """The minute scan: claim up to `limit` due rows and enqueue one send task for each.

    Claims pending rows whose time has come (and whose retry backoff is over), and rows
    stuck in 'sending' past SENDING_TIMEOUT (their worker died and the broker will not give
    the message back soon). `skip_locked` lets two scans run side by side without claiming
    a row twice. The tasks are enqueued only once the claim is committed. Returns the number
    of rows claimed; call again while it equals `limit`.
    """
    due = Reminder.objects.filter(status=Status.PENDING, due_at__lte=now).filter(_backoff_elapsed(now))
    stuck = Reminder.objects.filter(status=Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT)
    ids = list(due.select_for_update(skip_locked=True).order_by("due_at").values_list("pk", flat=True)[:limit])
    if len(ids) < limit:
        ids += list(
            stuck.select_for_update(skip_locked=True)
            .order_by("claimed_at")
            .values_list("pk", flat=True)[: limit - len(ids)]
        )
    if not ids:
        return 0
    Reminder.objects.filter(pk__in=ids).update(status=Status.SENDING, claimed_at=now, updated_at=timezone.now())
    transaction.on_commit(partial(_enqueue, ids), robust=True)
    logger.info("reminders claimed count=%s", len(ids))
    return len(ids)


# --- Sending ---------------------------------------------------------------------------------


def _still_wanted(reminder: Reminder, *, now: datetime) -> str:
    """'' when the message should go out now, else the reason it should not."""
    patient = reminder.patient
    if not patient.wants_email_reminders:
        return "The patient does not want email reminders."
    if reminder.kind == Kind.APPOINTMENT_UPCOMING:
        appointment = reminder.appointment
        if appointment.status != Appointment.Status.BOOKED:
            return f"The appointment is {appointment.get_status_display().lower()}."
        if not reminder.key.startswith(f"upcoming:{appointment.pk}:{_stamp(appointment.starts_at)}:"):
            return "The appointment was moved."
        if appointment.starts_at <= now:
            return "The appointment had already started when the reminder could be sent."
        return ""
    if reminder.kind == Kind.MISSED_APPOINTMENT:
        appointment = reminder.appointment
        if appointment.status != Appointment.Status.NO_SHOW:
            return "The appointment is no longer marked as missed."
        if Appointment.objects.filter(course_id=appointment.course_id, status__in=UPCOMING_STATUSES).exists():
            return "The patient has booked again."
        return ""
    course = reminder.course
    if course is None or course.status != TreatmentCourse.Status.ACTIVE:
        return "The treatment course is no longer active."
    if reminder.kind == Kind.MONITORING_LABS:
        return ""
    # Due soon and overdue: only while that same dose is still unbooked.
    if Appointment.objects.filter(course=course, status__in=UPCOMING_STATUSES).exists():
        return "The dose was booked."
    planned = course_next_dose(course, clinic=reminder.clinic, now=now)
    if planned is None or planned.dose_number != key_dose_number(reminder):
        return "The dose this reminder was about has been given."
    return ""


def course_next_dose(course: TreatmentCourse, *, clinic: Clinic, now: datetime) -> dosing.PlannedDose | None:
    """The course's next dose as the dosing rules see it today (one course; the planner batches)."""
    given = [
        dosing.GivenDose(date=moment.astimezone(clinic.tz).date(), serious_reaction=serious)
        for moment, serious in Appointment.objects.filter(
            course=course, status=Appointment.Status.COMPLETED
        ).values_list("starts_at", "serious_reaction")
    ]
    return dosing.next_dose(
        course.regimen.spec(),
        start_date=course.start_date,
        given=given,
        options=course.options,
        today=now.astimezone(clinic.tz).date(),
        due_soon_days=clinic.due_soon_days,
    )


SEND_ERRORS = (smtplib.SMTPException, OSError)


def _claim_for_send(reminder_id: int) -> datetime | None:
    """Count an attempt and take a fresh claim, in its own committed transaction.

    The attempt is counted before the email goes out, so a message that kills its
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


def reminder_send(*, reminder_id: int) -> str:
    """Send one claimed reminder and record the outcome on its row.

    Only a row in 'sending' whose claim is ours is sent, and it is sent while its row lock
    is held, so a second delivery of the same task, a re-claim by the scan and a
    cancellation all wait for this one to finish and then find the row sent. Returns the
    outcome: sent, cancelled, retry, failed or skipped.
    """
    from scheduling.reminders.content import reminder_message

    claim = _claim_for_send(reminder_id)
    if claim is None:
        return "skipped"
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("clinic", "patient", "appointment", "course__regimen")
            .filter(pk=reminder_id, status=Status.SENDING, claimed_at=claim)
            .first()
        )
        if reminder is None:
            return "skipped"  # taken over by a newer claim, or cancelled meanwhile
        now = timezone.now()
        reason = _still_wanted(reminder, now=now)
        if reason:
            reminder.status = Status.CANCELLED
            reminder.last_error = reason
            reminder.save(update_fields=["status", "last_error", "updated_at"])
            logger.info("reminder cancelled at send reminder=%s", reminder.pk)
            return "cancelled"
        try:
            reminder_message(reminder).send()
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


# --- Selectors -------------------------------------------------------------------------------


def patient_reminders(patient: Patient):
    """A patient's reminders for their page, newest first: sent, pending, failed, cancelled."""
    return Reminder.objects.filter(patient=patient).select_related("appointment", "clinic").order_by("-due_at", "-pk")


def reminders_for_user(user):
    """Reminders in the clinics this user works at."""
    from clinic.access import clinics_for_user

    return Reminder.objects.filter(clinic__in=clinics_for_user(user))


def reminders_failed_for_user(user):
    """Failed reminders in the clinics this user works at, oldest first."""
    return (
        reminders_for_user(user)
        .filter(status=Status.FAILED)
        .select_related("patient", "clinic", "appointment")
        .order_by("due_at", "pk")
    )
