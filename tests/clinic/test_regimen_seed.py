"""The seeded regimens match the label facts Chairside ships with.

Each row of EXPECTED is read off `domain/ms-infusion-regimens.md` (sections 1-7 and the
chair-time table of section 9). The test also cross-checks the machine-readable YAML at the
end of that file where its fields mean the same as ours, so a changed fact shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clinic.models import MonitoringRule, Regimen

FACTS = Path(__file__).resolve().parents[3] / "shared" / "domain" / "ms-infusion-regimens.md"

# (code, position): doses, spacing_days, repeats, interval, anchor, min_gap, premed, premed_doses,
# infusion, first_infusion, short option, observation, observation_infusions, later_observation,
# reaction_keeps_observation
EXPECTED = {
    ("ocrevus", 1): dict(
        name="initial",
        dose_label="300 mg IV",
        doses=2,
        spacing_days=14,
        repeats=False,
        interval=None,
        min_gap=None,
        premed_minutes=30,
        infusion_minutes=150,
        observation_minutes=60,
    ),
    ("ocrevus", 2): dict(
        name="maintenance",
        dose_label="600 mg IV",
        doses=1,
        repeats=True,
        interval=(6, "months", "first_dose"),
        min_gap=(5, "months"),
        infusion_minutes=210,
        short_infusion=("short_infusion", 120),
        observation_minutes=60,
        observation_infusions=None,
    ),
    ("ocrevus-zunovo", 1): dict(
        doses=1,
        repeats=True,
        interval=(6, "months", None),
        min_gap=None,
        premed_minutes=30,
        infusion_minutes=10,
        observation_minutes=60,
        observation_infusions=1,
        later_observation_minutes=15,
    ),
    ("tysabri", 1): dict(
        doses=1,
        repeats=True,
        interval=(4, "weeks", None),
        alternative=("extended_interval", 6, "weeks"),
        min_gap=None,
        premed_minutes=0,
        infusion_minutes=60,
        observation_minutes=60,
        observation_infusions=12,
        later_observation_minutes=0,
        reaction_keeps_observation=True,
    ),
    ("tyruko", 1): dict(
        doses=1,
        repeats=True,
        interval=(4, "weeks", None),
        min_gap=None,
        premed_minutes=0,
        infusion_minutes=60,
        observation_minutes=60,
        observation_infusions=12,
        later_observation_minutes=0,
    ),
    ("lemtrada", 1): dict(
        doses=5,
        spacing_days=1,
        repeats=False,
        interval=None,
        premed_minutes=60,
        premed_doses=3,
        infusion_minutes=240,
        observation_minutes=120,
    ),
    ("lemtrada", 2): dict(
        doses=3,
        spacing_days=1,
        repeats=False,
        interval=(12, "months", "previous_dose"),
        min_gap=(12, "months"),
        premed_doses=3,
        infusion_minutes=240,
        observation_minutes=120,
    ),
    ("lemtrada", 3): dict(
        doses=3,
        spacing_days=1,
        repeats=True,
        when_needed=True,
        interval=(12, "months", "previous_dose"),
        min_gap=(12, "months"),
        infusion_minutes=240,
        observation_minutes=120,
    ),
    ("briumvi", 1): dict(
        doses=2,
        spacing_days=14,
        repeats=False,
        infusion_minutes=60,
        first_infusion_minutes=240,
        observation_minutes=60,
    ),
    ("briumvi", 2): dict(
        doses=1,
        repeats=True,
        interval=(24, "weeks", "first_dose"),
        min_gap=(5, "months"),
        infusion_minutes=60,
        observation_minutes=60,
        observation_infusions=2,
        later_observation_minutes=0,
        reaction_keeps_observation=True,
    ),
    ("rituximab", 1): dict(
        doses=2,
        spacing_days=14,
        premed_minutes=30,
        infusion_minutes=195,
        first_infusion_minutes=255,
    ),
    ("rituximab", 2): dict(
        doses=1,
        repeats=True,
        interval=(6, "months", "previous_dose"),
        min_gap=(16, "weeks"),
        infusion_minutes=195,
    ),
}

PHASE_COUNTS = {
    "ocrevus": 2,
    "ocrevus-zunovo": 1,
    "tysabri": 1,
    "tyruko": 1,
    "lemtrada": 3,
    "briumvi": 2,
    "rituximab": 2,
}


@pytest.fixture
def phases(db):
    return {
        (phase.regimen.code, phase.position): phase
        for regimen in Regimen.objects.prefetch_related("phases")
        for phase in regimen.phases.all()
    }


def test_every_regimen_the_facts_file_names_is_seeded_with_its_phases(db):
    counts = {regimen.code: regimen.phases.count() for regimen in Regimen.objects.all()}
    assert counts == PHASE_COUNTS


@pytest.mark.parametrize("key", sorted(EXPECTED), ids=lambda key: f"{key[0]}-phase{key[1]}")
def test_each_seeded_phase_matches_the_label_facts(phases, key):
    phase = phases[key]
    expected = EXPECTED[key]
    for field in (
        "name",
        "dose_label",
        "doses",
        "spacing_days",
        "repeats",
        "when_needed",
        "premed_minutes",
        "premed_doses",
        "infusion_minutes",
        "first_infusion_minutes",
        "observation_minutes",
        "observation_infusions",
        "later_observation_minutes",
        "reaction_keeps_observation",
    ):
        if field in expected:
            assert getattr(phase, field) == expected[field], field
    if "interval" in expected:
        if expected["interval"] is None:
            assert phase.interval_value is None
        else:
            value, unit, anchor = expected["interval"]
            assert (phase.interval_value, phase.interval_unit) == (value, unit)
            if anchor:
                assert phase.interval_anchor == anchor
    if "min_gap" in expected:
        if expected["min_gap"] is None:
            assert phase.min_gap_value is None
        else:
            assert (phase.min_gap_value, phase.min_gap_unit) == expected["min_gap"]
    if "short_infusion" in expected:
        assert (phase.short_infusion_option, phase.short_infusion_minutes) == expected["short_infusion"]
    else:
        assert phase.short_infusion_option == ""
    if "alternative" in expected:
        option, value, unit = expected["alternative"]
        assert (phase.alternative_interval_option, phase.alternative_interval_value) == (option, value)
        assert phase.alternative_interval_unit == unit
    assert phase.source.strip(), "every phase names where its numbers come from"


@pytest.mark.parametrize(
    "code, programme, requires_authorization, reauthorization_months, pregnancy_check",
    [
        ("tysabri", "TOUCH Prescribing Program (REMS)", True, 6, False),
        ("tyruko", "TYRUKO REMS", True, 6, False),
        ("lemtrada", "LEMTRADA REMS", True, None, False),
        ("briumvi", "", False, None, True),
        ("ocrevus", "", False, None, False),
    ],
)
def test_programmes_and_per_dose_checks_are_seeded(
    db, code, programme, requires_authorization, reauthorization_months, pregnancy_check
):
    regimen = Regimen.objects.get(code=code)
    assert regimen.programme == programme
    assert regimen.requires_authorization is requires_authorization
    assert regimen.reauthorization_months == reauthorization_months
    assert regimen.pregnancy_check is pregnancy_check
    assert regimen.sources.strip()


def test_lemtrada_monitoring_runs_monthly_labs_until_48_months_after_the_last_dose(db):
    labs = MonitoringRule.objects.get(regimen__code="lemtrada", every_months=1)
    assert labs.kind == MonitoringRule.Kind.LABS
    assert labs.until_months_after_last_dose == 48
    assert "CBC" in labs.name


def test_course_options_are_offered_where_the_label_or_practice_allows_them(db):
    assert dict(Regimen.objects.get(code="ocrevus").option_choices()).keys() == {"short_infusion"}
    assert dict(Regimen.objects.get(code="tysabri").option_choices()).keys() == {"extended_interval"}
    assert Regimen.objects.get(code="lemtrada").option_choices() == []


def _facts_yaml():
    if not FACTS.exists():
        pytest.skip(f"The facts file is not beside the project ({FACTS}).")
    import yaml

    block = re.search(r"```yaml\n(.*?)```", FACTS.read_text(), re.S)
    assert block, "the facts file keeps its machine-readable regimens in a yaml block"
    return {entry["drug"]: entry for entry in yaml.safe_load(block.group(1))["regimens"]}


YAML_PHASES = {
    # our (code, position) -> the facts file's (drug, phase name)
    ("ocrevus", 1): ("ocrevus", "initial"),
    ("ocrevus", 2): ("ocrevus", "maintenance"),
    ("ocrevus-zunovo", 1): ("ocrevus_zunovo", "maintenance"),
    ("tysabri", 1): ("tysabri", "maintenance"),
    ("tyruko", 1): ("tyruko", "maintenance"),
    ("lemtrada", 1): ("lemtrada", "course_1"),
    ("lemtrada", 2): ("lemtrada", "course_2"),
    ("lemtrada", 3): ("lemtrada", "additional_courses"),
    ("briumvi", 1): ("briumvi", "initial"),
    ("briumvi", 2): ("briumvi", "maintenance"),
    ("rituximab", 1): ("rituximab", "initial"),
    ("rituximab", 2): ("rituximab", "maintenance"),
}


def _minimum(value):
    if isinstance(value, dict):
        return value["min"]
    return value


@pytest.mark.parametrize("key", sorted(YAML_PHASES), ids=lambda key: f"{key[0]}-phase{key[1]}")
def test_seeded_numbers_agree_with_the_facts_files_yaml(phases, key):
    drug, phase_name = YAML_PHASES[key]
    fact = next(p for p in _facts_yaml()[drug]["phases"] if p["name"] == phase_name)
    phase = phases[key]
    if fact.get("count"):
        assert phase.doses == fact["count"]
    if fact.get("spacing_days"):
        assert phase.spacing_days == fact["spacing_days"]
    infusion = fact["infusion_minutes"]
    if isinstance(infusion, list):  # [first infusion, later infusions]
        assert (phase.first_infusion_minutes, phase.infusion_minutes) == tuple(infusion)
    elif isinstance(infusion, dict):  # a range: ours is its upper end (the 1000 mg dose)
        assert infusion["min"] <= phase.infusion_minutes <= infusion["max"]
    else:
        assert phase.infusion_minutes == infusion
    if isinstance(fact.get("premed_minutes"), (int, dict)):
        assert phase.premed_minutes == _minimum(fact["premed_minutes"])
    observation = fact.get("observation_minutes_first", fact.get("observation_minutes"))
    if observation is not None:
        assert phase.observation_minutes == observation or (
            observation == 0 and phase.later_observation_minutes == 0 and phase.observation_infusions
        )
    if fact.get("infusion_minutes_short_option"):
        assert phase.short_infusion_minutes == fact["infusion_minutes_short_option"]
    if fact.get("min_gap"):
        assert (phase.min_gap_value, phase.min_gap_unit) == (fact["min_gap"]["value"], fact["min_gap"]["unit"])
    if fact.get("interval") and key[1] > 1:
        assert (phase.interval_value, phase.interval_unit) == (fact["interval"]["value"], fact["interval"]["unit"])
