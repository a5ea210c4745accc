"""Properties of the dosing rules over any history of doses, for every seeded regimen."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.dosing import GivenDose, add_interval, dose_plan, next_dose
from clinic.models import Regimen

CODES = ["ocrevus", "ocrevus-zunovo", "tysabri", "tyruko", "lemtrada", "briumvi", "rituximab"]

histories = st.fixed_dictionaries(
    {
        "code": st.sampled_from(CODES),
        "start": st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
        # How many days after (or before) its target each dose was actually given.
        "offsets": st.lists(st.integers(min_value=-200, max_value=400), max_size=14),
        "reactions": st.lists(st.booleans(), max_size=14),
        "options": st.fixed_dictionaries(
            {"short_infusion": st.booleans(), "extended_interval": st.booleans()},
        ),
        "today_offset": st.integers(min_value=-400, max_value=400),
    }
)


@pytest.fixture
def specs(db):
    return {regimen.code: regimen.spec() for regimen in Regimen.objects.prefetch_related("phases", "monitoring")}


def build_history(spec, example) -> list[GivenDose]:
    """Give each dose `offset` days from its target, never on or before the previous dose."""
    history: list[GivenDose] = []
    for number, offset in enumerate(example["offsets"]):
        planned = next_dose(
            spec, start_date=example["start"], given=history, options=example["options"], today=example["start"]
        )
        if planned is None:
            break
        day = planned.target_date + timedelta(days=offset)
        if history:
            day = max(day, history[-1].date + timedelta(days=1))
        reaction = example["reactions"][number] if number < len(example["reactions"]) else False
        history.append(GivenDose(day, serious_reaction=reaction))
    return history


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(example=histories)
def test_the_earliest_date_never_precedes_the_minimum_gap_after_the_last_dose(specs, example):
    spec = specs[example["code"]]
    history = build_history(spec, example)
    today = example["start"] + timedelta(days=example["today_offset"])
    planned = next_dose(spec, start_date=example["start"], given=history, options=example["options"], today=today)
    if planned is None or not history:
        return
    last = history[-1].date
    phase = next(phase for phase in spec.phases if phase.position == planned.phase_position)
    assert planned.earliest_date > last
    if planned.dose_in_block > 1:
        assert planned.earliest_date >= last + timedelta(days=phase.spacing_days)
    elif phase.min_gap_value:
        assert planned.earliest_date >= add_interval(last, phase.min_gap_value, phase.min_gap_unit)


@SETTINGS
@given(example=histories)
def test_the_target_never_precedes_the_earliest_date(specs, example):
    spec = specs[example["code"]]
    history = build_history(spec, example)
    today = example["start"] + timedelta(days=example["today_offset"])
    plan = dose_plan(spec, start_date=example["start"], given=history, options=example["options"], today=today)
    for planned in plan:
        assert planned.earliest_date <= planned.target_date <= planned.latest_date
    # Each planned dose comes after the one before it, and the plan starts with the next dose.
    assert all(earlier.target_date < later.target_date for earlier, later in zip(plan, plan[1:], strict=False))
    if plan:
        first = next_dose(spec, start_date=example["start"], given=history, options=example["options"], today=today)
        assert first == plan[0]
        assert first.dose_number == len(history) + 1
