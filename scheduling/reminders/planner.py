"""The planner: the due-soon, overdue and lab reminders the dosing rules call for.

It reads each active course's stored next dose (`DoseState`, kept in step with every
booking and visit by `scheduling.doses`) instead of running the dosing rules over every
course's appointments. A dose's status changes with the calendar, not with any write, so
it is worked out here from the stored dates and each clinic's today.

A course with a data problem (`scheduling.data_problems`: dates or a regimen the rules
cannot plan from) is not read at all; a course whose planning raises is skipped and noted
on its row. Both are listed for the clinic's managers, and each run logs them in one line
of course ids: never a name, an MRN or a drug.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q

from clinic import dosing
from clinic.models import Clinic, MonitoringRule
from patients.models import Patient, TreatmentCourse
from scheduling.data_problems import (
    Problem,
    planning_failed_clear,
    planning_failed_record,
    stored_problem_courses,
)
from scheduling.doses import RegimenSpecs, clinic_today
from scheduling.models import DoseState, Reminder
from scheduling.reminders.outbox import OPEN_STATUSES, PLANNED_KINDS, Wanted, rows_put
from scheduling.reminders.times import next_local_moment

logger = logging.getLogger(__name__)

Kind = Reminder.Kind
Status = Reminder.Status

# Overdue doses: one reminder a week, at most this many per dose.
OVERDUE_REMINDERS = 3
OVERDUE_EVERY = timedelta(days=7)
# Lab monitoring: remind this many days before the test is due.
LAB_REMINDER_DAYS_BEFORE = 3
# Courses read per query, so the planner's memory stays bounded.
PLAN_CHUNK = 2000
# The run's line of skipped courses names at most this many ids, so a bad import cannot flood the log.
LOGGED_IDS = 50


@dataclass(frozen=True)
class _CourseToPlan:
    """What the planner reads of a course's stored state: plain values, not model instances."""

    course_id: int
    patient_id: int
    clinic_id: int
    regimen_id: int
    dose_number: int | None
    target_date: date | None
    latest_date: date | None
    due_soon_from: date | None
    when_needed: bool
    booked_count: int
    first_given_on: date | None
    last_given_on: date | None
    planning_failed_at: datetime | None
    wants_email: bool
    wants_sms: bool

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels the patient wants these reminders on, as `outbox.patient_channels` reads them."""
        channels = []
        if self.wants_email:
            channels.append(Reminder.Channel.EMAIL)
        if self.wants_sms and settings.SMS_ENABLED:
            channels.append(Reminder.Channel.SMS)
        return tuple(channels)


_STATE_FIELDS = tuple(field.name for field in fields(_CourseToPlan))
# What `Patient.wants_email_reminders` and `wants_sms_reminders` say, read in the same query as the state.
_WANTS_EMAIL = (
    Q(patient__reminder_consent=True, patient__reminder_channel=Patient.Channel.EMAIL)
    & Q(patient__unsubscribed_at__isnull=True)
    & ~Q(patient__email="")
)
_WANTS_SMS = Q(patient__sms_consent=True) & ~Q(patient__phone="")


def _courses_in_chunks(chunk: int, *, today_at_most: date, lab_regimens) -> Iterator[list[_CourseToPlan]]:
    """Active courses of patients who want reminders by email or text, `chunk` at a time (keyset paging).

    Only the courses that can need a planned reminder: an unbooked dose whose due-soon day
    has come in some clinic (`today_at_most` is the latest clinic's today), or a dose given
    on a regimen with lab tests.
    """
    may_need = Q(dose_number__isnull=False, booked_count=0, when_needed=False, due_soon_from__lte=today_at_most) | Q(
        first_given_on__isnull=False, regimen_id__in=lab_regimens
    )
    wanted_channels = _WANTS_EMAIL | _WANTS_SMS if settings.SMS_ENABLED else _WANTS_EMAIL
    base = (
        DoseState.objects.filter(
            may_need,
            wanted_channels,
            problem=Problem.NONE,
            course__status=TreatmentCourse.Status.ACTIVE,
            clinic__active=True,
        )
        .annotate(
            wants_email=ExpressionWrapper(_WANTS_EMAIL, output_field=BooleanField()),
            wants_sms=ExpressionWrapper(_WANTS_SMS, output_field=BooleanField()),
        )
        .order_by("course_id")
        .values_list(*_STATE_FIELDS)
    )
    last = 0
    while True:
        rows = list(base.filter(course_id__gt=last)[:chunk])
        if not rows:
            return
        yield [_CourseToPlan(*row) for row in rows]
        last = rows[-1][0]


def _dose_status(course: _CourseToPlan, today: date) -> dosing.DoseStatus:
    return dosing.dose_status(
        target=course.target_date,
        latest=course.latest_date,
        today=today,
        due_soon_days=(course.target_date - course.due_soon_from).days,
    )


def _plan_course(
    course: _CourseToPlan,
    *,
    clinic: Clinic,
    lab_specs: dict[int, dosing.RegimenSpec],
    now: datetime,
    existing: dict[str, Reminder],
    channel: str = Reminder.Channel.EMAIL,
) -> list[Wanted]:
    """The planned reminders this course needs now on one channel (each channel keeps its own rows)."""
    today = clinic_today(clinic, now)
    common = {
        "clinic_id": clinic.pk,
        "patient_id": course.patient_id,
        "course_id": course.course_id,
        "channel": channel,
    }

    def key(plain: str) -> str:
        return Reminder.channel_key(plain, channel)

    wanted: list[Wanted] = []

    # A patient with a visit booked gets that visit's reminders, not "please book".
    if course.dose_number is not None and not course.booked_count and not course.when_needed:
        status = _dose_status(course, today)
        if status in (dosing.DoseStatus.DUE_SOON, dosing.DoseStatus.DUE):
            wanted.append(
                Wanted(
                    key=key(Reminder.due_soon_key(course.course_id, course.dose_number)),
                    kind=Kind.DOSE_DUE_SOON,
                    due_at=next_local_moment(clinic, now),
                    **common,
                )
            )
        elif status == dosing.DoseStatus.OVERDUE:
            overdue = _next_overdue(
                course.course_id, course.dose_number, clinic=clinic, now=now, existing=existing, channel=channel
            )
            if overdue is not None:
                wanted.append(Wanted(kind=Kind.DOSE_OVERDUE, **overdue, **common))

    spec = lab_specs.get(course.regimen_id)
    if spec is not None and course.first_given_on is not None:
        # Lab checks count from dose 1 until a time after the last dose: the first and last
        # given dates are all the rules read.
        given = [dosing.GivenDose(course.first_given_on), dosing.GivenDose(course.last_given_on)]
        for item in dosing.monitoring_due(spec, given=given, today=today):
            if item.kind != MonitoringRule.Kind.LABS:
                continue  # programme paperwork is the clinic's job, not the patient's
            wanted.append(
                Wanted(
                    key=key(Reminder.labs_key(course.course_id, item.due_date)),
                    kind=Kind.MONITORING_LABS,
                    due_at=next_local_moment(
                        clinic, now, not_before=item.due_date - timedelta(days=LAB_REMINDER_DAYS_BEFORE)
                    ),
                    **common,
                )
            )
    # Several tests due on the same day make one email.
    return list({item.key: item for item in wanted}.values())


def _next_overdue(
    course_id: int, dose_number: int, *, clinic: Clinic, now: datetime, existing, channel: str
) -> dict | None:
    """The next weekly overdue reminder for this dose on the channel, or None (one is open, or three went)."""

    def key(number: int) -> str:
        return Reminder.channel_key(Reminder.overdue_key(course_id, dose_number, number), channel)

    rows = [existing.get(key(n)) for n in range(1, OVERDUE_REMINDERS + 1)]
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
        "key": key(len(done) + 1),
        "due_at": next_local_moment(clinic, now, not_before=not_before),
    }


def _lab_specs() -> dict[int, dosing.RegimenSpec]:
    """The rules of each regimen with lab tests, read before the courses so planning one touches no database."""
    specs = RegimenSpecs()
    lab_specs = {}
    for regimen_id in set(
        MonitoringRule.objects.filter(kind=MonitoringRule.Kind.LABS).values_list("regimen_id", flat=True)
    ):
        try:
            lab_specs[regimen_id] = specs(regimen_id)
        except Exception:
            # A regimen the rules cannot read loses its lab reminders, not everyone's reminders.
            logger.exception("reminders plan skipped labs regimen=%s", regimen_id)
    return lab_specs


def _ids_line(course_ids: list[int], total: int) -> str:
    shown = ",".join(str(pk) for pk in course_ids[:LOGGED_IDS])
    more = total - min(len(course_ids), LOGGED_IDS)
    return f"{shown} and {more} more" if more > 0 else shown


def reminders_plan(*, now: datetime, chunk: int = PLAN_CHUNK) -> int:
    """Create the due-soon, overdue and lab reminders the courses' next doses call for.

    Runs every hour (each clinic's reminders fall due at its own local hour); idempotent,
    since every message has a key. Reads courses `chunk` at a time, one transaction per
    chunk, so memory stays bounded however many patients the clinics have. A course with a
    stored data problem is skipped; a course whose planning fails is skipped and noted on its
    row (its traceback logged the first time only). The others are planned. Returns the
    number of rows created or made pending again.
    """
    clinics = {clinic.pk: clinic for clinic in Clinic.objects.filter(active=True)}
    if not clinics:
        return 0
    today_at_most = max(clinic_today(clinic, now) for clinic in clinics.values())
    lab_specs = _lab_specs()
    made = 0
    failed: list[int] = []
    for courses in _courses_in_chunks(chunk, today_at_most=today_at_most, lab_regimens=list(lab_specs)):
        course_ids = [course.course_id for course in courses]
        with transaction.atomic():
            existing = {
                row.key: row
                for row in Reminder.objects.filter(course__in=course_ids, kind__in=PLANNED_KINDS).only(
                    "id", "key", "status", "due_at", "sent_at", "kind"
                )
            }
            # A patient just asked to rebook a missed visit is not also told to book that dose.
            just_missed = set(
                Reminder.objects.filter(
                    course__in=course_ids, kind=Kind.MISSED_APPOINTMENT, due_at__gte=now - OVERDUE_EVERY
                )
                .exclude(status=Status.CANCELLED)
                .values_list("course_id", flat=True)
            )
            wanted: list[Wanted] = []
            chunk_failed: list[int] = []
            for course in courses:
                clinic = clinics.get(course.clinic_id)
                if clinic is None:
                    continue
                try:
                    planned = [
                        item
                        for channel in course.channels
                        for item in _plan_course(
                            course, clinic=clinic, lab_specs=lab_specs, now=now, existing=existing, channel=channel
                        )
                    ]
                except Exception:
                    # One course's bad data must not keep every other patient's reminders back.
                    # Ids only: no patient data in logs. The traceback once, not every hour.
                    if course.planning_failed_at is None:
                        logger.exception("reminders plan skipped course=%s", course.course_id)
                    failed.append(course.course_id)
                    chunk_failed.append(course.course_id)
                    continue
                if course.course_id in just_missed:
                    planned = [item for item in planned if item.kind == Kind.MONITORING_LABS]
                wanted.extend(planned)
            made += rows_put(wanted, existing, now=now)
            planning_failed_record(chunk_failed, now=now)
    planning_failed_clear(now=now)
    problems, problem_ids = stored_problem_courses(limit=LOGGED_IDS)
    if problems or failed:
        # A course is either kept out by its stored problem or read and failed: the two never overlap.
        logger.warning(
            "reminders plan skipped data_problems=%s failed=%s courses=%s",
            problems,
            len(failed),
            _ids_line(sorted([*problem_ids, *failed]), problems + len(failed)),
        )
    logger.info("reminders planned made=%s", made)
    return made
