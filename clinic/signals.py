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


# --- A change to a shared regimen ---------------------------------------------------------------
#
# `regimen_change_preview` is sent before a regimen change is confirmed and again as it is
# applied, with `regimen` (as saved), `proposed` (a `clinic.dosing.RegimenSpec` with the new
# values, before any clinic's own chair time) and `now`; a receiver runs the dose rules both ways
# over the regimen's active courses and future booked visits and returns a `RegimenEffects`.
# `regimen_change_applied` is sent once the new values are saved, in the same transaction, with
# `change` (the RegimenChange) and `unfit_visits` (appointment ids outside their new window); a
# receiver refreshes what it stores from the regimen and notes the visits for the front desk.


@dataclass(frozen=True)
class ClinicEffect:
    """What a regimen change does at one clinic: counts only, never a patient."""

    clinic: str
    courses: int = 0  # active courses on the regimen
    booked: int = 0  # future booked visits of those courses
    next_later: int = 0  # courses whose next (unbooked) dose moves later
    next_earlier: int = 0
    next_gone: int = 0  # courses with no further dose under the new values
    next_added: int = 0  # courses with a further dose where there was none
    next_window: int = 0  # courses whose next dose keeps its date but not its window
    next_chair_time: tuple[tuple[int, int], ...] = ()  # (minutes more or less, courses)
    booked_outside: int = 0  # booked visits inside the old window, outside the new one
    booked_inside: int = 0  # booked visits outside the old window, inside the new one
    booked_chair_time: tuple[tuple[int, int], ...] = ()  # (minutes more or less, booked visits)

    @property
    def changes_anything(self) -> bool:
        return any(
            (
                self.next_later,
                self.next_earlier,
                self.next_gone,
                self.next_added,
                self.next_window,
                self.next_chair_time,
                self.booked_outside,
                self.booked_inside,
                self.booked_chair_time,
            )
        )


@dataclass(frozen=True)
class RegimenEffects:
    clinics: tuple[ClinicEffect, ...] = ()
    unfit_visits: tuple[int, ...] = ()  # appointment ids: for the front desk's note, never shown to the formulary


def combined_effects(responses) -> RegimenEffects:
    """The effects the receivers of `regimen_change_preview` returned, as one."""
    answers = [answer for _receiver, answer in responses if isinstance(answer, RegimenEffects)]
    return RegimenEffects(
        clinics=tuple(sorted((item for answer in answers for item in answer.clinics), key=lambda item: item.clinic)),
        unfit_visits=tuple(visit for answer in answers for visit in answer.unfit_visits),
    )


regimen_change_preview = Signal()
regimen_change_applied = Signal()
