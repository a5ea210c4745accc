"""Reads about courses and their doses that the patient page, the worklist and reminders share.

A course's dose history is its COMPLETED appointments, each on the clinic's local date (a
dose given at 23:30 in New York is that day's dose, not the next UTC day's). Everything
here loads in a fixed number of queries, however many courses are asked about: the
regimens' phases and the appointments are prefetched, and the dosing rules in
`clinic.dosing` then run in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.apps import apps
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils import timezone

from clinic.dosing import (
    GivenDose,
    MonitoringItem,
    PlannedDose,
    RegimenSpec,
    dose_plan,
    local_date,
    monitoring_due,
)
from patients.models import TreatmentCourse

COMPLETED = "completed"
PLAN_LENGTH = 4  # the next dose and the three after it
RECENT_DOSES = 6


def _appointment_model():
    # Looked up by name: scheduling builds on patients, never the other way round.
    return apps.get_model("scheduling", "Appointment")


def _active_statuses() -> tuple[str, ...]:
    return tuple(_appointment_model().ACTIVE_STATUSES)


@dataclass(frozen=True)
class DoseGiven:
    """One dose of a course as given: its completed appointment, on the clinic's local date."""

    dose_number: int
    date: date
    serious_reaction: bool
    appointment: object  # scheduling.Appointment

    @property
    def given(self) -> GivenDose:
        return GivenDose(self.date, serious_reaction=self.serious_reaction)


def _dosing_lookups() -> list:
    appointment = _appointment_model()
    return [
        "regimen__phases",
        "regimen__monitoring",
        Prefetch(
            "appointments",
            queryset=appointment.objects.filter(status=COMPLETED).order_by("dose_number", "starts_at"),
            to_attr="completed_appointments",
        ),
        Prefetch(
            "appointments",
            queryset=appointment.objects.filter(status__in=_active_statuses())
            .exclude(status=COMPLETED)
            .select_related("chair")
            .order_by("starts_at"),
            to_attr="open_appointments",
        ),
    ]


def with_dosing(queryset: QuerySet[TreatmentCourse]) -> QuerySet[TreatmentCourse]:
    """Courses with everything the dosing rules need, in a fixed number of queries.

    Adds `completed_appointments` (by dose number) and `open_appointments` (booked and not
    yet completed) to each course; the regimen's phases and monitoring rules are prefetched,
    so `regimen.spec()` needs no query.
    """
    return queryset.select_related("patient__clinic", "regimen__drug").prefetch_related(*_dosing_lookups())


def _completed(course: TreatmentCourse) -> list:
    if hasattr(course, "completed_appointments"):
        return course.completed_appointments
    return list(course.appointments.filter(status=COMPLETED).order_by("dose_number", "starts_at"))


def _open(course: TreatmentCourse) -> list:
    if hasattr(course, "open_appointments"):
        return course.open_appointments
    return list(
        course.appointments.filter(status__in=_active_statuses())
        .exclude(status=COMPLETED)
        .select_related("chair")
        .order_by("starts_at")
    )


def _given_moment(appointment) -> datetime:
    # The infusion's actual start when the nurses recorded it, else the booked start.
    return appointment.infusion_started_at or appointment.starts_at


def dose_history(course: TreatmentCourse) -> list[DoseGiven]:
    """The doses given in this course, oldest first, one per dose number."""
    tz = course.patient.clinic.tz
    seen: set[int] = set()
    history = []
    for appointment in _completed(course):
        if appointment.dose_number in seen:
            continue
        seen.add(appointment.dose_number)
        history.append(
            DoseGiven(
                dose_number=appointment.dose_number,
                date=local_date(_given_moment(appointment), tz),
                serious_reaction=appointment.serious_reaction,
                appointment=appointment,
            )
        )
    return sorted(history, key=lambda dose: (dose.date, dose.dose_number))


def given_doses(course: TreatmentCourse) -> list[GivenDose]:
    """The course's doses given, as the dosing rules take them."""
    return [dose.given for dose in dose_history(course)]


def clinic_today(clinic) -> date:
    """Today's date in the clinic's own time zone."""
    return timezone.localdate(timezone=clinic.tz)


class _Specs:
    """One RegimenSpec per regimen, built from the prefetched rows."""

    def __init__(self) -> None:
        self._by_id: dict[int, RegimenSpec] = {}

    def __call__(self, regimen) -> RegimenSpec:
        if regimen.pk not in self._by_id:
            self._by_id[regimen.pk] = regimen.spec()
        return self._by_id[regimen.pk]


@dataclass(frozen=True)
class NextDose:
    """A course's next dose, and the appointment already booked for it, if any."""

    course: TreatmentCourse
    dose: PlannedDose | None
    booking: object | None  # scheduling.Appointment holding this dose number
    today: date

    @property
    def booked(self) -> bool:
        return self.booking is not None


def _booking_for(course: TreatmentCourse, dose_number: int):
    return next((a for a in _open(course) if a.dose_number == dose_number), None)


def next_doses(
    courses: Iterable[TreatmentCourse], *, today: date | None = None, specs: _Specs | None = None
) -> dict[int, NextDose]:
    """The next dose of each course, keyed by course id, with no query per course.

    Pass courses from `with_dosing(...)`. `today` defaults to each clinic's own date; each
    status uses the clinic's "due soon" days.
    """
    specs = specs or _Specs()
    result = {}
    for course in courses:
        clinic = course.patient.clinic
        day = today or clinic_today(clinic)
        planned = dose_plan(
            specs(course.regimen),
            start_date=course.start_date,
            given=given_doses(course),
            options=course.options or {},
            today=day,
            count=1,
            due_soon_days=clinic.due_soon_days,
        )
        dose = planned[0] if planned else None
        booking = _booking_for(course, dose.dose_number) if dose else None
        result[course.pk] = NextDose(course=course, dose=dose, booking=booking, today=day)
    return result


@dataclass
class CourseDosingSummary:
    """What the patient page shows for one course: doses given, the next dose, the plan."""

    course: TreatmentCourse
    today: date
    doses_given: list[DoseGiven]
    next_dose: PlannedDose | None
    next_booking: object | None  # the appointment already booked for the next dose
    upcoming: list[PlannedDose]  # the doses after the next one, each assumed on its target date
    monitoring: list[MonitoringItem] = field(default_factory=list)

    @property
    def regimen(self):
        return self.course.regimen

    @property
    def is_active(self) -> bool:
        return self.course.status == TreatmentCourse.Status.ACTIVE

    @property
    def recent_doses(self) -> list[DoseGiven]:
        """The last few doses given, newest first (the page folds the rest away)."""
        return list(reversed(self.doses_given[-RECENT_DOSES:]))

    @property
    def earlier_doses(self) -> list[DoseGiven]:
        """The doses given before the recent ones, newest first."""
        return list(reversed(self.doses_given[:-RECENT_DOSES]))

    @property
    def complete(self) -> bool:
        """The regimen has no further dose."""
        return self.next_dose is None


def course_dosing_summary(
    course: TreatmentCourse, today: date | None = None, *, specs: _Specs | None = None
) -> CourseDosingSummary:
    """One course's doses given, next dose with its window and reason, plan and checks due.

    Two queries per course unless the course came from `with_dosing(...)`, then none.
    """
    clinic = course.patient.clinic
    day = today or clinic_today(clinic)
    spec = (specs or _Specs())(course.regimen)
    history = dose_history(course)
    given = [dose.given for dose in history]
    plan = dose_plan(
        spec,
        start_date=course.start_date,
        given=given,
        options=course.options or {},
        today=day,
        count=PLAN_LENGTH,
        due_soon_days=clinic.due_soon_days,
    )
    next_dose = plan[0] if plan else None
    return CourseDosingSummary(
        course=course,
        today=day,
        doses_given=history,
        next_dose=next_dose,
        next_booking=_booking_for(course, next_dose.dose_number) if next_dose else None,
        upcoming=plan[1:],
        monitoring=monitoring_due(
            spec, given=given, today=day, authorization_expires_on=course.authorization_expires_on
        ),
    )


def course_dosing_summaries(
    courses: QuerySet[TreatmentCourse], today: date | None = None
) -> dict[int, CourseDosingSummary]:
    """Summaries for many courses (a patient's page), keyed by course id, in a fixed number of queries."""
    specs = _Specs()
    return {course.pk: course_dosing_summary(course, today, specs=specs) for course in with_dosing(courses)}


def attach_dosing_summaries(courses: list[TreatmentCourse], today: date | None = None) -> list[TreatmentCourse]:
    """Set `course.dosing` (a CourseDosingSummary) on courses already fetched, in four queries in all.

    For a page that has its list of courses: `{% include "patients/_course_dosing.html"
    with summary=course.dosing %}`. The courses' patient and clinic should already be loaded
    (as they are for `patient.courses.all()` when the patient came with its clinic).
    """
    prefetch_related_objects(courses, *_dosing_lookups())
    specs = _Specs()
    for course in courses:
        course.dosing = course_dosing_summary(course, today, specs=specs)
    return courses
