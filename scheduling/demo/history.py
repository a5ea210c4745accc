"""One course's story up to today: the doses given, and a missed visit where the story has one.

Each dose's target date, earliest date and chair time come from the dosing rules
(`clinic.dosing`) over the regimen's phases and the doses given before it; each goes on an
open day near its target in a slot the booking rules allow (`ClinicDays`). The story is
planned before anything is written: a course's own visits never share a day, so its plan
needs only the other courses' visits, which are in the database already.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from clinic.dosing import GivenDose, PlannedDose, RegimenSpec, next_dose
from clinic.models import Regimen
from scheduling.demo.days import ClinicDays, Placement
from scheduling.demo.plans import ARRIVAL_LEAD, ClinicPlan
from scheduling.models import Appointment

# Days searched at once when looking for the first day with room.
SEARCH_CHUNK_DAYS = 7


@dataclass
class Visit:
    """One appointment to write: a dose given, booked, missed or cancelled."""

    dose: PlannedDose
    placement: Placement
    status: str
    serious_reaction: bool = False
    infusion_reaction: bool = False
    hypersensitivity: bool = False
    cancel_reason: str = ""
    # How the day of the visit went: how early the patient came, how late (after the start),
    # how much longer the infusion ran than planned, and the nurse's note on it.
    arrival_lead: timedelta = ARRIVAL_LEAD
    late_by: timedelta = timedelta(0)
    slowed_by: timedelta = timedelta(0)
    note: str = ""

    def as_given(self) -> GivenDose:
        return GivenDose(
            self.placement.day,
            serious_reaction=self.serious_reaction,
            reaction=self.infusion_reaction,
            hypersensitivity=self.hypersensitivity,
        )

    @property
    def arrives_at(self) -> datetime:
        if self.late_by:
            return self.placement.starts_at + self.late_by
        return self.placement.starts_at - self.arrival_lead


@dataclass
class CourseStory:
    clinic_plan: ClinicPlan
    days: ClinicDays
    patient_key: int
    regimen: Regimen
    spec: RegimenSpec
    options: dict
    story: str
    flags: frozenset[str]
    start_date: date
    today: date
    given: list[Visit] = field(default_factory=list)
    others: list[Visit] = field(default_factory=list)

    def history(self) -> list[GivenDose]:
        return [visit.as_given() for visit in self.given]

    def next_dose(self, given: list[GivenDose] | None = None) -> PlannedDose | None:
        return next_dose(
            self.spec,
            start_date=self.start_date,
            given=self.history() if given is None else given,
            options=self.options,
            today=self.today,
            due_soon_days=self.days.clinic.due_soon_days,
        )


def first_fit(
    days: ClinicDays,
    rng: random.Random,
    dose: PlannedDose,
    day: date,
    last_day: date,
    *,
    block_days: tuple[int, ...] = (),
    patient_id: int | None = None,
    from_now: bool = False,
) -> Placement | None:
    """The first day from `day` to `last_day` with room for the dose, and for its block on the days after.

    `block_days` are the offsets of the block's later doses from this one, each needing a
    free slot of the same length on its day.
    """
    chair_time = dose.chair_time
    span = max(block_days, default=0)
    chunk = 1  # the day wanted first: most often it has room
    while day <= last_day:
        chunk_end = min(day + timedelta(days=chunk - 1), last_day)
        slots = days.free_slots(
            chair_time,
            day,
            chunk_end + timedelta(days=span),
            earliest_date=dose.earliest_date,
            patient_id=patient_id,
            from_now=from_now,
        )
        while day <= chunk_end:
            if slots[day] and all(slots[day + timedelta(days=offset)] for offset in block_days):
                return days.choose(rng, slots[day], chair_time)
            day += timedelta(days=1)
        chunk = SEARCH_CHUNK_DAYS
    return None


def block_offsets(spec: RegimenSpec, dose: PlannedDose) -> tuple[int, ...]:
    """Days from this dose to each later dose of its block (Lemtrada's consecutive days)."""
    spacing = next((phase.spacing_days for phase in spec.phases if phase.position == dose.phase_position), None)
    return tuple((spacing or 1) * index for index in range(1, dose.block_size - dose.dose_in_block + 1))


def story_window(story: CourseStory) -> tuple[date, date] | None:
    """Where a flagged story wants its next dose's target date: due now, overdue, or just missed."""
    today, late = story.today, story.regimen.late_window_days
    if "overdue" in story.flags:
        return today - timedelta(days=late + 40), today - timedelta(days=late + 3)
    if "no_show" in story.flags:
        return today - timedelta(days=14), today - timedelta(days=2)
    if "unbooked" in story.flags:
        return today - timedelta(days=3), today + timedelta(days=story.days.clinic.due_soon_days - 3)
    return None


def course_live(story: CourseStory, rng: random.Random) -> None:
    """Give the course's doses up to today; a flagged story ends with its next dose where it wants it.

    A dose due in the story's window is left ungiven (the patient did not come, or has not
    booked). An established course whose next dose falls outside the window starts again from
    a start date moved by the difference, so the story holds whatever today is.
    """
    window = story_window(story)
    for _attempt in range(4):
        _give_history(story, rng, until=window[1] if window else None)
        if window is None:
            return
        dose = story.next_dose()
        if dose is None or dose.when_needed or window[0] <= dose.target_date <= window[1]:
            break
        if story.story != "established":
            break
        for visit in story.given:
            story.days.remove(visit.placement)
        story.given.clear()
        story.start_date += (window[0] + (window[1] - window[0]) / 2) - dose.target_date
    if "no_show" in story.flags:
        dose = story.next_dose()
        if dose is not None and dose.target_date < story.today:
            day = max(dose.target_date, dose.earliest_date)
            placement = first_fit(story.days, rng, dose, day, story.today - timedelta(days=1))
            if placement is not None:
                # A no-show does not hold the chair, so other visits may take it.
                story.others.append(Visit(dose, placement, Appointment.Status.NO_SHOW))


def _give_history(story: CourseStory, rng: random.Random, *, until: date | None) -> None:
    """Doses given before today, each on an open day near its target date, as the regimen asks.

    With `until`, a dose is given only if the one after it is still due by then (the first
    dose always is), so the story's next dose stays in its window.
    """
    days = story.days
    while True:
        dose = story.next_dose()
        if dose is None or dose.when_needed:
            return
        if dose.dose_in_block > 1:
            day = dose.target_date  # consecutive days of a block: exactly as planned
            if day >= story.today:
                return
            placement = days.choose_on(rng, day, dose.chair_time)
        else:
            # A few days late at times, but not a course under way: its days are planned around today.
            late = 0 if story.story == "lemtrada_in_progress" else rng.choice((0, 0, 0, 1, 1, 2, 3, 6))
            day = max(dose.earliest_date, dose.target_date + timedelta(days=late))
            if day >= story.today:
                return
            placement = first_fit(
                days, rng, dose, day, story.today - timedelta(days=1), block_days=block_offsets(story.spec, dose)
            )
        if placement is None:
            return
        visit = Visit(dose, placement, Appointment.Status.COMPLETED)
        # A reaction is recorded as it happens, so the chair times after it follow from it.
        if "reaction" in story.flags and dose.dose_number == 2:
            visit.infusion_reaction = True
        if "serious_reaction" in story.flags and dose.dose_number == 3:
            # Throat tightness and wheeze: serious, and it looked like hypersensitivity.
            visit.infusion_reaction = visit.serious_reaction = visit.hypersensitivity = True
        if until is not None and story.given:
            after = story.next_dose([*story.history(), visit.as_given()])
            if after is None or after.target_date > until:
                return
        days.add(placement)
        story.given.append(visit)
