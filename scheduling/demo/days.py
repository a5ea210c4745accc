"""A demo clinic's days: where a visit may go, as the booking rules say, and where the demo puts it.

The free slots come from the availability search (`find_slots`), the same rules the
booking services check: opening hours and closures, the chair and the patient free for the
whole chair time, the nurses' limits on patients in chairs and on infusion starts, the
dose's earliest date. The search reads the appointments already written, so the demo
writes each course's visits before it plans the next course.

On top of the rules the demo keeps each nurse's share: the day's chairs are split in even
blocks between the nurses on duty (the nurse assignments it writes), and a block takes at
most `starts_per_nurse` arrivals and infusion starts per 15-minute slot, so each nurse's
roster keeps the per-nurse limits too. A block is never more chairs than one nurse may look
after at once (or it is the whole clinic, whose limit the search keeps).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from clinic.dosing import ChairTime
from clinic.models import Chair, Clinic, Closure
from scheduling.availability.search import START_SLOT_MINUTES, Slot, find_slots
from scheduling.demo.plans import ARRIVAL_LEAD, LONG_VISIT_MINUTES, ClinicPlan
from scheduling.models import NurseAssignment


@dataclass(frozen=True)
class Placement:
    """Where one visit goes: a chair from a start in the clinic's time zone, for a chair time."""

    chair: Chair
    starts_at: datetime  # aware, in the clinic's time zone
    chair_time: ChairTime

    @property
    def day(self) -> date:
        return self.starts_at.date()

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.chair_time.total_minutes)

    @property
    def start_slot(self) -> int:
        return (self.starts_at.hour * 60 + self.starts_at.minute) // START_SLOT_MINUTES

    @property
    def infusion_slot(self) -> int:
        minutes = self.starts_at.hour * 60 + self.starts_at.minute + self.chair_time.premed_minutes
        return minutes // START_SLOT_MINUTES


class ClinicDays:
    """One clinic's calendar as the demo fills it: the rules' free slots, each nurse's share."""

    def __init__(self, clinic: Clinic, plan: ClinicPlan, chairs: list[Chair], closures: list[Closure], now: datetime):
        self.clinic = clinic
        self.plan = plan
        self.chairs = chairs
        self.chairs_by_id = {chair.pk: chair for chair in chairs}
        self.positions = {chair.pk: index for index, chair in enumerate(chairs)}
        self.closures = [(closure.starts_on, closure.ends_on) for closure in closures]
        self.now = now
        # The visits placed that hold a chair, by local day (for each nurse's share).
        self.placed: dict[date, list[Placement]] = defaultdict(list)
        for nurses in plan.staffing.values():
            block = -(-len(chairs) // nurses)  # the largest block of chairs
            if nurses > 1 and block > clinic.patients_per_nurse:
                raise ValueError(
                    f"{clinic.name}: {nurses} nurses share {len(chairs)} chairs in blocks of up to {block}, more "
                    f"than the {clinic.patients_per_nurse} patients one nurse may look after at once."
                )

    def is_open(self, day: date) -> bool:
        if day.weekday() not in self.plan.hours or not self.plan.staffing.get(day.weekday()):
            return False
        return not any(first <= day <= last for first, last in self.closures)

    def team(self, chair: Chair, day: date) -> int:
        """Which of the day's nurses looks after `chair`: the chairs in order, split into even blocks."""
        nurses = self.plan.staffing.get(day.weekday(), 0) or 1
        return self.positions[chair.pk] * nurses // len(self.chairs)

    def free_slots(
        self,
        chair_time: ChairTime,
        first_day: date,
        last_day: date,
        *,
        earliest_date: date | None = None,
        patient_id: int | None = None,
        from_now: bool = False,
    ) -> dict[date, list[Slot]]:
        """The slots the booking rules allow from `first_day` to `last_day` that keep each nurse's share.

        The search sees the days as the front desk saw them when booking: from the start of
        `first_day`, or (`from_now`) only the starts still ahead once a patient could arrive,
        for a booking the services make now.
        """
        day_start = datetime.combine(first_day, time.min, tzinfo=self.clinic.tz)
        found = find_slots(
            clinic=self.clinic,
            chair_time=chair_time,
            start=first_day,
            end=last_day,
            patient_id=patient_id,
            earliest_date=earliest_date,
            now=self.now + ARRIVAL_LEAD if from_now else min(self.now, day_start),
        )
        by_day: dict[date, list[Slot]] = defaultdict(list)
        full: dict[date, set[tuple[int, str, int]]] = {}
        for slot in found.slots:
            day = slot.local_day
            if day not in full:
                full[day] = self._nurse_slots_full(day)
            if not self._nurse_slots(self._placement(slot, chair_time)) & full[day]:
                by_day[day].append(slot)
        return by_day

    def _placement(self, slot: Slot, chair_time: ChairTime) -> Placement:
        return Placement(self.chairs_by_id[slot.chair_id], slot.local_start, chair_time)

    def _nurse_slots(self, placement: Placement) -> set[tuple[int, str, int]]:
        """The 15-minute slots of its nurse that a visit takes: the arrival in the chair, the infusion start."""
        team = self.team(placement.chair, placement.day)
        return {(team, "chair", placement.start_slot), (team, "infusion", placement.infusion_slot)}

    def _nurse_slots_full(self, day: date) -> set[tuple[int, str, int]]:
        """The nurses' slots of `day` that already have as many starts as one nurse may make."""
        counts: dict[tuple[int, str, int], int] = defaultdict(int)
        for other in self.placed[day]:
            for key in self._nurse_slots(other):
                counts[key] += 1
        return {key for key, count in counts.items() if count >= self.clinic.starts_per_nurse}

    def choose(self, rng: random.Random, slots: list[Slot], chair_time: ChairTime) -> Placement | None:
        """One of the slots: most people come in the morning (long infusions have to), beds for long visits."""
        if not slots:
            return None
        starts = sorted({slot.starts_at for slot in slots})
        start = starts[min(int(rng.expovariate(1 / 4)), len(starts) - 1)]
        long_visit = chair_time.total_minutes >= LONG_VISIT_MINUTES
        at_start = [self._placement(slot, chair_time) for slot in slots if slot.starts_at == start]
        at_start.sort(key=lambda placement: (placement.chair.kind == Chair.Kind.BED) != long_visit)
        return rng.choice(at_start[:2])

    def choose_on(
        self, rng: random.Random, day: date, chair_time: ChairTime, *, patient_id: int | None = None
    ) -> Placement | None:
        return self.choose(rng, self.free_slots(chair_time, day, day, patient_id=patient_id)[day], chair_time)

    def add(self, placement: Placement) -> None:
        self.placed[placement.day].append(placement)

    def remove(self, placement: Placement) -> None:
        self.placed[placement.day].remove(placement)

    def nurse_assignments_write(self, *, today: date, days_back: int, days_ahead: int, team: list, by) -> None:
        """Each open day's chairs split between the nurses on duty, as the placements assumed."""
        assignments = []
        day = today - timedelta(days=days_back)
        while day <= today + timedelta(days=days_ahead):
            if self.is_open(day):
                for chair in self.chairs:
                    nurse = team[min(self.team(chair, day), len(team) - 1)]
                    assignments.append(
                        NurseAssignment(clinic=self.clinic, day=day, chair=chair, nurse=nurse, assigned_by=by)
                    )
            day += timedelta(days=1)
        NurseAssignment.objects.bulk_create(assignments)
