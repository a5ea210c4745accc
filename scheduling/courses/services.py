"""Changing a treatment course's status, and what a pause or a stop does to its bookings; switching drugs.

A paused or stopped course keeps no future appointment and no "please book" reminder. Each
booked appointment that has not started is cancelled through the booking service, so its
history says who cancelled it and why and its reminders are cancelled with it; the course's
open dose and lab reminders are cancelled too. It all happens in one transaction under the
course's row lock, which every booking service takes first: a dose booked at the same moment
is either booked before the pause (and cancelled by it) or refused because the course is no
longer active.

A switch to another drug (`course_switch`) stops the course through the same status change
and starts the new course after the washout the old regimen's data asks for, in one transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic import dates
from clinic.models import Regimen
from patients import services as patient_services
from patients.models import TreatmentCourse
from scheduling.booking.services import booking_cancel
from scheduling.courses.selectors import course_future_appointments
from scheduling.doses import clinic_today
from scheduling.models import Appointment, Reminder
from scheduling.reminders.outbox import OPEN_STATUSES
from scheduling.reminders.planner import PLANNED_KINDS

logger = logging.getLogger(__name__)

CourseStatus = TreatmentCourse.Status

# The statuses that take a course off the schedule: its future appointments are cancelled.
HALTING_STATUSES = (CourseStatus.PAUSED, CourseStatus.STOPPED)


@dataclass(frozen=True)
class CourseStatusResult:
    """What a status change did: the course as saved, and what it cancelled."""

    course: TreatmentCourse
    previous_status: str
    cancelled_appointments: tuple[Appointment, ...] = ()
    cancelled_reminders: int = 0


def _label(status: str) -> str:
    return CourseStatus(status).label.lower()


def check_status_reason(*, status: str, reason: str) -> None:
    """Refuse an unknown status, and a pause or stop without a reason, with the sentence the page shows."""
    if status not in CourseStatus.values:
        raise ValidationError({"status": "Choose active, paused or stopped."}, code="invalid_status")
    if status in HALTING_STATUSES and not (reason or "").strip():
        raise ValidationError(
            {
                "reason": (
                    f"Write why the course is {_label(status)}; the reason is kept in the history of each "
                    "cancelled appointment."
                )
            },
            code="reason_required",
        )


@transaction.atomic
def course_status_change(*, course: TreatmentCourse, status: str, by, reason: str) -> CourseStatusResult:
    """Make the course active, paused or stopped.

    Pausing or stopping needs a reason, and cancels every booked appointment of the course
    that has not started (each with an AppointmentEvent giving the reason) and the course's
    open dose-due, overdue and lab reminders. A visit already under way is left to finish.
    Making a course active again cancels nothing and books nothing: its next dose shows on
    the worklist again. Raises ValidationError, on the field concerned, when refused.
    """
    reason = (reason or "").strip()
    check_status_reason(status=status, reason=reason)
    # The bare row, no joins: only the course is locked, as the booking services lock it.
    locked = TreatmentCourse.objects.select_for_update().get(pk=course.pk)
    previous = locked.status
    if status == previous:
        raise ValidationError(
            {"status": f"The course is already {_label(status)}. Choose another status, or go back."},
            code="unchanged",
        )
    now = timezone.now()
    future: list[Appointment] = []
    if status in HALTING_STATUSES:
        # Locked in start order before cancelling, so a visit a nurse is moving along right now
        # either is still booked once we hold it, or has started and is left alone. Locked
        # before the course is saved: saving it writes the course's stored next dose, which a
        # cancel or a visit change writes too once it holds its appointment, so taking the
        # appointments first keeps the order the same and two such changes cannot deadlock.
        future = list(course_future_appointments(locked, now=now).select_related(None).select_for_update())
    locked = patient_services.course_update(course=locked, status=status)
    if status not in HALTING_STATUSES:
        logger.info("course status changed course=%s from=%s to=%s", locked.pk, previous, status)
        return CourseStatusResult(course=locked, previous_status=previous)

    why = f"Treatment course {_label(status)}: {reason}"
    cancelled = tuple(booking_cancel(appointment=appointment, by=by, reason=why) for appointment in future)
    reminders = Reminder.objects.filter(course=locked, kind__in=PLANNED_KINDS, status__in=OPEN_STATUSES).update(
        status=Reminder.Status.CANCELLED,
        last_error=f"The treatment course was {_label(status)}.",
        updated_at=now,
    )
    logger.info(
        "course status changed course=%s from=%s to=%s appointments_cancelled=%s reminders_cancelled=%s",
        locked.pk,
        previous,
        status,
        len(cancelled),
        reminders,
    )
    return CourseStatusResult(
        course=locked, previous_status=previous, cancelled_appointments=cancelled, cancelled_reminders=reminders
    )


# --- Switching a patient to another drug ---------------------------------------------------------


@dataclass(frozen=True)
class SwitchPlan:
    """What a switch will do, for the page to show before anyone confirms it."""

    course: TreatmentCourse
    to_regimen: Regimen
    stop_on: date
    earliest_start: date
    start_on: date
    # The days the old regimen asks for before the new one starts; None when none is recorded.
    washout_days: int | None
    cancelled: tuple[Appointment, ...]


def switch_washout_days(*, from_regimen: Regimen, to_regimen: Regimen) -> int | None:
    """The washout the regimen data asks for between the two, or None when it records none.

    The old regimen's washout applies to a new course of its own therapy class (another MS
    disease-modifying therapy); a regimen of another class, or of none, waits for nothing.
    """
    if not from_regimen.therapy_class or from_regimen.therapy_class != to_regimen.therapy_class:
        return None
    return from_regimen.washout_days_after


def _switch_refusals(
    *, course: TreatmentCourse, to_regimen: Regimen, stop_on: date, start_on: date | None, reason: str | None
) -> tuple[dict[str, str], date, int | None]:
    """The problems with a switch (field: sentence), the earliest start, and the washout days.

    A `reason` of None is not checked (the preview, before the reason is asked for).
    """
    problems: dict[str, str] = {}
    drug = course.regimen.drug.brand_name
    if course.status not in TreatmentCourse.HOLDING_STATUSES:
        problems["__all__"] = (
            f"The {drug} course is already {_label(course.status)}. Start the new course from the patient's page."
        )
    if to_regimen.drug_id == course.regimen.drug_id:
        problems["to_regimen"] = (
            f"This course is already on {drug}. Choose another drug, or edit the course to change its options."
        )
    today = clinic_today(course.patient.clinic)
    if stop_on > today:
        problems["stop_on"] = (
            f"Choose today ({dates.day(today)}) or an earlier day, such as the last dose, to stop the {drug} "
            "course: a switch is made on the day the course stops."
        )
    if reason is not None and not reason.strip():
        problems["reason"] = "Write why the patient is switched; the reason is kept in the history of the courses."
    washout = switch_washout_days(from_regimen=course.regimen, to_regimen=to_regimen)
    earliest = stop_on + timedelta(days=washout or 0)
    if start_on is not None and start_on < earliest:
        if washout:
            why = f"{drug} asks for {washout} days after it stops, and it stops on {dates.day(stop_on)}"
        else:
            why = f"that is the day {drug} stops"
        problems["start_on"] = (
            f"The {to_regimen.drug.brand_name} course can start on {dates.day(earliest)} at the earliest: {why}. "
            "Choose that day or a later one."
        )
    return problems, earliest, washout


def course_switch_plan(
    *, course: TreatmentCourse, to_regimen: Regimen, stop_on: date, start_on: date | None
) -> SwitchPlan:
    """What `course_switch` would do with these choices, or ValidationError with its sentences."""
    problems, earliest, washout = _switch_refusals(
        course=course, to_regimen=to_regimen, stop_on=stop_on, start_on=start_on, reason=None
    )
    if problems:
        raise ValidationError(problems, code="switch_refused")
    return SwitchPlan(
        course=course,
        to_regimen=to_regimen,
        stop_on=stop_on,
        earliest_start=earliest,
        start_on=start_on or earliest,
        washout_days=washout,
        cancelled=tuple(course_future_appointments(course)),
    )


@dataclass(frozen=True)
class CourseSwitchResult:
    stopped: CourseStatusResult
    started: TreatmentCourse


@transaction.atomic
def course_switch(
    *, course: TreatmentCourse, to_regimen: Regimen, stop_on: date, start_on: date | None, by, reason: str
) -> CourseSwitchResult:
    """Switch the patient from the course's drug to `to_regimen`'s: stop the old course, start the new one.

    The old course is stopped through `course_status_change` (its future appointments and dose
    reminders are cancelled, each with the reason) and keeps `stop_on` as the day it stopped,
    which may be today or an earlier day such as its last dose. The new course starts on
    `start_on`, or on the earliest day the regimen data allows: `stop_on` plus the old
    regimen's washout before another course of its therapy class. An earlier `start_on` is
    refused with the sentence giving that day. The new course names the one it replaced and
    is checked like any new course (`course_create`). All of it happens, or none of it.
    """
    reason = (reason or "").strip()
    problems, earliest, _washout = _switch_refusals(
        course=course, to_regimen=to_regimen, stop_on=stop_on, start_on=start_on, reason=reason
    )
    if problems:
        raise ValidationError(problems, code="switch_refused")
    why = f"Switched to {to_regimen.drug.brand_name}: {reason}"
    stopped = course_status_change(course=course, status=CourseStatus.STOPPED, by=by, reason=why)
    old = patient_services.course_update(course=stopped.course, stopped_on=stop_on)
    started = patient_services.course_create(
        patient=old.patient,
        regimen=to_regimen,
        start_date=start_on or earliest,
        created_by=by,
        switched_from=old,
        notes=f"Switched from {old.regimen.drug.brand_name}, stopped {dates.day(stop_on)}: {reason}",
    )
    logger.info("course switched from=%s to=%s regimen=%s", old.pk, started.pk, to_regimen.code)
    return CourseSwitchResult(stopped=stopped, started=started)
