"""Utilisation from the times the roster records: what a clinic's chairs and visits actually did.

Every figure reads the appointments whose booked start falls in the period (the clinic's
local days, first and last inclusive), optionally of one drug. The definitions, as the page
writes them under each figure:

- **Scheduled utilisation**: chair time booked (start to end of every appointment not
  cancelled: completed, no-show, in progress or still booked) over open chair time (open
  hours x active chairs) of the same days.
- **Actual utilisation**: chair time used (from in chair to completed, as the roster recorded
  them) of completed visits, over the same open chair time. A visit missing either time is
  left out, and counted as such.
- **Cycle time by regimen**: for completed visits with both times recorded, the planned chair
  time (booked end minus booked start) against the actual (completed minus in chair).
- **Late start**: in chair more than 15 minutes after the booked start, of the visits with an
  in-chair time. **Overrun**: completed more than 15 minutes after the booked end, of the
  visits with both times.
- **No-show rate**: no-shows over completed visits plus no-shows.
- **Late cancellation rate**: appointments cancelled less than 24 hours before their start
  (the time of the cancellation in their history) over all appointments of the period.
- **Given inside the window**: doses given (completed) in the period whose date lies between
  the earliest and the latest date the dosing rules give that dose, counted from the doses
  given before it.
- **Days from course start to first infusion**: for courses whose first dose was given in
  the period, the days from the course's start date to that dose.

A fixed number of queries whatever the number of visits.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Max

from clinic.dosing import next_dose
from clinic.models import Clinic, Drug
from patients.models import TreatmentCourse
from scheduling.capacity.clinic_days import clinic_capacity, percent_text
from scheduling.capacity.forecast import readable_courses
from scheduling.doses import RegimenSpecs, courses_doses
from scheduling.models import Appointment, AppointmentEvent, statuses

LATE_MINUTES = 15
LATE_CANCELLATION_HOURS = 24
DEFAULT_WEEKS = 8
MAX_DAYS = 366
GRANULARITIES = {"day": "Day", "week": "Week", "month": "Month"}
FIRST_INFUSION_BINS = [(None, 0, "On or before the start date"), (1, 7, "1-7 days"), (8, 14, "8-14 days")]
FIRST_INFUSION_BINS += [(15, 28, "15-28 days"), (29, None, "29 days or more")]

_S = statuses.AppointmentStatus


@dataclass
class Bucket:
    label: str
    start: date
    open_minutes: int = 0
    scheduled_minutes: int = 0
    actual_minutes: int = 0

    @property
    def scheduled_percent(self) -> float | None:
        return 100 * self.scheduled_minutes / self.open_minutes if self.open_minutes else None

    @property
    def actual_percent(self) -> float | None:
        return 100 * self.actual_minutes / self.open_minutes if self.open_minutes else None

    @property
    def scheduled_text(self) -> str:
        return percent_text(self.scheduled_percent)

    @property
    def actual_text(self) -> str:
        return percent_text(self.actual_percent)


@dataclass
class CycleTime:
    regimen: str
    planned: list[int] = field(default_factory=list)
    actual: list[int] = field(default_factory=list)

    @property
    def visits(self) -> int:
        return len(self.actual)

    @property
    def planned_mean(self) -> float:
        return statistics.fmean(self.planned)

    @property
    def actual_mean(self) -> float:
        return statistics.fmean(self.actual)

    @property
    def difference_mean(self) -> float:
        return self.actual_mean - self.planned_mean


@dataclass(frozen=True)
class Rate:
    key: str
    name: str
    count: int
    of: int
    definition: str

    @property
    def percent(self) -> float | None:
        return 100 * self.count / self.of if self.of else None

    @property
    def percent_text(self) -> str:
        return percent_text(self.percent)


@dataclass
class Utilisation:
    clinic: Clinic
    start: date
    end: date
    drug: Drug | None
    granularity: str
    buckets: list[Bucket]
    cycle_times: list[CycleTime]
    rates: list[Rate]
    first_infusion_days: list[int]
    visits: int
    missing_times: int  # completed visits without an in-chair or completed time

    @property
    def first_infusion_bins(self) -> list[tuple[str, int]]:
        return [
            (
                label,
                sum(
                    1
                    for days in self.first_infusion_days
                    if (low is None or days >= low) and (high is None or days <= high)
                ),
            )
            for low, high, label in FIRST_INFUSION_BINS
        ]

    @property
    def first_infusion_median(self) -> float | None:
        return statistics.median(self.first_infusion_days) if self.first_infusion_days else None


def _bucket_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _bucket_label(start: date, granularity: str) -> str:
    if granularity == "month":
        return f"{start:%b %Y}"
    return f"{start.day} {start:%b}"


def _minutes(first: datetime, last: datetime) -> int:
    return int((last - first).total_seconds() // 60)


def clinic_utilisation(
    clinic: Clinic, *, start: date, end: date, drug: Drug | None = None, granularity: str = "week"
) -> Utilisation:
    """The clinic's utilisation figures for the local days `start` to `end`."""
    tz = clinic.tz
    capacity = clinic_capacity(clinic, start, end)
    buckets: dict[date, Bucket] = {}
    for day, day_capacity in capacity.items():
        key = _bucket_start(day, granularity)
        bucket = buckets.setdefault(key, Bucket(label=_bucket_label(key, granularity), start=key))
        bucket.open_minutes += day_capacity.chair_minutes

    appointments = Appointment.objects.filter(
        clinic=clinic,
        starts_at__gte=datetime.combine(start, time.min, tzinfo=tz),
        starts_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )
    if drug is not None:
        appointments = appointments.filter(course__regimen__drug=drug)
    rows = list(
        appointments.values_list(
            "pk", "status", "starts_at", "ends_at", "in_chair_at", "completed_at", "course__regimen__name"
        )
    )
    cancelled_at = dict(
        AppointmentEvent.objects.filter(
            appointment__in=appointments.filter(status=_S.CANCELLED), action=AppointmentEvent.Action.CANCELLED
        )
        .values("appointment_id")
        .annotate(at=Max("at"))
        .values_list("appointment_id", "at")
    )

    cycles: dict[str, CycleTime] = {}
    counts: dict[str, int] = defaultdict(int)
    missing = 0
    for pk, status, starts_at, ends_at, in_chair_at, completed_at, regimen in rows:
        bucket = buckets[_bucket_start(starts_at.astimezone(tz).date(), granularity)]
        if status != _S.CANCELLED:
            bucket.scheduled_minutes += _minutes(starts_at, ends_at)
        if in_chair_at is not None:
            counts["with_in_chair"] += 1
            counts["late_starts"] += in_chair_at > starts_at + timedelta(minutes=LATE_MINUTES)
        if status == _S.COMPLETED:
            counts["completed"] += 1
            if in_chair_at is None or completed_at is None:
                missing += 1
            else:
                actual = _minutes(in_chair_at, completed_at)
                bucket.actual_minutes += actual
                cycle = cycles.setdefault(regimen, CycleTime(regimen))
                cycle.planned.append(_minutes(starts_at, ends_at))
                cycle.actual.append(actual)
                counts["with_both"] += 1
                counts["overruns"] += completed_at > ends_at + timedelta(minutes=LATE_MINUTES)
        elif status == _S.NO_SHOW:
            counts["no_shows"] += 1
        elif status == _S.CANCELLED:
            at = cancelled_at.get(pk)
            counts["late_cancellations"] += at is not None and at > starts_at - timedelta(hours=LATE_CANCELLATION_HOURS)

    in_window, given, first_days = _dose_figures(clinic, start, end, drug)
    rates = [
        Rate(
            "late_starts",
            "Late starts",
            counts["late_starts"],
            counts["with_in_chair"],
            f"In chair more than {LATE_MINUTES} minutes after the booked start, of the visits with an in-chair time.",
        ),
        Rate(
            "overruns",
            "Overruns",
            counts["overruns"],
            counts["with_both"],
            f"Completed more than {LATE_MINUTES} minutes after the booked end, of the completed visits with "
            "in-chair and completed times.",
        ),
        Rate(
            "no_shows",
            "No-shows",
            counts["no_shows"],
            counts["completed"] + counts["no_shows"],
            "No-shows over completed visits plus no-shows.",
        ),
        Rate(
            "late_cancellations",
            "Late cancellations",
            counts["late_cancellations"],
            len(rows),
            f"Cancelled less than {LATE_CANCELLATION_HOURS} hours before the booked start, over every appointment "
            "of the period.",
        ),
        Rate(
            "in_window",
            "Doses given inside their window",
            in_window,
            given,
            "Doses given in the period on a date between the earliest and the latest date the dosing rules give "
            "that dose, counted from the doses given before it.",
        ),
    ]
    return Utilisation(
        clinic=clinic,
        start=start,
        end=end,
        drug=drug,
        granularity=granularity,
        buckets=[buckets[key] for key in sorted(buckets)],
        cycle_times=sorted(cycles.values(), key=lambda cycle: cycle.regimen),
        rates=rates,
        first_infusion_days=first_days,
        visits=len(rows),
        missing_times=missing,
    )


def _dose_figures(clinic: Clinic, start: date, end: date, drug: Drug | None) -> tuple[int, int, list[int]]:
    """(doses given inside their window, doses given, days from start to first infusion) of the period."""
    courses = TreatmentCourse.objects.filter(
        patient__clinic=clinic,
        appointments__status=_S.COMPLETED,
        appointments__clinic=clinic,
        appointments__starts_at__gte=datetime.combine(start - timedelta(days=1), time.min, tzinfo=clinic.tz),
        appointments__starts_at__lt=datetime.combine(end + timedelta(days=2), time.min, tzinfo=clinic.tz),
    )
    if drug is not None:
        courses = courses.filter(regimen__drug=drug)
    courses = list(
        TreatmentCourse.objects.filter(pk__in=courses.values("pk")).select_related("patient__clinic").order_by("pk")
    )
    specs = RegimenSpecs.for_regimens(course.regimen_id for course in courses)
    courses, _unreadable = readable_courses(courses, specs)
    in_window = given = 0
    first_days = []
    doses = courses_doses(courses, specs=specs)
    for course in courses:
        spec = specs(course.regimen_id)
        visits = doses[course.pk].given
        for position, visit in enumerate(visits):
            if not start <= visit.date <= end:
                continue
            if position == 0:
                first_days.append((visit.date - course.start_date).days)
            planned = next_dose(
                spec,
                start_date=course.start_date,
                given=[earlier.as_given() for earlier in visits[:position]],
                options=course.options or {},
                today=visit.date,
            )
            if planned is None:
                continue
            given += 1
            in_window += planned.earliest_date <= visit.date <= planned.latest_date
    return in_window, given, first_days
