"""The dosing rules: pure functions over a regimen's data and a course's dose history.

One module past the usual size, on purpose: the phases, intervals, windows, chair times and
monitoring rules read each other's private helpers, and splitting them would scatter one rule set.

Nothing here touches the database: a regimen arrives as a `RegimenSpec` (built once from
the model by `Regimen.spec()`), the doses given as their local dates. Booking, the
worklist, the roster and reminders all ask these functions the same question: which dose
comes next, when is it due, how early may it be given, and how long will it take.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import Any, NamedTuple


class DoseStatus(StrEnum):
    NOT_YET_DUE = "not_yet_due"
    DUE_SOON = "due_soon"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class GivenDose:
    """A dose actually given: its date in the clinic's local calendar."""

    date: date
    serious_reaction: bool = False
    # Any infusion reaction recorded at this dose (serious or not), and whether one looked like
    # hypersensitivity: the phases' `observation_kept_after` reads them.
    reaction: bool = False
    hypersensitivity: bool = False

    @property
    def any_reaction(self) -> bool:
        return self.reaction or self.serious_reaction or self.hypersensitivity


@dataclass(frozen=True)
class ChairTime:
    premed_minutes: int
    infusion_minutes: int
    observation_minutes: int

    @property
    def total_minutes(self) -> int:
        return self.premed_minutes + self.infusion_minutes + self.observation_minutes


@dataclass(frozen=True)
class PhaseSpec:
    """One RegimenPhase as plain data (same field names and meaning as the model)."""

    position: int
    name: str
    dose_label: str
    doses: int
    spacing_days: int | None
    repeats: bool
    interval_value: int | None
    interval_unit: str
    interval_anchor: str
    alternative_interval_option: str
    alternative_interval_value: int | None
    alternative_interval_unit: str
    min_gap_value: int | None
    min_gap_unit: str
    premed_minutes: int
    premed_doses: int | None
    infusion_minutes: int
    first_infusion_minutes: int | None
    short_infusion_option: str
    short_infusion_minutes: int | None
    observation_minutes: int
    observation_infusions: int | None
    later_observation_minutes: int
    reaction_keeps_observation: bool
    # Given only when the prescriber asks for it (Lemtrada's further courses): the block's
    # first dose has an earliest date but is never counted due or overdue.
    when_needed: bool = False
    # Which earlier reaction keeps the full observation when `reaction_keeps_observation` is on:
    # "any", "hypersensitivity" or "serious" (clinic.models.ReactionTrigger).
    observation_kept_after: str = "serious"


_PHASE_FIELDS = tuple(item.name for item in fields(PhaseSpec))


@dataclass(frozen=True)
class MonitoringSpec:
    kind: str
    name: str
    every_months: int
    until_months_after_last_dose: int | None


@dataclass(frozen=True)
class RegimenSpec:
    code: str
    name: str
    late_window_days: int
    requires_authorization: bool
    reauthorization_months: int | None
    pregnancy_check: bool
    phases: tuple[PhaseSpec, ...]
    monitoring: tuple[MonitoringSpec, ...] = field(default=())

    @classmethod
    def from_model(cls, regimen) -> RegimenSpec:
        """Read a Regimen row, its phases and its monitoring rules (two queries, none when prefetched)."""
        phases = sorted(regimen.phases.all(), key=lambda phase: phase.position)
        monitoring = list(regimen.monitoring.all())
        return cls(
            code=regimen.code,
            name=regimen.name,
            late_window_days=regimen.late_window_days,
            requires_authorization=regimen.requires_authorization,
            reauthorization_months=regimen.reauthorization_months,
            pregnancy_check=regimen.pregnancy_check,
            phases=tuple(
                PhaseSpec(**{name: getattr(phase, name) for name in _PHASE_FIELDS if hasattr(phase, name)})
                for phase in phases
            ),
            monitoring=tuple(
                MonitoringSpec(
                    kind=rule.kind,
                    name=rule.name,
                    every_months=rule.every_months,
                    until_months_after_last_dose=rule.until_months_after_last_dose,
                )
                for rule in monitoring
            ),
        )

    def with_values(self, regimen: Mapping[str, Any], phases: Mapping[int, Mapping[str, Any]]) -> RegimenSpec:
        """This regimen with some values replaced: `regimen` fields, and `phases` fields by phase position.

        What a proposed regimen change would make of it; names the spec does not hold are ignored.
        """
        names = {item.name for item in fields(self)}
        return replace(
            self,
            **{name: value for name, value in regimen.items() if name in names and name != "phases"},
            phases=tuple(
                replace(
                    phase,
                    **{name: value for name, value in phases.get(phase.position, {}).items() if name in _PHASE_FIELDS},
                )
                for phase in self.phases
            ),
        )

    def with_chair_time(self, overrides: Mapping[int, tuple[int | None, int | None]]) -> RegimenSpec:
        """This regimen as one clinic doses it: {phase position: (premedication, observation minutes)}.

        A clinic's own minutes replace the regimen's; None keeps the regimen's value. The
        observation replaced is the full one (the first N infusions' when the phase limits it).
        """
        if not overrides:
            return self
        phases = {}
        for position, (premed, observation) in overrides.items():
            values: dict[str, int] = {}
            if premed is not None:
                values["premed_minutes"] = premed
            if observation is not None:
                values["observation_minutes"] = observation
            phases[position] = values
        return self.with_values({}, phases)


@dataclass(frozen=True)
class PlannedDose:
    dose_number: int  # 1-based across the whole course
    phase: str  # the phase's name, e.g. "maintenance"
    phase_position: int
    dose_label: str
    dose_in_block: int  # 1-based position inside its block (Lemtrada day 1..5)
    block_size: int
    target_date: date
    earliest_date: date
    latest_date: date  # end of the recommended window; after it the dose is overdue
    chair_time: ChairTime
    status: DoseStatus
    first_infusion: bool  # dose 1 of the course
    observation_required: bool
    reason: str  # e.g. "dose 3, maintenance 600 mg IV: due 6 Jul 2027, not before 19 Jun 2027"
    when_needed: bool = False  # only if the prescriber asks (status stays not_yet_due)
    # Which of the phase's rate schedules the infusion follows: "first", "short" or "standard".
    infusion_kind: str = "standard"

    @property
    def phase_first_dose(self) -> bool:
        """The first dose of its block (a new course of Lemtrada, a maintenance infusion)."""
        return self.dose_in_block == 1


@dataclass(frozen=True)
class MonitoringItem:
    kind: str  # "labs", "reauthorization", "authorization_expiry"
    name: str
    due_date: date
    overdue: bool


# --- Calendar arithmetic ---------------------------------------------------------------------

# The days a dose may be planned on: a century inside the calendar's ends at year 1 and 9999.
PLANNABLE = (date(MINYEAR + 100, 1, 1), date(MAXYEAR - 100, 12, 31))


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months; a day past the month's end clamps to its last day.

    Past the calendar's ends (year 1, year 9999) it raises OverflowError, as `date + timedelta` does.
    """
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    if not MINYEAR <= year <= MAXYEAR:
        raise OverflowError("date value out of range")
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_interval(day: date, value: int | None, unit: str) -> date:
    """`day` plus `value` days, weeks or calendar months (the units of IntervalUnit)."""
    if not value:
        return day
    if unit == "months":
        return add_months(day, value)
    if unit == "weeks":
        return day + timedelta(weeks=value)
    return day + timedelta(days=value)


def local_date(moment: datetime, tz: tzinfo) -> date:
    """The clinic's calendar day of an aware moment (a dose at 23:30 local is that day, not UTC's next)."""
    if moment.tzinfo is None:
        raise ValueError("local_date needs an aware datetime; times are stored in UTC.")
    return moment.astimezone(tz).date()


@lru_cache(maxsize=8192)
def format_day(day: date) -> str:
    """A date the way the front desk writes it: 6 Jul 2027.

    For the explanations this Django-free module writes itself; everything else writes dates
    through clinic.dates, whose `day` gives the same text (a test holds the two together).
    Cached: a forecast writes the same few hundred days into thousands of plans.
    """
    return f"{day.day} {day:%b} {day.year:04d}"


# --- Where a dose sits in the regimen -----------------------------------------------------------


class _Slot(NamedTuple):  # a tuple: built for every dose of every plan
    phase: PhaseSpec
    block: int  # 1-based block number inside the phase
    dose_in_block: int  # 1-based


def _slot(spec: RegimenSpec, dose_number: int) -> _Slot | None:
    """The phase, block and position of the course's `dose_number`-th dose, or None past the end."""
    remaining = dose_number
    for phase in spec.phases:
        block_size = max(phase.doses, 1)
        if phase.repeats:
            block, dose_in_block = divmod(remaining - 1, block_size)
            return _Slot(phase, block + 1, dose_in_block + 1)
        if remaining <= block_size:
            return _Slot(phase, 1, remaining)
        remaining -= block_size
    return None


def first_of_block(spec: RegimenSpec, dose_number: int) -> bool:
    """Whether the course's `dose_number`-th dose opens its block: day 1 of a Lemtrada course, any single-dose block."""
    slot = _slot(spec, dose_number)
    return slot is not None and slot.dose_in_block == 1


def _interval(phase: PhaseSpec, options: Mapping[str, Any]) -> tuple[int | None, str]:
    if phase.alternative_interval_option and options.get(phase.alternative_interval_option):
        if phase.alternative_interval_value:
            return phase.alternative_interval_value, phase.alternative_interval_unit
    return phase.interval_value, phase.interval_unit


def _reaction_keeps_observation(phase: PhaseSpec, earlier: Sequence[GivenDose]) -> bool:
    """Whether an earlier dose's reaction brings the phase's full observation back.

    The phase says which reactions count: any (Briumvi: "unless an infusion reaction or
    hypersensitivity occurred"), a hypersensitivity reaction (Tysabri from infusion 13), or a
    serious one.
    """
    if not phase.reaction_keeps_observation:
        return False
    if phase.observation_kept_after == "any":
        return any(dose.any_reaction for dose in earlier)
    if phase.observation_kept_after == "hypersensitivity":
        return any(dose.hypersensitivity for dose in earlier)
    return any(dose.serious_reaction for dose in earlier)


def _chair_time(
    phase: PhaseSpec, slot: _Slot, dose_number: int, options: Mapping[str, Any], earlier: Sequence[GivenDose]
) -> tuple[ChairTime, str]:
    """The dose's chair time and which of the phase's infusion schedules it follows."""
    phase_first_dose = slot.block == 1 and slot.dose_in_block == 1
    premed = phase.premed_minutes if phase.premed_doses is None or slot.dose_in_block <= phase.premed_doses else 0
    if phase_first_dose and phase.first_infusion_minutes:
        infusion, kind = phase.first_infusion_minutes, "first"
    elif (
        phase.short_infusion_option
        and phase.short_infusion_minutes
        and options.get(phase.short_infusion_option)
        # Ocrevus: the shorter infusion only with no serious infusion reaction at any earlier dose
        # (read last: a plan asks for every dose, over a history that grows with it).
        and not any(dose.serious_reaction for dose in earlier)
    ):
        infusion, kind = phase.short_infusion_minutes, "short"
    else:
        infusion, kind = phase.infusion_minutes, "standard"
    if phase.observation_infusions is None or dose_number <= phase.observation_infusions:
        observation = phase.observation_minutes
    elif _reaction_keeps_observation(phase, earlier):
        observation = phase.observation_minutes
    else:
        observation = phase.later_observation_minutes
    return _chair_time_of(premed, infusion, observation), kind


@lru_cache(maxsize=1024)
def _chair_time_of(premed: int, infusion: int, observation: int) -> ChairTime:
    """One ChairTime per value (it is frozen): a plan asks for the same few chair times over and over."""
    return ChairTime(premed_minutes=premed, infusion_minutes=infusion, observation_minutes=observation)


def dose_status(*, target: date, latest: date, today: date, due_soon_days: int = 21) -> DoseStatus:
    if today > latest:
        return DoseStatus.OVERDUE
    if today >= target:
        return DoseStatus.DUE
    if today >= target - timedelta(days=due_soon_days):
        return DoseStatus.DUE_SOON
    return DoseStatus.NOT_YET_DUE


def _reason(dose_number: int, phase: PhaseSpec, target: date, earliest: date, *, when_needed: bool) -> str:
    label = f"dose {dose_number}, {phase.name} {phase.dose_label}".rstrip()
    if when_needed:
        return f"{label}: only when the prescriber asks for it, not before {format_day(earliest)}"
    if earliest < target:
        return f"{label}: due {format_day(target)}, not before {format_day(earliest)}"
    return f"{label}: due {format_day(target)}, not earlier"


def _in_order(given: Sequence[GivenDose]) -> list[GivenDose]:
    return sorted(given, key=lambda dose: dose.date)


def _plan_one(
    spec: RegimenSpec,
    *,
    start_date: date,
    given: list[GivenDose],
    options: Mapping[str, Any],
    today: date,
    due_soon_days: int,
) -> PlannedDose | None:
    """The next dose, or None when the regimen has no further dose or its dates fall off the calendar.

    A course saved with a date at the calendar's edge (0001-01-01, 9999-12-31) has no dose
    Chairside could book, and must never stop a page or a batch that plans other courses. A
    dose is planned only inside PLANNABLE, so whoever reads it may still count a century of
    days either way (reminder offsets, search windows) without leaving the calendar.
    """
    try:
        planned = _plan_dates(
            spec, start_date=start_date, given=given, options=options, today=today, due_soon_days=due_soon_days
        )
    except OverflowError:
        return None
    if planned is not None and not (PLANNABLE[0] <= planned.earliest_date and planned.latest_date <= PLANNABLE[1]):
        return None
    return planned


def _plan_dates(
    spec: RegimenSpec,
    *,
    start_date: date,
    given: list[GivenDose],
    options: Mapping[str, Any],
    today: date,
    due_soon_days: int,
) -> PlannedDose | None:
    dose_number = len(given) + 1
    slot = _slot(spec, dose_number)
    if slot is None:
        return None
    phase = slot.phase
    if not given:
        # The course's first dose falls on the course start date.
        target = earliest = start_date
    else:
        previous = given[-1].date
        if slot.dose_in_block > 1:
            # Inside a block (Ocrevus day 15, Lemtrada's consecutive days): spacing from the dose given.
            target = earliest = previous + timedelta(days=phase.spacing_days or 0)
        else:
            value, unit = _interval(phase, options)
            if slot.block == 1 and phase.interval_anchor == "first_dose":
                # Ocrevus and Briumvi maintenance count from infusion 1 as actually given.
                target = add_interval(given[0].date, value, unit)
            else:
                # A repeating block counts from the dose actually given: a late dose moves the
                # ones after it (Ocrevus: 6 months after the missed dose was given).
                target = add_interval(previous, value, unit)
            if phase.min_gap_value:
                earliest = add_interval(previous, phase.min_gap_value, phase.min_gap_unit)
            else:
                earliest = target
            target = max(target, earliest)
    latest = target + timedelta(days=spec.late_window_days)
    chair_time, infusion_kind = _chair_time(phase, slot, dose_number, options, given)
    # Inside a when-needed block the course has begun, so days 2 and 3 are due as usual.
    when_needed = phase.when_needed and slot.dose_in_block == 1
    if when_needed:
        status = DoseStatus.NOT_YET_DUE
    else:
        status = dose_status(target=target, latest=latest, today=today, due_soon_days=due_soon_days)
    return PlannedDose(
        dose_number=dose_number,
        phase=phase.name,
        phase_position=phase.position,
        dose_label=phase.dose_label,
        dose_in_block=slot.dose_in_block,
        block_size=max(phase.doses, 1),
        target_date=target,
        earliest_date=earliest,
        latest_date=latest,
        chair_time=chair_time,
        status=status,
        first_infusion=dose_number == 1,
        observation_required=chair_time.observation_minutes > 0,
        reason=_reason(dose_number, phase, target, earliest, when_needed=when_needed),
        when_needed=when_needed,
        infusion_kind=infusion_kind,
    )


def next_dose(
    spec: RegimenSpec,
    *,
    start_date: date,
    given: Sequence[GivenDose],
    options: Mapping[str, Any] | None = None,
    today: date,
    due_soon_days: int = 21,
) -> PlannedDose | None:
    """The next dose to give, or None when the regimen has no further dose."""
    return _plan_one(
        spec,
        start_date=start_date,
        given=_in_order(given),
        options=options or {},
        today=today,
        due_soon_days=due_soon_days,
    )


def dose_plan(
    spec: RegimenSpec,
    *,
    start_date: date,
    given: Sequence[GivenDose],
    options: Mapping[str, Any] | None = None,
    today: date,
    count: int = 4,
    due_soon_days: int = 21,
    until: date | None = None,
) -> list[PlannedDose]:
    """The next dose and the `count - 1` after it, each assumed given on its target date.

    The plan stops after a dose given only when the prescriber asks for it: what follows
    depends on that decision. With `until`, it also stops after the first dose due after
    that day (for a forecast that ends there).
    """
    history = _in_order(given)
    plan: list[PlannedDose] = []
    while len(plan) < count:
        planned = _plan_one(
            spec,
            start_date=start_date,
            given=history,
            options=options or {},
            today=today,
            due_soon_days=due_soon_days,
        )
        if planned is None:
            break
        plan.append(planned)
        if planned.when_needed or (until is not None and planned.target_date > until):
            break
        history.append(GivenDose(planned.target_date))
    return plan


def _every_months(first: date, every: int, *, until: date | None, window: tuple[date, date]) -> list[date]:
    """Dates `every` months apart after `first` (counted from `first`, so no drift), inside the window."""
    days = []
    step = 1
    while True:
        try:
            due = add_months(first, every * step)
        except OverflowError:  # the calendar ends before the window does
            return days
        if due > window[1] or (until is not None and due > until):
            return days
        if due >= window[0]:
            days.append(due)
        step += 1


def _months_after(day: date, months: int | None) -> date | None:
    """`day` plus `months`, the calendar's last day when that is past it; None for no limit."""
    if months is None:
        return None
    try:
        return add_months(day, months)
    except OverflowError:
        return date.max


def monitoring_due(
    spec: RegimenSpec,
    *,
    given: Sequence[GivenDose],
    today: date,
    authorization_expires_on: date | None = None,
    horizon_days: int = 31,
) -> list[MonitoringItem]:
    """Checks due by `today + horizon_days`: labs, reauthorization, authorization expiry.

    Periodic checks count from dose 1 and are listed when they fall between `today` and the
    horizon (the record of checks done lives outside Chairside, so a past date is not
    called overdue). An authorization that has expired, or expires within the horizon, is
    listed too, overdue once it has expired.
    """
    history = _in_order(given)
    horizon = today + timedelta(days=horizon_days)
    items: list[MonitoringItem] = []
    if history:
        first, last = history[0].date, history[-1].date
        reauthorization_rules = set()
        for rule in spec.monitoring:
            until = _months_after(last, rule.until_months_after_last_dose)
            if rule.kind == "reauthorization":
                reauthorization_rules.add(rule.every_months)
            for due in _every_months(first, rule.every_months, until=until, window=(today, horizon)):
                items.append(MonitoringItem(kind=rule.kind, name=rule.name, due_date=due, overdue=False))
        if spec.reauthorization_months and spec.reauthorization_months not in reauthorization_rules:
            for due in _every_months(first, spec.reauthorization_months, until=None, window=(today, horizon)):
                items.append(
                    MonitoringItem(
                        kind="reauthorization", name="Programme reauthorization", due_date=due, overdue=False
                    )
                )
    if authorization_expires_on is not None and authorization_expires_on <= horizon:
        items.append(
            MonitoringItem(
                kind="authorization_expiry",
                name="Programme authorization expires",
                due_date=authorization_expires_on,
                overdue=authorization_expires_on < today,
            )
        )
    return sorted(items, key=lambda item: (item.due_date, item.kind, item.name))


# --- A course's doses against each other ----------------------------------------------------------


@dataclass(frozen=True)
class SpacingProblem:
    """A dose whose date breaks the rules measured from the doses before it.

    `too_soon`: before its earliest date (the block's spacing, the minimum gap, the interval).
    Otherwise it lies past the end of its block's window: the block's doses (Ocrevus's two
    initiation doses, Lemtrada's consecutive days) drifted apart.
    """

    dose_number: int
    date: date
    neighbour: int  # the dose before it that it is measured from
    neighbour_date: date
    earliest_date: date
    latest_date: date
    too_soon: bool
    in_block: bool  # the two doses are one block (spacing days), not a new phase or interval
    rule: str  # the rule in words: "14 to 21 days after dose 1", "at least 5 months after dose 2"


def _rule_text(spec: RegimenSpec, planned: PlannedDose, neighbour: int, *, in_block: bool) -> str:
    phase = next((item for item in spec.phases if item.position == planned.phase_position), None)
    if phase is None:
        return f"not before {format_day(planned.earliest_date)}"
    if in_block:
        spacing = phase.spacing_days or 0
        late = spacing + spec.late_window_days
        unit = "day" if late == 1 else "days"
        if spacing == 1:
            return f"the day after dose {neighbour} (at most {late} {unit} after it)"
        return f"{spacing} to {late} {unit} after dose {neighbour}"
    if phase.min_gap_value:
        return f"at least {phase.min_gap_value} {phase.min_gap_unit} after dose {neighbour}"
    return f"not before {format_day(planned.earliest_date)}, counted from dose {neighbour}"


def spacing_problems(
    spec: RegimenSpec,
    *,
    start_date: date,
    dated: Mapping[int, date],
    options: Mapping[str, Any] | None = None,
) -> list[SpacingProblem]:
    """Every dose in `dated` ({dose number: local date}, given or booked) that breaks its window.

    Each dose is planned from the doses numbered before it, on their dates, exactly as
    `dose_plan` plans it: before its earliest date is too soon; inside a block (dose 2 of an
    initiation, day 2 of a Lemtrada course) after its latest date is too far from the dose
    before it. A dose that starts a new phase or interval may be late (it is overdue, not
    refused). Doses with nothing dated before them are measured against nothing.
    """
    problems: list[SpacingProblem] = []
    numbers = sorted(dated)
    for position, number in enumerate(numbers):
        before = numbers[:position]
        if not before:
            continue
        history = [GivenDose(dated[earlier]) for earlier in before]
        try:
            plan = dose_plan(
                spec,
                start_date=start_date,
                given=history,
                options=options,
                today=dated[number],
                count=number - len(before),
            )
        except OverflowError:
            continue
        index = number - len(before) - 1
        if index >= len(plan):
            continue
        planned = plan[index]
        neighbour = before[-1]
        in_block = planned.dose_in_block > 1 and neighbour == number - 1
        day = dated[number]
        too_soon = day < planned.earliest_date
        if too_soon or (in_block and day > planned.latest_date):
            problems.append(
                SpacingProblem(
                    dose_number=number,
                    date=day,
                    neighbour=neighbour,
                    neighbour_date=dated[neighbour],
                    earliest_date=planned.earliest_date,
                    latest_date=planned.latest_date,
                    too_soon=too_soon,
                    in_block=in_block,
                    rule=_rule_text(spec, planned, neighbour, in_block=in_block),
                )
            )
    return problems
