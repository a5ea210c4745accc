"""What a change of the clinic's clock does to the visits booked there, asked of the apps that hold them.

The clinic app knows nothing of appointments or reminders: they belong to the apps above it.
So the clinic's admin asks through these signals, and the scheduling app answers them.

`clinic_schedule_preview` is sent before a time-zone change is saved, with `clinic` (as
saved) and `time_zone` (the new IANA name); a receiver returns a `SchedulePreview` of the
clinic's future booked visits.

`clinic_schedule_changed` is sent once the clinic's time zone, reminder hour or reminder
days were changed and saved, inside the same transaction, with `clinic` and `changed` (the
names of the fields changed); a receiver re-plans the reminders it owns and returns a
`SchedulePreview` of the future booked visits as they now stand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.dispatch import Signal

from clinic import dates

# The clinic fields that decide when a booked visit is shown and reminded, in local time.
SCHEDULE_FIELDS = ("time_zone", "reminder_local_time", "reminder_days_before")


@dataclass(frozen=True)
class VisitClock:
    """One future booked visit: its local start before and after the change, and whether it fits the hours."""

    before: datetime  # local start in the saved time zone
    after: datetime  # local start in the new time zone (the same moment)
    ends_after: datetime  # local end in the new time zone
    chair: str
    outside_hours: bool

    def label(self) -> str:
        """The visit by date and time only: what the admin shows, with no patient in it."""
        return f"{dates.weekday_moment(self.after)}–{self.ends_after:%H:%M} ({self.chair})"


@dataclass(frozen=True)
class SchedulePreview:
    visits: tuple[VisitClock, ...] = ()

    @property
    def outside_hours(self) -> tuple[VisitClock, ...]:
        return tuple(visit for visit in self.visits if visit.outside_hours)


def combined(responses) -> SchedulePreview:
    """The previews the receivers of a signal returned, as one."""
    visits = [
        visit for _receiver, answer in responses if isinstance(answer, SchedulePreview) for visit in answer.visits
    ]
    return SchedulePreview(tuple(sorted(visits, key=lambda visit: visit.after)))


clinic_schedule_preview = Signal()
clinic_schedule_changed = Signal()
