"""Plain levelling problems for the tests: a clinic day filled the way the earliest-slot policy fills it."""

from __future__ import annotations

import random
from datetime import date, timedelta

from scheduling.capacity.levelling import DayInput, Place, Problem, VisitInput, _State

DAY = date(2027, 3, 3)  # a Wednesday
LENGTHS = (60, 90, 120, 150, 180, 240, 300)


def clinic_days(*, chairs: int, nurses: int, around: int = 0, length: int = 600) -> dict[date, DayInput]:
    return {
        DAY + timedelta(days=offset): DayInput(
            day=DAY + timedelta(days=offset),
            opens=28_432_800 + offset * 1440,  # 08:00 UTC, on the 15-minute grid
            length=length,
            nurses=nurses,
            patients_per_nurse=4,
            starts_per_nurse=1,
            chairs=tuple(range(1, chairs + 1)),
        )
        for offset in range(-around, around + 1)
    }


def earliest_day(
    *, chairs: int = 40, nurses: int = 10, visits: int = 150, seed: int = 7, around: int = 0, limit_days: int = 0
) -> Problem:
    """`visits` visits each at the earliest start where it fits every rule, as a front desk taking the first slot."""
    rng = random.Random(seed)
    days = clinic_days(chairs=chairs, nurses=nurses, around=around)
    info = days[DAY]
    allowed = tuple(sorted(day for day in days if abs((day - DAY).days) <= limit_days))
    placed: list[VisitInput] = []
    for key in range(1, visits * 4):
        if len(placed) == visits:
            break
        minutes = rng.choice(LENGTHS)
        premed = rng.choice((0, 15, 30))
        visit = VisitInput(key, 1000 + key, DAY, 0, 0, minutes, premed, days=allowed)
        state = _State(
            Problem(DAY, days, placed), {item.key: Place(item.day, item.start, item.chair_id) for item in placed}
        )
        state.places[key] = Place(DAY, -10_000, 0)  # not yet anywhere
        for start in range(0, info.length - minutes + 1, info.grid):
            chair = state.free_chair(visit, DAY, start, info.chairs[0])
            if chair is not None and _fits_new(state, visit, Place(DAY, start, chair)):
                placed.append(VisitInput(key, 1000 + key, DAY, chair, start, minutes, premed, days=allowed))
                break
    return Problem(DAY, days, placed)


def _fits_new(state: _State, visit: VisitInput, place: Place) -> bool:
    info = state.problem.days[place.day]
    end = place.start + visit.minutes
    slot = info.slot_of(place.start + visit.premed)
    if state.starts[(place.day, slot)] + 1 > info.start_capacity:
        return False
    return all(state.load[place.day][minute] + 1 <= info.capacity for minute in range(place.start, end))
