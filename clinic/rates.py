"""Infusion rate steps on the clock: pure functions, no database.

A phase's rate schedule is data (`clinic.models.RateStep`): from N minutes into the infusion,
run at R mL/h. Given the moment the infusion actually started, these functions say when each
step falls on the clinic's clock, which step runs now and which comes next, so the nurse sees
"next: 120 mL/h at 10:45". Step times are counted in real minutes (UTC) and shown on the
clinic's clock, so an infusion across a daylight-saving change still steps every 30 minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo


@dataclass(frozen=True)
class RateStepSpec:
    """One RateStep row as plain data."""

    after_minutes: int
    rate: int
    unit: str = "mL/h"
    verified: bool = True


@dataclass(frozen=True)
class TimedStep:
    rate: int
    unit: str
    verified: bool
    starts_at: datetime  # aware, in the clinic's time zone
    state: str  # "done", "current", "next" or "later"

    @property
    def clock(self) -> str:
        return f"{self.starts_at:%H:%M}"

    @property
    def rate_text(self) -> str:
        return f"{self.rate} {self.unit}"


@dataclass(frozen=True)
class RateSchedule:
    steps: tuple[TimedStep, ...]

    @property
    def current(self) -> TimedStep | None:
        return next((step for step in self.steps if step.state == "current"), None)

    @property
    def next(self) -> TimedStep | None:
        return next((step for step in self.steps if step.state == "next"), None)

    @property
    def next_text(self) -> str:
        """'next: 120 mL/h at 10:45', or where the schedule stands once its last step is reached."""
        upcoming = self.next
        if upcoming is not None:
            return f"next: {upcoming.rate_text} at {upcoming.clock}"
        current = self.current
        if current is not None:
            return f"at the final rate, {current.rate_text}, since {current.clock}"
        return ""

    @property
    def has_unverified(self) -> bool:
        return any(not step.verified for step in self.steps)


def rate_schedule(steps: Iterable[RateStepSpec], *, started_at: datetime, now: datetime, tz: tzinfo) -> RateSchedule:
    """The steps on the clinic's clock from the infusion's actual start, each marked done, current, next or later.

    The current step is the last one whose time has come; the next is the one after it. Before
    the infusion starts (a start recorded a moment ahead), the first step is next.
    """
    if started_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("rate_schedule needs aware datetimes; times are stored in UTC.")
    ordered = sorted(steps, key=lambda step: step.after_minutes)
    moments = [started_at + timedelta(minutes=step.after_minutes) for step in ordered]
    current_index = max((index for index, moment in enumerate(moments) if moment <= now), default=-1)
    timed = []
    for index, (step, moment) in enumerate(zip(ordered, moments, strict=True)):
        if index < current_index:
            state = "done"
        elif index == current_index:
            state = "current"
        elif index == current_index + 1:
            state = "next"
        else:
            state = "later"
        timed.append(TimedStep(step.rate, step.unit, step.verified, moment.astimezone(tz), state))
    return RateSchedule(tuple(timed))


def steps_for(schedules: Mapping[str, Sequence[RateStepSpec]], infusion_kind: str) -> tuple[RateStepSpec, ...]:
    """A phase's steps for one kind of infusion ("first", "short", "standard").

    A first or short infusion without a schedule of its own has none shown: the standard
    schedule would run it too fast or too slow.
    """
    return tuple(schedules.get(infusion_kind, ()))
