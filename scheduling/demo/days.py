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

The fill that makes the clinic busy (`filling`) places hundreds of visits more; asking the
search for each would take minutes, so `fit` answers from the placements in memory, with
the same rules counted the same way (patients in chairs at each moment, infusion starts
and arrivals per 15-minute slot, for the clinic and for each nurse's block). The coming
visits are then booked through the booking services, which check every rule again.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
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
        self._boards: dict[date, _Board] = {}
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
        board = self._boards.get(placement.day)
        if board is not None:
            board.add(placement, self.team(placement.chair, placement.day))

    def remove(self, placement: Placement) -> None:
        self.placed[placement.day].remove(placement)
        self._boards.pop(placement.day, None)  # rebuilt from the placements when next asked

    def capacity_minutes(self, day: date) -> int:
        """The day's open chair time: what the week view divides the booked chair time by."""
        if not self.is_open(day):
            return 0
        opens, closes = self.plan.hours[day.weekday()]
        return _clock(closes) - _clock(opens)

    def booked_minutes(self, day: date) -> int:
        return sum(placement.chair_time.total_minutes for placement in self.placed[day])

    def largest_gap(self, day: date) -> int:
        """The longest stretch of minutes some chair is free on `day` (nurse rules aside)."""
        return self._board(day).largest_gap()

    def fit(
        self,
        rng: random.Random,
        day: date,
        chair_time: ChairTime,
        *,
        spread: bool = False,
        starts: tuple[datetime, datetime] | None = None,
    ) -> Placement | None:
        """A place for the visit on `day` that keeps every rule, packed against the visits there.

        Of the starts that fit, the one that wastes the least chair time: right after the
        chair's previous visit, leaving a gap after it that another visit can still use. With
        `spread`, any start that fits, so that patients come and go all day; with `starts`, a
        start between those two moments.
        """
        if not self.is_open(day):
            return None
        board = self._board(day)
        window = None
        if starts is not None:
            opened = datetime.combine(day, board.opens, tzinfo=self.clinic.tz)
            window = tuple(int((moment - opened).total_seconds() // 60) for moment in starts)
        found = board.best(chair_time, lambda chair: self.team(chair, day), rng, spread=spread, window=window)
        if found is None:
            return None
        chair, offset = found
        starts_at = datetime.combine(day, board.opens, tzinfo=self.clinic.tz) + timedelta(minutes=offset)
        return Placement(chair, starts_at, chair_time)

    def _board(self, day: date) -> _Board:
        board = self._boards.get(day)
        if board is None:
            opens, closes = self.plan.hours[day.weekday()]
            nurses = self.plan.staffing[day.weekday()]
            board = _Board(self.clinic, self.chairs, opens, closes, nurses)
            for placement in self.placed[day]:
                board.add(placement, self.team(placement.chair, day))
            self._boards[day] = board
        return board

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


def _clock(moment: time) -> int:
    return moment.hour * 60 + moment.minute


CELL = 5  # minutes: every chair time and start is a multiple of it
USEFUL_GAP = 55  # a gap in a chair shorter than the shortest visit is chair time lost


class _Board:
    """One open day's load in memory: chairs' visits, patients in chairs, starts per slot."""

    def __init__(self, clinic: Clinic, chairs: list[Chair], opens: time, closes: time, nurses: int):
        self.chairs = chairs
        self.opens = opens
        self.open_minute = _clock(opens)
        self.length = _clock(closes) - self.open_minute
        self.grid = clinic.slot_minutes
        self.capacity = nurses * clinic.patients_per_nurse
        self.start_capacity = nurses * clinic.starts_per_nurse
        self.starts_per_nurse = clinic.starts_per_nurse
        self.in_chairs = [0] * (self.length // CELL + 1)
        self.chair_busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self.arrivals: Counter = Counter()  # the clinic's chair starts per 15-minute slot of the clock
        self.infusions: Counter = Counter()  # the clinic's infusion starts per slot
        self.nurse_slots: Counter = Counter()  # (team, "chair" or "infusion", slot)

    def add(self, placement: Placement, team: int) -> None:
        start = _clock(placement.starts_at.timetz()) - self.open_minute
        end = start + placement.chair_time.total_minutes
        self.chair_busy[placement.chair.pk].append((start, end))
        self.chair_busy[placement.chair.pk].sort()
        for cell in range(max(start, 0) // CELL, min(-(-end // CELL), len(self.in_chairs))):
            self.in_chairs[cell] += 1
        arrival, infusion = self._slots(start, placement.chair_time.premed_minutes)
        self.arrivals[arrival] += 1
        self.infusions[infusion] += 1
        self.nurse_slots[(team, "chair", arrival)] += 1
        self.nurse_slots[(team, "infusion", infusion)] += 1

    def _slots(self, start: int, premed: int) -> tuple[int, int]:
        minute = self.open_minute + start
        return minute // START_SLOT_MINUTES, (minute + premed) // START_SLOT_MINUTES

    def largest_gap(self) -> int:
        longest = 0
        for chair in self.chairs:
            cursor = 0
            for start, end in [*self.chair_busy.get(chair.pk, []), (self.length, self.length)]:
                longest = max(longest, start - cursor)
                cursor = max(cursor, end)
        return longest

    def _allowed(self, start: int, chair_time: ChairTime, team: int) -> bool:
        end = start + chair_time.total_minutes
        if max(self.in_chairs[start // CELL : -(-end // CELL)]) + 1 > self.capacity:
            return False
        arrival, infusion = self._slots(start, chair_time.premed_minutes)
        if self.arrivals[arrival] + 1 > self.start_capacity or self.infusions[infusion] + 1 > self.start_capacity:
            return False
        return (
            self.nurse_slots[(team, "chair", arrival)] < self.starts_per_nurse
            and self.nurse_slots[(team, "infusion", infusion)] < self.starts_per_nurse
        )

    def best(
        self,
        chair_time: ChairTime,
        team_of,
        rng: random.Random,
        *,
        spread: bool = False,
        window: tuple[int, int] | None = None,
    ) -> tuple[Chair, int] | None:
        duration = chair_time.total_minutes
        best: tuple[tuple[float, float], Chair, int] | None = None
        for chair in self.chairs:
            team = team_of(chair)
            cursor = 0
            for busy_start, busy_end in [*self.chair_busy.get(chair.pk, []), (self.length, self.length)]:
                first = -(-cursor // self.grid) * self.grid
                # A few starts from the gap's beginning: later ones only waste the chair.
                last = busy_start - duration if spread else min(busy_start - duration, first + 4 * self.grid)
                if window is not None:
                    first = max(first, -(-window[0] // self.grid) * self.grid)
                    last = min(busy_start - duration, window[1])
                for start in range(first, last + 1, self.grid):
                    if self._allowed(start, chair_time, team):
                        after = busy_start - start - duration
                        waste = start - cursor + (after if after < USEFUL_GAP else 0)
                        score = (rng.random(), 0.0) if spread else (waste, rng.random())
                        if best is None or score < best[0]:
                            best = (score, chair, start)
                        if not spread:
                            break
                cursor = max(cursor, busy_end)
        return None if best is None else (best[1], best[2])
