"""The capacity forecast: the chair hours and peak nurse load a clinic's active courses will need.

For each day from today to the end of the 26th week (weeks run Monday to Sunday, the first
from today), the load is

- **booked**: every appointment holding a chair that day (booked, in progress or completed),
  at its booked times and whole chair time;
- **planned**: each active course's doses that are not booked, as the dose module plans them
  (`scheduling.doses.courses_doses`: the next dose, then the doses after it, each assumed
  given on its target date). A dose sits on its target date; a next dose whose target date
  has passed sits on today, and the doses after it move by as many days; one on a day the
  clinic is closed moves to the next open day. A
  dose given only when the prescriber asks is left out (nobody knows when it will be).

Chair hours needed are booked plus planned chair time, against open hours x active chairs.
Peak nurse load is the most patients in chairs at any moment, against nurses on duty x
patients per nurse. Booked visits count at their booked times; planned doses are placed from
opening, longest first, as many starting in each 15-minute slot as the nurses on duty may
start (nurses x infusion starts per nurse), each staying its whole chair time.

A day is flagged when either share is over the clinic's threshold (`CapacityPolicy`, 85% by
default). A planned dose on a flagged day can move when another open day inside its window
(from its earliest date, or today, to its latest date) would stay at or under the threshold
with it; the lightest such days are named.

The queries are fixed: the courses, their visits, the regimens, the clinic's appointments
of the range, its hours, closures, chairs and policy, whatever the number of courses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from clinic.models import Clinic, Regimen
from patients.models import TreatmentCourse
from scheduling.capacity.clinic_days import DayCapacity, clinic_capacity, days_between, percent_text
from scheduling.doses import RegimenSpecs, clinic_course_visits, clinic_today, courses_doses
from scheduling.models import Appointment, CapacityPolicy, DoseState

WEEKS = 26
DAY_WEEKS = 6  # the table of single days covers this many weeks
SLOT_MINUTES = 15
# A dose on a closed day moves to the next open day within this many days.
OPEN_DAY_SEARCH = 14
ALTERNATIVES = 3


@dataclass(slots=True)
class PlannedVisit:
    """A dose due and not booked, placed on a day of the forecast."""

    course_id: int
    patient_id: int
    patient_name: str
    drug: str
    dose_number: int
    dose_label: str
    target_date: date
    earliest_date: date
    latest_date: date
    day: date  # where the forecast places it
    minutes: int  # its whole chair time
    alternatives: tuple[date, ...] = ()  # lighter days inside its window, when its day is flagged


@dataclass
class ForecastDay:
    capacity: DayCapacity
    threshold: int
    booked_minutes: int = 0
    booked_visits: int = 0
    planned: list[PlannedVisit] = field(default_factory=list)
    peak_patients: int = 0
    # Booked visits as (start, end) minutes from opening, for the peak.
    booked_intervals: list[tuple[int, int]] = field(default_factory=list, repr=False)
    planned_minutes: int = 0

    def add(self, visit: PlannedVisit) -> None:
        self.planned.append(visit)
        self.planned_minutes += visit.minutes

    @property
    def day(self) -> date:
        return self.capacity.day

    @property
    def needed_minutes(self) -> int:
        return self.booked_minutes + self.planned_minutes

    @property
    def chair_percent(self) -> float | None:
        return _percent(self.needed_minutes, self.capacity.chair_minutes)

    @property
    def nurse_percent(self) -> float | None:
        return _percent(self.peak_patients, self.capacity.nurse_capacity)

    @property
    def chair_text(self) -> str:
        return percent_text(self.chair_percent)

    @property
    def nurse_text(self) -> str:
        return percent_text(self.nurse_percent)

    @property
    def flagged(self) -> bool:
        return any(share is not None and share > self.threshold for share in (self.chair_percent, self.nurse_percent))

    @property
    def movable(self) -> list[PlannedVisit]:
        return [visit for visit in self.planned if visit.alternatives]


@dataclass
class ForecastWeek:
    monday: date
    days: list[ForecastDay]

    @property
    def chair_minutes(self) -> int:
        return sum(day.capacity.chair_minutes for day in self.days)

    @property
    def booked_minutes(self) -> int:
        return sum(day.booked_minutes for day in self.days)

    @property
    def planned_minutes(self) -> int:
        return sum(day.planned_minutes for day in self.days)

    @property
    def needed_minutes(self) -> int:
        return self.booked_minutes + self.planned_minutes

    @property
    def chair_percent(self) -> float | None:
        return _percent(self.needed_minutes, self.chair_minutes)

    @property
    def peak_patients(self) -> int:
        return max((day.peak_patients for day in self.days), default=0)

    @property
    def nurse_percent(self) -> float | None:
        shares = [day.nurse_percent for day in self.days if day.nurse_percent is not None]
        return max(shares, default=None)

    @property
    def chair_text(self) -> str:
        return percent_text(self.chair_percent)

    @property
    def nurse_text(self) -> str:
        return percent_text(self.nurse_percent)

    @property
    def flagged_days(self) -> int:
        return sum(day.flagged for day in self.days)


@dataclass
class Forecast:
    clinic: Clinic
    today: date
    threshold: int
    days: list[ForecastDay]  # today to the end of the last week
    weeks: list[ForecastWeek]
    courses: int  # active courses forecast
    unplanned_courses: int  # active courses whose regimen the rules cannot read (data problems)

    @property
    def near_days(self) -> list[ForecastDay]:
        """The days of the first six weeks, from today."""
        end = self.today + timedelta(weeks=DAY_WEEKS)
        return [day for day in self.days if day.day < end]

    @property
    def flagged(self) -> list[ForecastDay]:
        return [day for day in self.days if day.flagged]

    @property
    def near_flagged(self) -> list[ForecastDay]:
        """The flagged days of the first six weeks, which the page details dose by dose."""
        return [day for day in self.near_days if day.flagged]

    @property
    def later_flagged(self) -> int:
        return len(self.flagged) - len(self.near_flagged)


def _percent(part: float, whole: float) -> float | None:
    if not whole:
        return None if not part else float("inf")
    return 100 * part / whole


def _placed_day(target: date, today: date, calendar: dict[date, DayCapacity]) -> date:
    """The day a planned dose counts on: its target date, today if that has passed, the next open day if closed."""
    day = max(target, today)
    for offset in range(OPEN_DAY_SEARCH + 1):
        candidate = day + timedelta(days=offset)
        capacity = calendar.get(candidate)
        if capacity is None or capacity.is_open:
            return candidate
    return day


def _active_courses(clinic: Clinic):
    courses = list(
        TreatmentCourse.objects.filter(patient__clinic=clinic, status=TreatmentCourse.Status.ACTIVE)
        .select_related("patient")
        # What the dose module and the page read, no more: thousands of rows are built here.
        .only("pk", "regimen_id", "start_date", "options", "status", "patient__first_name", "patient__last_name")
        .order_by("pk")
    )
    for course in courses:
        course.patient.clinic = clinic  # one clinic for all: the dose module reads its time zone from here
    return courses


def readable_courses(courses, specs: RegimenSpecs) -> tuple[list, int]:
    """The courses whose regimen the rules can read, and how many others were left out."""
    readable_regimens = set()
    for regimen_id in {course.regimen_id for course in courses}:
        try:
            specs(regimen_id)
        except Exception:  # noqa: S112 - a regimen the rules cannot read is a data problem, listed elsewhere
            continue
        readable_regimens.add(regimen_id)
    kept = [course for course in courses if course.regimen_id in readable_regimens]
    return kept, len(courses) - len(kept)


def _booked_rows(clinic: Clinic, start: date, end: date):
    tz = clinic.tz
    begin = datetime.combine(start, time.min, tzinfo=tz)
    finish = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return (
        Appointment.objects.active()
        .filter(clinic=clinic, starts_at__gte=begin, starts_at__lt=finish)
        .values_list("starts_at", "ends_at")
    )


def _opening(capacity: DayCapacity, tz) -> datetime:
    return datetime.combine(capacity.day, capacity.opens or time.min, tzinfo=tz)


def _peak(intervals: list[tuple[int, int]]) -> int:
    """The most intervals (start, end) in minutes open at any one moment."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    peak = current = 0
    for _, change in events:
        current += change
        peak = max(peak, current)
    return peak


def _planned_intervals(capacity: DayCapacity, planned: list[PlannedVisit]) -> list[tuple[int, int]]:
    """Planned doses from opening, longest first, `starts_per_slot` starting in each 15-minute slot."""
    ordered = sorted((visit.minutes for visit in planned), reverse=True)
    return [
        (
            (index // capacity.starts_per_slot) * SLOT_MINUTES,
            (index // capacity.starts_per_slot) * SLOT_MINUTES + length,
        )
        for index, length in enumerate(ordered)
    ]


def booked_days(clinic: Clinic, start: date, end: date, *, threshold: int | None = None) -> dict[date, ForecastDay]:
    """{local day: its capacity and booked load} from `start` to `end`; peaks count the booked visits alone.

    What the manager's home page shows for today and tomorrow, and where the forecast starts.
    """
    if threshold is None:
        threshold = CapacityPolicy.for_clinics([clinic])[clinic.pk].overload_percent
    calendar = clinic_capacity(clinic, start, end)
    days = {day: ForecastDay(capacity=calendar[day], threshold=threshold) for day in days_between(start, end)}
    tz = clinic.tz
    for starts_at, ends_at in _booked_rows(clinic, start, end):
        local_start = starts_at.astimezone(tz)
        entry = days.get(local_start.date())
        if entry is None:
            continue
        minutes = int((ends_at - starts_at).total_seconds() // 60)
        entry.booked_minutes += minutes
        entry.booked_visits += 1
        offset = int((local_start - _opening(entry.capacity, tz)).total_seconds() // 60)
        entry.booked_intervals.append((offset, offset + minutes))
    for entry in days.values():
        entry.peak_patients = _peak(entry.booked_intervals)
    return days


def _days_at_least(value: int | None, unit: str) -> int:
    """The fewest days an interval can be (a calendar month is at least 28 days)."""
    if not value:
        return 0
    return value * {"months": 28, "weeks": 7}.get(unit, 1)


def _plan_length(spec, horizon_days: int) -> int:
    """Doses to plan so a course's plan reaches past the horizon: its fixed phases, then enough repeats."""
    length = 0
    for phase in spec.phases:
        block = max(phase.doses, 1)
        if not phase.repeats:
            length += block
            continue
        gaps = [
            _days_at_least(phase.interval_value, phase.interval_unit),
            _days_at_least(phase.alternative_interval_value, phase.alternative_interval_unit),
        ]
        shortest = max(min([gap for gap in gaps if gap] or [1]), 1)
        # A late next dose moves the ones after it to today, so the plan starts no earlier than today.
        return length + (horizon_days // shortest + 1) * block
    return max(length, 1)


def _place(
    course, plan, days: dict[date, ForecastDay], calendar, today: date, end: date, drugs: dict, placed_on: dict
) -> None:
    """Put the course's doses due and not booked on the days they count on.

    A next dose whose target date has passed counts today, and the doses after it move with
    it by the same number of days, as a late dose moves the ones after it.
    """
    if not plan:
        return
    delay = timedelta(days=max((today - plan[0].target_date).days, 0))
    name, drug = course.patient.full_name, drugs.get(course.regimen_id, "")
    for dose in plan:
        if dose.when_needed:
            continue
        target = dose.target_date + delay
        placed = placed_on.get(target)
        if placed is None:
            placed = placed_on[target] = _placed_day(target, today, calendar)
        if placed > end:
            return
        days[placed].add(
            PlannedVisit(
                course_id=course.pk,
                patient_id=course.patient_id,
                patient_name=name,
                drug=drug,
                dose_number=dose.dose_number,
                dose_label=dose.dose_label,
                target_date=target,
                earliest_date=dose.earliest_date + delay,
                latest_date=dose.latest_date + delay,
                day=placed,
                minutes=dose.chair_time.total_minutes,
            )
        )


def clinic_forecast(clinic: Clinic, *, today: date | None = None, weeks: int = WEEKS) -> Forecast:
    """The forecast of one clinic from `today` (its own date by default) to the end of week `weeks`."""
    today = today or clinic_today(clinic)
    monday = today - timedelta(days=today.weekday())
    end = monday + timedelta(weeks=weeks) - timedelta(days=1)
    threshold = CapacityPolicy.for_clinics([clinic])[clinic.pk].overload_percent
    days = booked_days(clinic, today, end, threshold=threshold)
    calendar = {day: entry.capacity for day, entry in days.items()}

    courses = _active_courses(clinic)
    specs = RegimenSpecs.for_regimens(course.regimen_id for course in courses)
    courses, unplanned = readable_courses(courses, specs)
    drugs = dict(
        Regimen.objects.filter(pk__in={course.regimen_id for course in courses}).values_list("pk", "drug__brand_name")
    )
    visits = clinic_course_visits(clinic, courses)
    placed_on: dict[date, date] = {}  # target date -> the day it counts on, worked out once per date
    by_length: dict[int, list] = {}
    for course in courses:
        by_length.setdefault(_plan_length(specs(course.regimen_id), (end - today).days + 1), []).append(course)
    for length, group in sorted(by_length.items()):
        # A plan past the last day counts for nothing: it stops at its first dose due after it.
        doses = courses_doses(group, today=today, plan_length=length, specs=specs, visits=visits, plan_until=end)
        for course in group:
            _place(course, doses[course.pk].plan, days, calendar, today, end, drugs, placed_on)
    for entry in days.values():
        entry.peak_patients = _peak(entry.booked_intervals + _planned_intervals(entry.capacity, entry.planned))
    _suggest_moves(days, today, end, threshold)
    ordered = [days[day] for day in sorted(days)]
    week_rows = [
        ForecastWeek(
            monday=monday + timedelta(weeks=number),
            days=[
                day
                for day in ordered
                if monday + timedelta(weeks=number) <= day.day < monday + timedelta(weeks=number + 1)
            ],
        )
        for number in range(weeks)
    ]
    return Forecast(
        clinic=clinic,
        today=today,
        threshold=threshold,
        days=ordered,
        weeks=week_rows,
        courses=len(courses),
        unplanned_courses=unplanned,
    )


def _suggest_moves(days: dict[date, ForecastDay], today: date, end: date, threshold: int) -> None:
    """Name, for each planned dose on a flagged day, the lightest open days in its window it would fit."""
    # Read once: the properties add up each day's doses, and every dose asks about several days.
    needed = {day: entry.needed_minutes for day, entry in days.items()}
    flagged = {day for day, entry in days.items() if entry.flagged}
    light = {
        day: entry.capacity.chair_minutes
        for day, entry in days.items()
        if day not in flagged and entry.capacity.is_open and entry.capacity.chair_minutes
    }
    for day in sorted(flagged):
        entry = days[day]
        # Doses of a day share their windows and chair times often: each answer is worked out once.
        answers: dict[tuple, tuple[date, ...]] = {}
        for visit in entry.planned:
            key = (visit.earliest_date, visit.latest_date, visit.target_date, visit.minutes)
            if key not in answers:
                answers[key] = _lighter_days(visit, day, needed, light, today, end, threshold)
            visit.alternatives = answers[key]  # built by this forecast a moment ago, shared with no one


def _lighter_days(visit, day, needed, light, today, end, threshold) -> tuple[date, ...]:
    first, last = max(visit.earliest_date, today), min(visit.latest_date, end)
    candidates = []
    for other in days_between(first, last) if first <= last else ():
        capacity = light.get(other)
        if capacity is None or other == day:
            continue
        share = 100 * (needed[other] + visit.minutes) / capacity
        if share <= threshold:
            candidates.append((share, abs((other - visit.target_date).days), other))
    return tuple(other for _, _, other in sorted(candidates)[:ALTERNATIVES])


def forecast_day_shares(
    clinic: Clinic, start: date, end: date, *, exclude_course_id: int | None = None, today: date | None = None
) -> dict[date, float]:
    """{open day: chair time the forecast expects, as a share of the day's chair capacity}, cheaply.

    For the booking search's balanced choice: booked visits, plus each active course's next
    dose not yet booked (the stored `DoseState`) on the day it counts on, as the forecast places
    it. The doses after the next one are left out: a search looks a few weeks ahead, where the
    next doses are most of what is coming. Five queries whatever the number of courses
    (hours, closures, chairs, the booked visits, the stored next doses); `exclude_course_id` is
    the course being booked, whose own dose would otherwise weigh on its own target day.
    """
    today = today or clinic_today(clinic)
    calendar = clinic_capacity(clinic, start, end)
    needed: dict[date, int] = dict.fromkeys(calendar, 0)
    tz = clinic.tz
    for starts_at, ends_at in _booked_rows(clinic, start, end):
        day = starts_at.astimezone(tz).date()
        if day in needed:
            needed[day] += int((ends_at - starts_at).total_seconds() // 60)
    states = DoseState.objects.filter(
        clinic=clinic, target_date__isnull=False, target_date__lte=end, when_needed=False
    ).exclude(course_id=exclude_course_id)
    for target, premed, infusion, observation in states.values_list(
        "target_date", "premed_minutes", "infusion_minutes", "observation_minutes"
    ):
        day = _placed_day(target, today, calendar)
        if day in needed:
            needed[day] += premed + infusion + observation
    return {
        day: minutes / calendar[day].chair_minutes
        for day, minutes in needed.items()
        if calendar[day].is_open and calendar[day].chair_minutes
    }
