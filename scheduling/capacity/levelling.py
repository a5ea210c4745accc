"""Levelling a clinic day: which booked visits to move so fewer patients sit in chairs per nurse at once.

Pure: plain values in, plain values out, no database. The selectors load a day's visits,
chairs, staffing, opening hours and each visit's allowed days (its dose window, the clinic's
per-patient limit, never before the earliest date); the services apply the moves through the
booking services. Times are whole minutes from the opening of each visit's day; infusion starts
are counted per 15-minute slot of the clock (`opens + start + premedication`), as the booking
search counts them.

What a day is judged by:

- **peak**: the most patients in chairs at any moment; per nurse, that over nurses on duty;
- **staggered-start conflicts**: infusion starts that share a 15-minute slot with another
  start (a slot with k starts counts k - 1): one nurse starts one infusion at a time, so
  each is a patient waiting for a nurse.

The greedy answer moves one visit at a time off the levelled day's busiest moments, each
move checked against every rule in the state it is made in. CP-SAT (OR-Tools) then searches,
from the greedy answer as a hint and within a time limit, for fewer patients at the peak,
then fewer conflicts, then fewer moves. Its answer is kept only when it is better than the
greedy one once it has chairs and an order in which every move, made one after the other,
keeps the rules; the answer is never worse than the day it was given, on any day it touches.
Visits that are not movable (series, started, past) stay where they are.
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

START_SLOT_MINUTES = 15
GREEDY_PASSES = 6  # passes over the day's visits, each moving those that help
GREEDY_TRIES = 12  # places tried per visit, best first, until one has a free chair


@dataclass(frozen=True, slots=True)
class DayInput:
    """One open clinic day."""

    day: date
    opens: int  # epoch minutes of the opening (for the 15-minute slots of the clock)
    length: int  # minutes open
    nurses: int
    patients_per_nurse: int
    starts_per_nurse: int
    chairs: tuple[int, ...]  # chair ids, in the clinic's order
    grid: int = 15  # starts lie on this grid from opening
    first_start: int = 0  # no visit may start before this offset (now, on today)

    @property
    def capacity(self) -> int:
        return self.nurses * self.patients_per_nurse

    @property
    def start_capacity(self) -> int:
        return self.nurses * self.starts_per_nurse

    def slot_of(self, offset: int) -> int:
        return (self.opens + offset) // START_SLOT_MINUTES


@dataclass(frozen=True, slots=True)
class VisitInput:
    """A booked visit: where it is, how long, and the days it may move to (none: it stays)."""

    key: int  # the appointment id
    patient_id: int
    day: date
    chair_id: int
    start: int  # minutes from its day's opening
    minutes: int  # whole chair time
    premed: int  # premedication minutes: the infusion starts after them
    days: tuple[date, ...] = ()  # days it may be on, its own included; empty: it does not move


@dataclass(frozen=True, slots=True)
class Busy:
    """The patient elsewhere (another clinic): a time on one of the days that their visits must avoid."""

    patient_id: int
    day: date
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Place:
    day: date
    start: int
    chair_id: int


@dataclass(frozen=True, slots=True)
class Move:
    key: int
    before: Place
    after: Place


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    peak: int  # most patients in chairs at once
    nurses: int
    capacity: int
    conflicts: int  # infusion starts sharing a 15-minute slot with another
    load: tuple[int, ...]  # patients in chairs at each minute after opening

    @property
    def per_nurse(self) -> float:
        return self.peak / self.nurses if self.nurses else 0.0


@dataclass
class Problem:
    """Everything the solver needs: the days, the visits on them, the patients' other commitments."""

    levelled: date  # the day whose peak is lowered; the others only receive visits
    days: dict[date, DayInput]
    visits: list[VisitInput]
    busy: list[Busy] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_key = {visit.key: visit for visit in self.visits}


@dataclass
class Result:
    moves: list[Move]  # in the order they are to be made
    before: dict[date, DayFigures]
    after: dict[date, DayFigures]
    method: str  # "cp-sat", "greedy" or "none"
    seconds: float
    status: str = ""  # the solver's status, for the bench and the logs

    @property
    def improved(self) -> bool:
        return bool(self.moves)


# --- Figures and rules ---------------------------------------------------------------------


def _start_slot(info: DayInput, visit: VisitInput, start: int) -> int:
    return info.slot_of(start + visit.premed)


def figures(problem: Problem, places: dict[int, Place]) -> dict[date, DayFigures]:
    """Each day's peak, conflicts and minute-by-minute load with the visits at `places`."""
    result = {}
    for day, info in problem.days.items():
        diff = [0] * (info.length + 1)
        starts: dict[int, int] = defaultdict(int)
        for visit in problem.visits:
            place = places[visit.key]
            if place.day != day:
                continue
            first, last = max(place.start, 0), min(place.start + visit.minutes, info.length)
            diff[first] += 1
            diff[last] -= 1
            starts[_start_slot(info, visit, place.start)] += 1
        load, current = [], 0
        for change in diff[: info.length]:
            current += change
            load.append(current)
        result[day] = DayFigures(
            day=day,
            peak=max(load, default=0),
            nurses=info.nurses,
            capacity=info.capacity,
            conflicts=sum(count - 1 for count in starts.values() if count > 1),
            load=tuple(load),
        )
    return result


def rules_broken(problem: Problem, places: dict[int, Place]) -> list[str]:
    """Every rule the visits at `places` break, one sentence each (none is what every answer must give)."""
    broken = []
    chairs: dict[tuple[date, int], list[tuple[int, int, int]]] = defaultdict(list)
    patients: dict[tuple[date, int], list[tuple[int, int, int]]] = defaultdict(list)
    starts: dict[tuple[date, int], int] = defaultdict(int)
    for visit in problem.visits:
        place = places[visit.key]
        info = problem.days.get(place.day)
        if info is None:
            broken.append(f"visit {visit.key} is on {place.day}, not an open day")
            continue
        if place.start < 0 or place.start + visit.minutes > info.length:
            broken.append(f"visit {visit.key} is outside the opening hours")
        if place.chair_id not in info.chairs:
            broken.append(f"visit {visit.key} is in chair {place.chair_id}, not one of the clinic's")
        moved = place != Place(visit.day, visit.start, visit.chair_id)
        if moved:
            if place.day not in visit.days:
                broken.append(f"visit {visit.key} moved to {place.day}, outside its allowed days")
            if place.start < info.first_start or place.start % info.grid:
                broken.append(f"visit {visit.key} moved to a start in the past or off the grid")
        chairs[(place.day, place.chair_id)].append((place.start, place.start + visit.minutes, visit.key))
        patients[(place.day, visit.patient_id)].append((place.start, place.start + visit.minutes, visit.key))
        starts[(place.day, _start_slot(info, visit, place.start))] += 1
    for busy in problem.busy:
        patients[(busy.day, busy.patient_id)].append((busy.start, busy.end, -1))
    for (day, chair), rows in chairs.items():
        if _overlapping(rows):
            broken.append(f"chair {chair} holds two visits at once on {day}")
    for (day, patient), rows in patients.items():
        if _overlapping(rows):
            broken.append(f"patient {patient} has two visits at once on {day}")
    for (day, _slot), count in starts.items():
        if count > problem.days[day].start_capacity:
            broken.append(f"{count} infusion starts in one 15-minute slot on {day}")
    for day, figure in figures(problem, places).items():
        if figure.peak > figure.capacity:
            broken.append(f"{figure.peak} patients in chairs on {day}, more than the nurses' {figure.capacity}")
    return broken


def _overlapping(rows: list[tuple[int, int, int]]) -> bool:
    rows = sorted(rows)
    return any(later[0] < earlier[1] for earlier, later in zip(rows, rows[1:], strict=False))


def _key(problem: Problem, after: dict[date, DayFigures], moves: int) -> tuple[int, int, int]:
    """How good an answer is, smaller better: the levelled day's peak, every day's conflicts, the moves."""
    return (after[problem.levelled].peak, sum(figure.conflicts for figure in after.values()), moves)


def not_worse(before: dict[date, DayFigures], after: dict[date, DayFigures]) -> bool:
    """No day touched has a higher peak or more conflicts than it had."""
    return all(after[day].peak <= before[day].peak and after[day].conflicts <= before[day].conflicts for day in before)


# --- The state the greedy works on ---------------------------------------------------------


class _State:
    """Visits at their places, with the load, starts, chairs and patients' times kept up to date."""

    def __init__(self, problem: Problem, places: dict[int, Place]) -> None:
        self.problem = problem
        self.places = dict(places)
        self.load = {day: [0] * info.length for day, info in problem.days.items()}
        self.starts: dict[tuple[date, int], int] = defaultdict(int)
        self.chairs: dict[tuple[date, int], dict[int, tuple[int, int]]] = defaultdict(dict)
        self.patients: dict[tuple[date, int], dict[int, tuple[int, int]]] = defaultdict(dict)
        for busy in problem.busy:
            self.patients[(busy.day, busy.patient_id)][-1 - len(self.patients[(busy.day, busy.patient_id)])] = (
                busy.start,
                busy.end,
            )
        for visit in problem.visits:
            self._add(visit, self.places[visit.key])

    def _add(self, visit: VisitInput, place: Place, sign: int = 1) -> None:
        info = self.problem.days[place.day]
        load = self.load[place.day]
        for minute in range(max(place.start, 0), min(place.start + visit.minutes, info.length)):
            load[minute] += sign
        self.starts[(place.day, _start_slot(info, visit, place.start))] += sign
        span = (place.start, place.start + visit.minutes)
        if sign > 0:
            self.chairs[(place.day, place.chair_id)][visit.key] = span
            self.patients[(place.day, visit.patient_id)][visit.key] = span
        else:
            self.chairs[(place.day, place.chair_id)].pop(visit.key, None)
            self.patients[(place.day, visit.patient_id)].pop(visit.key, None)

    def fits(self, visit: VisitInput, place: Place) -> bool:
        """Whether `visit` (not counted at its own place) fits at `place` by every rule."""
        info = self.problem.days[place.day]
        end = place.start + visit.minutes
        if place.start < info.first_start or end > info.length or place.start % info.grid:
            return False
        current = self.places[visit.key]
        same_day = current.day == place.day
        for key, (first, last) in self.chairs[(place.day, place.chair_id)].items():
            if key != visit.key and first < end and last > place.start:
                return False
        for key, (first, last) in self.patients[(place.day, visit.patient_id)].items():
            if key != visit.key and first < end and last > place.start:
                return False
        slot = _start_slot(info, visit, place.start)
        own_slot = same_day and _start_slot(info, visit, current.start) == slot
        if self.starts[(place.day, slot)] + (0 if own_slot else 1) > info.start_capacity:
            return False
        load = self.load[place.day]
        own = range(current.start, current.start + visit.minutes) if same_day else range(0)
        for minute in range(place.start, end):
            if load[minute] + (0 if minute in own else 1) > info.capacity:
                return False
        return True

    def move(self, visit: VisitInput, place: Place) -> None:
        self._add(visit, self.places[visit.key], -1)
        self.places[visit.key] = place
        self._add(visit, place)

    def free_chair(self, visit: VisitInput, day: date, start: int, prefer: int) -> int | None:
        end = start + visit.minutes
        chairs = self.problem.days[day].chairs
        for chair in (prefer, *[chair for chair in chairs if chair != prefer]):
            if chair not in chairs:
                continue
            if all(
                key == visit.key or first >= end or last <= start
                for key, (first, last) in self.chairs[(day, chair)].items()
            ):
                return chair
        return None

    def peak_and_conflicts(self, day: date) -> tuple[int, int, int]:
        load = self.load[day]
        peak = max(load, default=0)
        conflicts = sum(count - 1 for (other, _), count in self.starts.items() if other == day and count > 1)
        return peak, conflicts, load.count(peak)


def _original(problem: Problem) -> dict[int, Place]:
    return {visit.key: Place(visit.day, visit.start, visit.chair_id) for visit in problem.visits}


def _candidates(problem: Problem, visit: VisitInput) -> list[tuple[date, int]]:
    """Every (day, start) the visit may take, nearest its own first (hours, grid, now, the patient elsewhere)."""
    found = []
    elsewhere = defaultdict(list)
    for busy in problem.busy:
        if busy.patient_id == visit.patient_id:
            elsewhere[busy.day].append((busy.start, busy.end))
    for day in visit.days:
        info = problem.days.get(day)
        if info is None or info.nurses <= 0:
            continue
        first = -(-max(info.first_start, 0) // info.grid) * info.grid
        for start in range(first, info.length - visit.minutes + 1, info.grid):
            if any(begin < start + visit.minutes and end > start for begin, end in elsewhere[day]):
                continue
            found.append((day, start))
    if (visit.day, visit.start) not in found:
        found.append((visit.day, visit.start))
    return sorted(found, key=lambda item: (abs((item[0] - visit.day).days), abs(item[1] - visit.start), item))


# --- Greedy ---------------------------------------------------------------------------------


def _window_sums(values: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """For every start, the max and the sum of `values` over the `width` minutes from it."""
    if width > len(values):
        return np.empty(0, dtype=values.dtype), np.empty(0, dtype=values.dtype)
    windows = sliding_window_view(values, width)
    return windows.max(axis=1), windows.sum(axis=1)


class _Arrays:
    """Each day's load per minute and infusion starts per 15-minute slot, as arrays."""

    def __init__(self, problem: Problem, state: _State) -> None:
        self.problem = problem
        self.load = {day: np.array(values, dtype=np.int64) for day, values in state.load.items()}
        self.base = {day: info.opens // START_SLOT_MINUTES for day, info in problem.days.items()}
        self.starts = {}
        for day, info in problem.days.items():
            counts = np.zeros((info.opens + info.length + 24 * 60) // START_SLOT_MINUTES - self.base[day] + 1, np.int64)
            for (other, slot), count in state.starts.items():
                if other == day and count:
                    counts[slot - self.base[day]] += count
            self.starts[day] = counts

    def conflicts(self, day: date) -> int:
        counts = self.starts[day]
        return int(np.maximum(counts - 1, 0).sum())

    def move(self, visit: VisitInput, origin: Place, target: Place) -> None:
        for place, sign in ((origin, -1), (target, 1)):
            info = self.problem.days[place.day]
            self.load[place.day][max(place.start, 0) : min(place.start + visit.minutes, info.length)] += sign
            self.starts[place.day][_start_slot(info, visit, place.start) - self.base[place.day]] += sign


def greedy(
    problem: Problem,
    *,
    candidates: dict[int, list[tuple[date, int]]] | None = None,
    deadline: float | None = None,
) -> list[Move]:
    """Moves made one at a time, each keeping every rule in the state it is made in.

    Visit by visit (those at the levelled day's busiest moments first), each goes to the
    place that most lowers (the levelled day's peak, every day's conflicts, the sum of the
    squared load, a measure of how even the day is), if any place does; it never raises the
    peak or adds a conflict, and a receiving day never gets a higher peak or more conflicts
    than it had. Passes repeat until one moves nothing, or until `deadline` (monotonic) passes.
    """
    candidates = candidates or {visit.key: _candidates(problem, visit) for visit in problem.visits if visit.days}
    state = _State(problem, _original(problem))
    arrays = _Arrays(problem, state)
    before = {day: (int(arrays.load[day].max(initial=0)), arrays.conflicts(day)) for day in problem.days}
    day = problem.levelled
    info = problem.days[day]
    by_day_options = {
        key: {
            other: np.array([start for option_day, start in options if option_day == other], dtype=np.int64)
            for other in {option_day for option_day, _ in options}
        }
        for key, options in candidates.items()
    }
    moves: list[Move] = []
    for _pass in range(GREEDY_PASSES):
        moved = False
        load = arrays.load[day]
        order = sorted(
            (key for key in candidates if state.places[key].day == day),
            key=lambda key: (
                -int(
                    load[state.places[key].start : state.places[key].start + problem.by_key[key].minutes].max(initial=0)
                )
            ),
        )
        for key in order:
            if deadline is not None and clock.monotonic() > deadline:
                return _collapse(problem, moves)
            visit = problem.by_key[key]
            place = state.places[key]
            if place.day != day:
                continue
            load = arrays.load[day]
            peak = int(load.max(initial=0))
            total = sum(arrays.conflicts(other) for other in problem.days)
            a, m = place.start, visit.minutes
            own_slot = _start_slot(info, visit, a) - arrays.base[day]
            without = load.copy()
            without[a : a + m] -= 1
            peak_without = int(without.max(initial=0))
            starts_without = arrays.starts[day].copy()
            starts_without[own_slot] -= 1
            lost = 1 if arrays.starts[day][own_slot] > 1 else 0
            removal = 2 * int(load[a : a + m].sum()) - m
            ranked = []
            for other_day, offsets in by_day_options[key].items():
                other = problem.days[other_day]
                base = without if other_day == day else arrays.load[other_day]
                starts = starts_without if other_day == day else arrays.starts[other_day]
                window_max, window_sum = _window_sums(base, m)
                if not len(window_max):
                    continue
                offsets = offsets[offsets + m <= other.length]
                highest, summed = window_max[offsets], window_sum[offsets]
                taken = starts[(other.opens + offsets + visit.premed) // START_SLOT_MINUTES - arrays.base[other_day]]
                fits = (highest + 1 <= other.capacity) & (taken + 1 <= other.start_capacity)
                if other_day == day:
                    new_peak = np.maximum(peak_without, highest + 1)
                    new_total = total - lost + (taken >= 1)
                else:
                    receiving_peak = np.maximum(int(base.max(initial=0)), highest + 1)
                    added = (taken >= 1).astype(np.int64)
                    fits &= (receiving_peak <= before[other_day][0]) & (
                        arrays.conflicts(other_day) + added <= before[other_day][1]
                    )
                    new_peak = np.full(len(offsets), peak_without)
                    new_total = total - lost + added
                change = 2 * summed + m - removal
                better = fits & (new_peak <= peak) & (new_total <= total)
                better &= (new_peak < peak) | (new_total < total) | (change < 0)
                distance = abs((other_day - visit.day).days) * 10_000
                for index in np.flatnonzero(better):
                    start = int(offsets[index])
                    if (other_day, start) == (day, a):
                        continue
                    ranked.append(
                        (
                            int(new_peak[index]),
                            int(new_total[index]),
                            int(change[index]),
                            distance + abs(start - visit.start),
                            other_day,
                            start,
                        )
                    )
            ranked.sort()
            for *_score, other_day, start in ranked[:GREEDY_TRIES]:
                chair = state.free_chair(visit, other_day, start, place.chair_id)
                if chair is None:
                    continue
                target = Place(other_day, start, chair)
                if state.fits(visit, target):
                    moves.append(Move(key, place, target))
                    state.move(visit, target)
                    arrays.move(visit, place, target)
                    moved = True
                    break
        if not moved:
            break
    return _collapse(problem, moves)


def _collapse(problem: Problem, moves: list[Move]) -> list[Move]:
    """A visit moved twice is one move, from where it was to where it ends, made when its last move was."""
    final: dict[int, int] = {}
    for index, move in enumerate(moves):
        final[move.key] = index
    result = []
    for index, move in enumerate(moves):
        if final[move.key] != index:
            continue
        visit = problem.by_key[move.key]
        origin = Place(visit.day, visit.start, visit.chair_id)
        if move.after != origin:
            result.append(Move(move.key, origin, move.after))
    return result


# --- CP-SAT -------------------------------------------------------------------------------


def _cp_sat(
    problem: Problem,
    candidates: dict[int, list[tuple[date, int]]],
    hint: dict[int, Place],
    before: dict[date, DayFigures],
    *,
    deadline: float,
    workers: int,
) -> tuple[dict[int, tuple[date, int]] | None, str]:
    """Where each visit starts (day, minute), searched until `deadline` (monotonic); None when nothing was found."""
    from ortools.sat.python import cp_model  # noqa: PLC0415 - OR-Tools loads a large library; only levelling needs it

    model = cp_model.CpModel()
    choice: dict[int, dict[tuple[date, int], object]] = {}
    intervals_by_day: dict[date, list] = defaultdict(list)
    starts_by_slot: dict[tuple[date, int], list] = defaultdict(list)
    patient_intervals: dict[tuple[date, int], list] = defaultdict(list)
    fixed_starts: dict[tuple[date, int], int] = defaultdict(int)
    moved_terms = []
    for visit in problem.visits:
        options = candidates.get(visit.key)
        if not options:
            info = problem.days[visit.day]
            interval = model.NewFixedSizeIntervalVar(visit.start, visit.minutes, f"fixed{visit.key}")
            intervals_by_day[visit.day].append(interval)
            patient_intervals[(visit.day, visit.patient_id)].append(interval)
            fixed_starts[(visit.day, _start_slot(info, visit, visit.start))] += 1
            continue
        choice[visit.key] = {}
        by_day: dict[date, list[tuple[int, object]]] = defaultdict(list)
        for day, start in options:
            literal = model.NewBoolVar(f"v{visit.key}d{day.toordinal()}s{start}")
            choice[visit.key][(day, start)] = literal
            by_day[day].append((start, literal))
            starts_by_slot[(day, _start_slot(problem.days[day], visit, start))].append(literal)
        model.AddExactlyOne(choice[visit.key].values())
        for day, options_of_day in by_day.items():
            present = model.NewBoolVar(f"v{visit.key}on{day.toordinal()}")
            model.Add(sum(literal for _, literal in options_of_day) == present)
            start_var = model.NewIntVarFromDomain(
                cp_model.Domain.FromValues([start for start, _ in options_of_day]), f"s{visit.key}d{day.toordinal()}"
            )
            for start, literal in options_of_day:
                model.Add(start_var == start).OnlyEnforceIf(literal)
            interval = model.NewOptionalFixedSizeIntervalVar(
                start_var, visit.minutes, present, f"i{visit.key}d{day.toordinal()}"
            )
            intervals_by_day[day].append(interval)
            patient_intervals[(day, visit.patient_id)].append(interval)
        stay = choice[visit.key].get((visit.day, visit.start))
        moved_terms.append(1 - stay if stay is not None else 1)
        place = hint[visit.key]
        for option, literal in choice[visit.key].items():
            model.AddHint(literal, option == (place.day, place.start))
    for busy in problem.busy:
        if busy.day in problem.days and busy.end > busy.start:
            patient_intervals[(busy.day, busy.patient_id)].append(
                model.NewFixedSizeIntervalVar(busy.start, busy.end - busy.start, "busy")
            )
    peaks = {}
    for day, info in problem.days.items():
        limit = min(info.capacity, before[day].peak)
        peak = model.NewIntVar(0, limit, f"peak{day.toordinal()}")
        peaks[day] = peak
        intervals = intervals_by_day.get(day, [])
        if intervals:
            model.AddCumulative(intervals, [1] * len(intervals), peak)
            model.AddCumulative(intervals, [1] * len(intervals), len(info.chairs))
    for rows in patient_intervals.values():
        if len(rows) > 1:
            model.AddNoOverlap(rows)
    conflicts_by_day: dict[date, list] = defaultdict(list)
    for key in set(starts_by_slot) | set(fixed_starts):
        day, _slot = key
        count = sum(starts_by_slot.get(key, [])) + fixed_starts.get(key, 0)
        model.Add(count <= problem.days[day].start_capacity)
        excess = model.NewIntVar(0, len(starts_by_slot.get(key, [])) + fixed_starts.get(key, 0), "excess")
        model.Add(excess >= count - 1)
        conflicts_by_day[day].append(excess)
    for day in problem.days:
        model.Add(sum(conflicts_by_day.get(day, [])) <= before[day].conflicts)
    moves = len(problem.visits) + 1
    conflicts_total = sum(sum(terms) for terms in conflicts_by_day.values())
    most_conflicts = sum(figure.conflicts for figure in before.values()) + 1
    model.Minimize(peaks[problem.levelled] * most_conflicts * moves + conflicts_total * moves + sum(moved_terms))
    solver = cp_model.CpSolver()
    # Building the model took part of the time: the search gets what is left.
    solver.parameters.max_time_in_seconds = max(deadline - clock.monotonic(), 0.05)
    solver.parameters.num_search_workers = max(workers, 1)
    solver.parameters.random_seed = 0
    status = solver.Solve(model)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, name
    answer = {}
    for key, options in choice.items():
        answer[key] = next(option for option, literal in options.items() if solver.BooleanValue(literal))
    return answer, name


def _ordered(problem: Problem, wanted: dict[int, tuple[date, int]]) -> list[Move]:
    """Moves to the wanted starts, with chairs, in an order that keeps every rule after each one.

    A move that cannot be made (no chair free, or never fits while the others wait) is left out.
    """
    state = _State(problem, _original(problem))
    pending = [key for key, target in wanted.items() if target != (problem.by_key[key].day, problem.by_key[key].start)]
    moves = []
    progress = True
    while pending and progress:
        progress = False
        for key in list(pending):
            visit = problem.by_key[key]
            day, start = wanted[key]
            chair = state.free_chair(visit, day, start, visit.chair_id)
            if chair is None:
                continue
            target = Place(day, start, chair)
            if state.fits(visit, target):
                moves.append(Move(key, state.places[key], target))
                state.move(visit, target)
                pending.remove(key)
                progress = True
    return moves


def apply_moves(problem: Problem, moves: Iterable[Move]) -> dict[int, Place]:
    places = _original(problem)
    for move in moves:
        places[move.key] = move.after
    return places


def sequence_valid(problem: Problem, moves: Sequence[Move]) -> bool:
    """Whether each move, made after the ones before it, keeps every rule."""
    state = _State(problem, _original(problem))
    for move in moves:
        visit = problem.by_key[move.key]
        if state.places[move.key] != move.before or not state.fits(visit, move.after):
            return False
        state.move(visit, move.after)
    return True


# --- The answer -----------------------------------------------------------------------------


def level(problem: Problem, *, time_limit: float = 5.0, workers: int = 2, use_solver: bool = True) -> Result:
    """The moves that lower the levelled day's peak (then conflicts), never making a day worse."""
    started = clock.monotonic()
    original = _original(problem)
    before = figures(problem, original)
    if rules_broken(problem, original):
        # A day that already breaks a rule (data written around the services) is not levelled:
        # no answer could be checked against it.
        return Result([], before, before, "none", clock.monotonic() - started, "the day already breaks a rule")
    candidates = {visit.key: _candidates(problem, visit) for visit in problem.visits if visit.days}
    # The greedy answer gets at most half the time: it is the fallback, CP-SAT the search.
    best_moves = greedy(problem, candidates=candidates, deadline=started + time_limit * 0.5)
    best_moves = _ordered(problem, {move.key: (move.after.day, move.after.start) for move in best_moves}) or []
    method, status = ("greedy" if best_moves else "none"), ""
    best_after = figures(problem, apply_moves(problem, best_moves))
    if not not_worse(before, best_after) or rules_broken(problem, apply_moves(problem, best_moves)):
        best_moves, best_after, method = [], before, "none"
    # The answer is checked and put in order after the search: keep a little time for that.
    deadline = started + time_limit * 0.9
    if use_solver and candidates and deadline - clock.monotonic() > 0.1:
        hint = apply_moves(problem, best_moves)
        wanted, status = _cp_sat(problem, candidates, hint, before, deadline=deadline, workers=workers)
        if wanted is not None:
            solved = _ordered(problem, wanted)
            places = apply_moves(problem, solved)
            after = figures(problem, places)
            if (
                not rules_broken(problem, places)
                and not_worse(before, after)
                and _key(problem, after, len(solved)) < _key(problem, best_after, len(best_moves))
            ):
                best_moves, best_after, method = solved, after, "cp-sat"
    if _key(problem, best_after, 0)[:2] >= _key(problem, before, 0)[:2]:
        best_moves, best_after, method = [], before, "none"
    return Result(best_moves, before, best_after, method, clock.monotonic() - started, status)


def with_moves(problem: Problem, moves: Iterable[Move], levelled: date | None = None) -> Problem:
    """The same days with the moves made: the input for levelling the next day of a week."""
    places = apply_moves(problem, moves)
    visits = [
        replace(visit, day=places[visit.key].day, start=places[visit.key].start, chair_id=places[visit.key].chair_id)
        for visit in problem.visits
    ]
    return Problem(levelled=levelled or problem.levelled, days=problem.days, visits=visits, busy=problem.busy)
