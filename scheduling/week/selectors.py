"""What the week view shows: a clinic's chairs by days, each day's occupancy, and a course's free starts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from clinic.models import Chair, Clinic
from patients.models import TreatmentCourse
from scheduling.availability.day import Slot, closure_on
from scheduling.availability.loading import closures_between, opening_hours
from scheduling.availability.search import SearchResult, find_slots_for_course
from scheduling.doses import clinic_today
from scheduling.models import Appointment

FREE_STARTS_PER_CELL = 6  # free starts shown at once in one chair's day; the rest one click away


@dataclass(frozen=True)
class WeekDay:
    """One column: the day, why it is closed ("" when open), and the share of chair time booked."""

    day: date
    closed: str
    occupancy: int | None  # percent of the open chair time booked; None on a closed day
    today: bool = False


@dataclass(frozen=True)
class WeekCell:
    day: date
    appointments: list[Appointment]
    free: list[Slot]  # the first free starts, shown at once
    more: list[Slot] = field(default_factory=list)  # the rest, behind "n more starts"


@dataclass(frozen=True)
class WeekRow:
    chair: Chair
    cells: list[WeekCell]


@dataclass(frozen=True)
class Week:
    clinic: Clinic
    monday: date
    today: date
    header: list[WeekDay]
    rows: list[WeekRow]
    search: SearchResult | None = None  # the course's free slots, when a course is picking one
    days: list[date] = field(default_factory=list)


def clinic_week(clinic: Clinic, *, anchor: date | None = None, course: TreatmentCourse | None = None) -> Week:
    """The week (Monday to Sunday) holding `anchor` (default today, in the clinic's time zone).

    With an active course, the free slots for its next dose from today on are placed in
    their chairs' days. Five queries, and the search's when a course is given.
    """
    tz = clinic.tz
    today = clinic_today(clinic)
    anchor = anchor or today
    monday = anchor - timedelta(days=anchor.weekday())
    days = [monday + timedelta(days=offset) for offset in range(7)]
    chairs = list(Chair.objects.filter(clinic=clinic, active=True))
    appointments = (
        Appointment.objects.active()
        .filter(
            clinic=clinic,
            starts_at__gte=datetime.combine(monday, time.min, tzinfo=tz),
            starts_at__lt=datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz),
        )
        .select_related("patient", "course__regimen__drug")
    )
    cells: dict[tuple[int, date], list[Appointment]] = defaultdict(list)
    booked_minutes: dict[date, int] = defaultdict(int)
    for appointment in appointments:
        day = appointment.starts_at.astimezone(tz).date()
        cells[(appointment.chair_id, day)].append(appointment)
        booked_minutes[day] += int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)

    search = None
    free: dict[tuple[int, date], list[Slot]] = defaultdict(list)
    if course is not None and course.status == TreatmentCourse.Status.ACTIVE:
        search = find_slots_for_course(course, start=max(monday, today), end=max(days[-1], today))
        for slot in search.slots if search else []:
            free[(slot.chair_id, slot.local_day)].append(slot)

    hours = opening_hours(clinic)
    closures = closures_between(clinic, monday, days[-1])
    header = []
    for day in days:
        closure = closure_on(closures, day)
        opening = hours.get(day.weekday())
        if closure or opening is None:
            header.append(WeekDay(day, closure or "Closed", None))
            continue
        opens, closes, _nurses = opening
        open_minutes = (
            datetime.combine(day, closes, tzinfo=tz) - datetime.combine(day, opens, tzinfo=tz)
        ).total_seconds() // 60
        capacity = open_minutes * len(chairs)
        occupancy = round(100 * booked_minutes[day] / capacity) if capacity else 0
        header.append(WeekDay(day, "", occupancy, today=day == today))
    rows = [
        WeekRow(
            chair,
            [
                WeekCell(
                    day,
                    cells[(chair.pk, day)],
                    free[(chair.pk, day)][:FREE_STARTS_PER_CELL],
                    free[(chair.pk, day)][FREE_STARTS_PER_CELL:],
                )
                for day in days
            ],
        )
        for chair in chairs
    ]
    return Week(clinic=clinic, monday=monday, today=today, header=header, rows=rows, search=search, days=days)
