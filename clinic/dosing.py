"""The dosing rules: pure functions over a regimen's data and a course's dose history.

Nothing here touches the database: a regimen arrives as a `RegimenSpec` (built once from
the model by `Regimen.spec()`), the doses given as their local dates. Booking, the
worklist, the roster and reminders all ask these functions the same question: which dose
comes next, when is it due, how early may it be given, and how long will it take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


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
        raise NotImplementedError


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


@dataclass(frozen=True)
class MonitoringItem:
    kind: str  # "labs", "reauthorization", "authorization_expiry"
    name: str
    due_date: date
    overdue: bool


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
    raise NotImplementedError


def dose_plan(
    spec: RegimenSpec,
    *,
    start_date: date,
    given: Sequence[GivenDose],
    options: Mapping[str, Any] | None = None,
    today: date,
    count: int = 4,
    due_soon_days: int = 21,
) -> list[PlannedDose]:
    """The next dose and the `count - 1` after it, each assumed given on its target date."""
    raise NotImplementedError


def monitoring_due(
    spec: RegimenSpec,
    *,
    given: Sequence[GivenDose],
    today: date,
    authorization_expires_on: date | None = None,
    horizon_days: int = 31,
) -> list[MonitoringItem]:
    """Checks due by `today + horizon_days`: labs, reauthorization, authorization expiry."""
    raise NotImplementedError
