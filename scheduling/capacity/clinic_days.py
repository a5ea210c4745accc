"""A clinic's capacity day by day: open minutes x chairs, and nurses on duty x patients per nurse.

Read in three queries whatever the range (opening hours with staffing, closures, chairs), through
the availability area's loaders, so the forecast and the utilisation figures count the same
capacity the booking search books against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from clinic.models import Clinic
from scheduling.availability.day import closure_on
from scheduling.availability.loading import bookable_chairs, closures_between, opening_hours


@dataclass(frozen=True)
class DayCapacity:
    day: date
    opens: time | None  # None: closed (no hours that weekday, or a closure)
    closes: time | None
    chairs: int
    nurses: int
    patients_per_nurse: int
    starts_per_slot: int  # infusion starts the nurses on duty may make in one 15-minute slot
    closure: str = ""  # the closure's reason, when one shuts the day

    @property
    def is_open(self) -> bool:
        return self.opens is not None

    @property
    def open_minutes(self) -> int:
        if not self.is_open:
            return 0
        return int(
            (datetime.combine(self.day, self.closes) - datetime.combine(self.day, self.opens)).total_seconds() // 60
        )

    @property
    def chair_minutes(self) -> int:
        """Open hours x active chairs, in minutes."""
        return self.open_minutes * self.chairs

    @property
    def nurse_capacity(self) -> int:
        """Patients the nurses on duty may look after at once (nurses x patients per nurse)."""
        return self.nurses * self.patients_per_nurse if self.is_open else 0


def percent_text(value: float | None) -> str:
    """A share as the pages print it: "72%", "no capacity" when there is load and none to hold it, "-" for neither."""
    if value is None:
        return "-"
    if value == float("inf"):
        return "no capacity"
    return f"{value:.0f}%"


def hours_text(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def clinic_capacity(clinic: Clinic, start: date, end: date) -> dict[date, DayCapacity]:
    """{local day: its capacity} for every day from `start` to `end`, in three queries."""
    hours = opening_hours(clinic)
    closures = closures_between(clinic, start, end)
    chairs = len(bookable_chairs(clinic))
    result = {}
    for day in days_between(start, end):
        opens, closes, nurses = hours.get(day.weekday(), (None, None, 0))
        closure = closure_on(closures, day) or ""
        if closure:
            opens = closes = None
        result[day] = DayCapacity(
            day=day,
            opens=opens,
            closes=closes,
            chairs=chairs,
            nurses=nurses if opens is not None else 0,
            patients_per_nurse=clinic.patients_per_nurse,
            starts_per_slot=max(nurses * clinic.starts_per_nurse, 1),
            closure=closure,
        )
    return result
