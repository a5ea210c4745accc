"""The dosing rules, table by table, against the seeded regimens (so the data is tested too).

Every expected date below is worked out by hand from the label facts, not from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.dosing import (
    DoseStatus,
    GivenDose,
    RegimenSpec,
    add_months,
    dose_plan,
    local_date,
    monitoring_due,
    next_dose,
)
from clinic.models import Regimen

D = date


def every(first: date, days: int, count: int) -> list[date]:
    return [first + timedelta(days=days * step) for step in range(count)]


@dataclass
class Case:
    id: str
    regimen: str
    start: date
    given: list[date]
    today: date
    expect: dict
    options: dict = field(default_factory=dict)
    reactions: tuple[int, ...] = ()  # dose numbers that had a serious infusion reaction
    chair: tuple[int, int, int] | None = None  # premed, infusion, observation minutes
    mild: tuple[int, ...] = ()  # dose numbers with a reaction neither serious nor hypersensitivity
    allergic: tuple[int, ...] = ()  # dose numbers with a reaction that looked like hypersensitivity

    def history(self) -> list[GivenDose]:
        return [
            GivenDose(
                day,
                serious_reaction=number in self.reactions,
                reaction=number in {*self.reactions, *self.mild, *self.allergic},
                hypersensitivity=number in self.allergic,
            )
            for number, day in enumerate(self.given, 1)
        ]


OCREVUS_INITIAL = [D(2027, 1, 6), D(2027, 1, 20)]
OCREVUS_INITIAL_GIVEN = [GivenDose(day) for day in OCREVUS_INITIAL]
LEMTRADA_COURSE_1 = every(D(2027, 3, 1), 1, 5)
LEMTRADA_COURSE_2 = every(D(2028, 3, 6), 1, 3)
TYSABRI_11 = every(D(2027, 1, 4), 28, 11)
TYSABRI_12 = every(D(2027, 1, 4), 28, 12)

CASES = [
    # --- Ocrevus ---------------------------------------------------------------------------
    Case(
        "ocrevus initiation: dose 1 on the start date",
        "ocrevus",
        D(2027, 1, 6),
        [],
        D(2027, 1, 4),
        dict(dose_number=1, phase="initial", dose_label="300 mg IV", target_date=D(2027, 1, 6)),
        chair=(30, 150, 60),
    ),
    Case(
        "ocrevus initiation: dose 2 fourteen days after dose 1 as given",
        "ocrevus",
        D(2027, 1, 6),
        [D(2027, 1, 8)],
        D(2027, 1, 10),
        dict(dose_number=2, phase="initial", target_date=D(2027, 1, 22), earliest_date=D(2027, 1, 22)),
        chair=(30, 150, 60),
    ),
    Case(
        "ocrevus maintenance counts from infusion 1, at least 5 months after dose 2",
        "ocrevus",
        D(2027, 1, 6),
        OCREVUS_INITIAL,
        D(2027, 6, 20),
        dict(
            dose_number=3,
            phase="maintenance",
            dose_label="600 mg IV",
            target_date=D(2027, 7, 6),
            earliest_date=D(2027, 6, 20),
            latest_date=D(2027, 7, 13),
            status=DoseStatus.DUE_SOON,
            reason="dose 3, maintenance 600 mg IV: due 6 Jul 2027, not before 20 Jun 2027",
        ),
        chair=(30, 210, 60),
    ),
    Case(
        "ocrevus maintenance is still counted from infusion 1 when dose 2 came a week late",
        "ocrevus",
        D(2027, 1, 6),
        [D(2027, 1, 6), D(2027, 1, 27)],
        D(2027, 3, 1),
        dict(dose_number=3, target_date=D(2027, 7, 6), earliest_date=D(2027, 6, 27), status=DoseStatus.NOT_YET_DUE),
    ),
    Case(
        "ocrevus dose 2 given months late pushes dose 3 to the minimum gap",
        "ocrevus",
        D(2027, 1, 6),
        [D(2027, 1, 6), D(2027, 5, 6)],
        D(2027, 6, 1),
        dict(dose_number=3, target_date=D(2027, 10, 6), earliest_date=D(2027, 10, 6)),
    ),
    Case(
        "ocrevus dose on its target day is due",
        "ocrevus",
        D(2027, 1, 6),
        OCREVUS_INITIAL,
        D(2027, 7, 6),
        dict(dose_number=3, status=DoseStatus.DUE),
    ),
    Case(
        "ocrevus dose on the last day of its window is still due",
        "ocrevus",
        D(2027, 1, 6),
        OCREVUS_INITIAL,
        D(2027, 7, 13),
        dict(dose_number=3, status=DoseStatus.DUE),
    ),
    Case(
        "ocrevus late dose: overdue the day after its window",
        "ocrevus",
        D(2027, 1, 6),
        OCREVUS_INITIAL,
        D(2027, 7, 14),
        dict(dose_number=3, target_date=D(2027, 7, 6), status=DoseStatus.OVERDUE),
    ),
    Case(
        "ocrevus missed dose: the one after comes 6 months after the dose actually given",
        "ocrevus",
        D(2027, 1, 6),
        [*OCREVUS_INITIAL, D(2027, 10, 4)],
        D(2027, 10, 5),
        dict(
            dose_number=4,
            phase="maintenance",
            target_date=D(2028, 4, 4),
            earliest_date=D(2028, 3, 4),
            status=DoseStatus.NOT_YET_DUE,
        ),
    ),
    Case(
        "ocrevus dose given early inside the minimum gap: the next counts from the dose given",
        "ocrevus",
        D(2027, 1, 6),
        [*OCREVUS_INITIAL, D(2027, 5, 1)],
        D(2027, 5, 2),
        dict(dose_number=4, target_date=D(2027, 11, 1), earliest_date=D(2027, 10, 1)),
    ),
    Case(
        "ocrevus short infusion for a course that allows it",
        "ocrevus",
        D(2027, 1, 6),
        OCREVUS_INITIAL,
        D(2027, 6, 20),
        dict(dose_number=3),
        options={"short_infusion": True},
        chair=(30, 120, 60),
    ),
    Case(
        "ocrevus short infusion never for the 300 mg initial doses",
        "ocrevus",
        D(2027, 1, 6),
        [D(2027, 1, 6)],
        D(2027, 1, 6),
        dict(dose_number=2),
        options={"short_infusion": True},
        chair=(30, 150, 60),
    ),
    Case(
        "ocrevus short infusion withdrawn after an earlier serious reaction",
        "ocrevus",
        D(2027, 1, 6),
        OCREVUS_INITIAL,
        D(2027, 6, 20),
        dict(dose_number=3),
        options={"short_infusion": True},
        reactions=(2,),
        chair=(30, 210, 60),
    ),
    # --- Ocrevus Zunovo --------------------------------------------------------------------
    Case(
        "ocrevus zunovo initiation: an hour of observation after the first injection",
        "ocrevus-zunovo",
        D(2027, 2, 1),
        [],
        D(2027, 2, 1),
        dict(dose_number=1, phase="maintenance", target_date=D(2027, 2, 1), status=DoseStatus.DUE),
        chair=(30, 10, 60),
    ),
    Case(
        "ocrevus zunovo maintenance: 6 months later, 15 minutes of observation",
        "ocrevus-zunovo",
        D(2027, 2, 1),
        [D(2027, 2, 1)],
        D(2027, 2, 2),
        dict(dose_number=2, target_date=D(2027, 8, 1), earliest_date=D(2027, 8, 1)),
        chair=(30, 10, 15),
    ),
    # --- Tysabri and Tyruko ----------------------------------------------------------------
    Case(
        "tysabri initiation",
        "tysabri",
        D(2027, 1, 4),
        [],
        D(2026, 12, 1),
        dict(dose_number=1, target_date=D(2027, 1, 4), status=DoseStatus.NOT_YET_DUE),
        chair=(0, 60, 60),
    ),
    Case(
        "tysabri maintenance every 4 weeks",
        "tysabri",
        D(2027, 1, 4),
        [D(2027, 1, 4)],
        D(2027, 1, 20),
        dict(dose_number=2, target_date=D(2027, 2, 1), earliest_date=D(2027, 2, 1), status=DoseStatus.DUE_SOON),
    ),
    Case(
        "tysabri on the extended interval: every 6 weeks",
        "tysabri",
        D(2027, 1, 4),
        [D(2027, 1, 4)],
        D(2027, 1, 20),
        dict(dose_number=2, target_date=D(2027, 2, 15)),
        options={"extended_interval": True},
    ),
    Case(
        "tysabri switched to the extended interval counts 6 weeks from the last infusion",
        "tysabri",
        D(2027, 1, 4),
        TYSABRI_12,
        D(2027, 11, 9),
        dict(dose_number=13, target_date=D(2027, 12, 20)),
        options={"extended_interval": True},
        chair=(0, 60, 0),
    ),
    Case(
        "tysabri infusion 12 still has an hour of observation",
        "tysabri",
        D(2027, 1, 4),
        TYSABRI_11,
        D(2027, 11, 1),
        dict(dose_number=12, target_date=D(2027, 11, 8), observation_required=True),
        chair=(0, 60, 60),
    ),
    Case(
        "tysabri infusion 13 has no set observation",
        "tysabri",
        D(2027, 1, 4),
        TYSABRI_12,
        D(2027, 11, 9),
        dict(dose_number=13, target_date=D(2027, 12, 6), observation_required=False),
        chair=(0, 60, 0),
    ),
    Case(
        "tysabri infusion 13 keeps the observation after an earlier hypersensitivity reaction",
        "tysabri",
        D(2027, 1, 4),
        TYSABRI_12,
        D(2027, 11, 9),
        dict(dose_number=13, observation_required=True),
        allergic=(5,),
        chair=(0, 60, 60),
    ),
    Case(
        "tysabri infusion 13 without set observation after a reaction that was not hypersensitivity",
        "tysabri",
        D(2027, 1, 4),
        TYSABRI_12,
        D(2027, 11, 9),
        dict(dose_number=13, observation_required=False),
        reactions=(4,),
        mild=(5,),
        chair=(0, 60, 0),
    ),
    Case(
        "tyruko infusion 13 every 4 weeks without set observation",
        "tyruko",
        D(2027, 1, 4),
        TYSABRI_12,
        D(2027, 11, 9),
        dict(dose_number=13, target_date=D(2027, 12, 6)),
        chair=(0, 60, 0),
    ),
    # --- Lemtrada --------------------------------------------------------------------------
    Case(
        "lemtrada course 1: consecutive days with premedication",
        "lemtrada",
        D(2027, 3, 1),
        [D(2027, 3, 1)],
        D(2027, 3, 1),
        dict(dose_number=2, phase="course 1", dose_in_block=2, block_size=5, target_date=D(2027, 3, 2)),
        chair=(60, 240, 120),
    ),
    Case(
        "lemtrada course 1 day 4 without the steroid premedication",
        "lemtrada",
        D(2027, 3, 1),
        LEMTRADA_COURSE_1[:3],
        D(2027, 3, 3),
        dict(dose_number=4, dose_in_block=4, target_date=D(2027, 3, 4), status=DoseStatus.DUE_SOON),
        chair=(0, 240, 120),
    ),
    Case(
        "lemtrada course 2: 12 months after the last dose of course 1",
        "lemtrada",
        D(2027, 3, 1),
        LEMTRADA_COURSE_1,
        D(2028, 2, 20),
        dict(
            dose_number=6,
            phase="course 2",
            dose_in_block=1,
            block_size=3,
            target_date=D(2028, 3, 5),
            earliest_date=D(2028, 3, 5),
            status=DoseStatus.DUE_SOON,
            when_needed=False,
        ),
        chair=(60, 240, 120),
    ),
    Case(
        "lemtrada course 2 day 2 follows the day 1 actually given",
        "lemtrada",
        D(2027, 3, 1),
        [*LEMTRADA_COURSE_1, D(2028, 3, 6)],
        D(2028, 3, 6),
        dict(dose_number=7, phase="course 2", dose_in_block=2, target_date=D(2028, 3, 7)),
        chair=(60, 240, 120),
    ),
    Case(
        "lemtrada course 3 is only when needed, at least 12 months after course 2, never overdue",
        "lemtrada",
        D(2027, 3, 1),
        [*LEMTRADA_COURSE_1, *LEMTRADA_COURSE_2],
        D(2031, 1, 1),
        dict(
            dose_number=9,
            phase="further course",
            earliest_date=D(2029, 3, 8),
            when_needed=True,
            status=DoseStatus.NOT_YET_DUE,
            reason="dose 9, further course 12 mg/day IV: only when the prescriber asks for it, not before 8 Mar 2029",
        ),
    ),
    Case(
        "lemtrada course 3 day 2 is due once day 1 was given",
        "lemtrada",
        D(2027, 3, 1),
        [*LEMTRADA_COURSE_1, *LEMTRADA_COURSE_2, D(2030, 5, 2)],
        D(2030, 5, 3),
        dict(dose_number=10, dose_in_block=2, target_date=D(2030, 5, 3), when_needed=False, status=DoseStatus.DUE),
        chair=(60, 240, 120),
    ),
    Case(
        "lemtrada course 4 at least 12 months after the last dose of course 3",
        "lemtrada",
        D(2027, 3, 1),
        [*LEMTRADA_COURSE_1, *LEMTRADA_COURSE_2, *every(D(2030, 5, 2), 1, 3)],
        D(2030, 6, 1),
        dict(dose_number=12, earliest_date=D(2031, 5, 4), when_needed=True),
    ),
    # --- Briumvi ---------------------------------------------------------------------------
    Case(
        "briumvi initiation: a 4-hour first infusion",
        "briumvi",
        D(2027, 1, 6),
        [],
        D(2027, 1, 6),
        dict(dose_number=1, target_date=D(2027, 1, 6), first_infusion=True),
        chair=(30, 240, 60),
    ),
    Case(
        "briumvi dose 2 fourteen days later over an hour",
        "briumvi",
        D(2027, 1, 6),
        [D(2027, 1, 6)],
        D(2027, 1, 6),
        dict(dose_number=2, target_date=D(2027, 1, 20), first_infusion=False),
        chair=(30, 60, 60),
    ),
    Case(
        "briumvi maintenance 24 weeks after infusion 1, at least 5 months after dose 2, no set observation",
        "briumvi",
        D(2027, 1, 6),
        [D(2027, 1, 6), D(2027, 1, 20)],
        D(2027, 2, 1),
        dict(dose_number=3, phase="maintenance", target_date=D(2027, 6, 23), earliest_date=D(2027, 6, 20)),
        chair=(30, 60, 0),
    ),
    Case(
        "briumvi maintenance keeps the observation after any earlier infusion reaction",
        "briumvi",
        D(2027, 1, 6),
        [D(2027, 1, 6), D(2027, 1, 20)],
        D(2027, 2, 1),
        dict(dose_number=3),
        mild=(1,),
        chair=(30, 60, 60),
    ),
    # --- Rituximab -------------------------------------------------------------------------
    Case(
        "rituximab initiation: the longer first infusion",
        "rituximab",
        D(2027, 1, 6),
        [],
        D(2027, 1, 6),
        dict(dose_number=1),
        chair=(30, 255, 0),
    ),
    Case(
        "rituximab dose 2 at the standard rate",
        "rituximab",
        D(2027, 1, 6),
        [D(2027, 1, 6)],
        D(2027, 1, 6),
        dict(dose_number=2, target_date=D(2027, 1, 20)),
        chair=(30, 195, 0),
    ),
    Case(
        "rituximab maintenance 6 months after the previous dose, not sooner than 16 weeks",
        "rituximab",
        D(2027, 1, 6),
        [D(2027, 1, 6), D(2027, 1, 20)],
        D(2027, 2, 1),
        dict(dose_number=3, target_date=D(2027, 7, 20), earliest_date=D(2027, 5, 12), observation_required=False),
    ),
    # --- Month ends and leap days ----------------------------------------------------------
    Case(
        "a 31 August start reaches 29 February in a leap year",
        "ocrevus",
        D(2027, 8, 31),
        [D(2027, 8, 31), D(2027, 9, 14)],
        D(2027, 9, 15),
        dict(dose_number=3, target_date=D(2028, 2, 29), earliest_date=D(2028, 2, 14)),
    ),
    Case(
        "a 31 August start clamps to 28 February in a common year",
        "ocrevus",
        D(2026, 8, 31),
        [D(2026, 8, 31), D(2026, 9, 14)],
        D(2026, 9, 15),
        dict(dose_number=3, target_date=D(2027, 2, 28)),
    ),
    Case(
        "a dose on 31 March is followed 6 months later on 30 September",
        "ocrevus",
        D(2026, 9, 30),
        [D(2026, 9, 30), D(2026, 10, 14), D(2027, 3, 31)],
        D(2027, 4, 1),
        dict(dose_number=4, target_date=D(2027, 9, 30), earliest_date=D(2027, 8, 31)),
    ),
    Case(
        "a 5-month minimum gap from 30 September clamps to 28 February",
        "ocrevus",
        D(2026, 9, 16),
        [D(2026, 9, 16), D(2026, 9, 30)],
        D(2026, 10, 1),
        dict(dose_number=3, target_date=D(2027, 3, 16), earliest_date=D(2027, 2, 28)),
    ),
    Case(
        "a leap-day dose comes back 6 months later on the 29th",
        "ocrevus-zunovo",
        D(2028, 2, 29),
        [D(2028, 2, 29)],
        D(2028, 3, 1),
        dict(dose_number=2, target_date=D(2028, 8, 29)),
    ),
    Case(
        "a Lemtrada course ending on a leap day: course 2 on 28 February",
        "lemtrada",
        D(2028, 2, 25),
        every(D(2028, 2, 25), 1, 5),
        D(2028, 3, 1),
        dict(dose_number=6, target_date=D(2029, 2, 28)),
    ),
    Case(
        "four weeks across a leap day",
        "tysabri",
        D(2028, 2, 1),
        [D(2028, 2, 1)],
        D(2028, 2, 2),
        dict(dose_number=2, target_date=D(2028, 2, 29)),
    ),
]


@pytest.fixture
def seeded_specs(db) -> dict[str, RegimenSpec]:
    return {regimen.code: regimen.spec() for regimen in Regimen.objects.prefetch_related("phases", "monitoring")}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_next_dose_follows_the_label(case: Case, seeded_specs):
    planned = next_dose(
        seeded_specs[case.regimen],
        start_date=case.start,
        given=case.history(),
        options=case.options,
        today=case.today,
    )
    assert planned is not None
    actual = {key: getattr(planned, key) for key in case.expect}
    assert actual == case.expect
    if case.chair is not None:
        chair_time = planned.chair_time
        assert (chair_time.premed_minutes, chair_time.infusion_minutes, chair_time.observation_minutes) == case.chair
    assert planned.latest_date == planned.target_date + timedelta(days=7)


def test_it_reads_a_regimen_in_two_queries(db, django_assert_num_queries):
    regimen = Regimen.objects.get(code="ocrevus")
    with django_assert_num_queries(2):
        spec = regimen.spec()
    assert [phase.name for phase in spec.phases] == ["initial", "maintenance"]


def test_it_reads_a_prefetched_regimen_without_a_query(db, django_assert_num_queries):
    regimen = Regimen.objects.prefetch_related("phases", "monitoring").get(code="lemtrada")
    with django_assert_num_queries(0):
        spec = regimen.spec()
    assert [phase.position for phase in spec.phases] == [1, 2, 3]
    assert spec.phases[2].when_needed is True
    assert {rule.every_months for rule in spec.monitoring} == {1, 3}


def test_the_plan_assumes_each_dose_is_given_on_its_target_date(seeded_specs):
    plan = dose_plan(
        seeded_specs["ocrevus"], start_date=D(2027, 1, 6), given=[], today=D(2027, 1, 1), count=5, due_soon_days=21
    )
    assert [dose.target_date for dose in plan] == [
        D(2027, 1, 6),
        D(2027, 1, 20),
        D(2027, 7, 6),
        D(2028, 1, 6),
        D(2028, 7, 6),
    ]
    assert [dose.status for dose in plan] == [DoseStatus.DUE_SOON] * 2 + [DoseStatus.NOT_YET_DUE] * 3
    assert plan[0].first_infusion and not plan[1].first_infusion


def test_the_plan_stops_at_a_course_given_only_when_needed(seeded_specs):
    plan = dose_plan(seeded_specs["lemtrada"], start_date=D(2027, 3, 1), given=[], today=D(2027, 1, 1), count=20)
    assert [dose.dose_number for dose in plan] == list(range(1, 10))
    assert [dose.phase for dose in plan] == ["course 1"] * 5 + ["course 2"] * 3 + ["further course"]
    assert plan[-1].when_needed


def test_a_regimen_without_a_repeating_phase_ends(seeded_specs):
    spec = seeded_specs["ocrevus"]
    initial_only = RegimenSpec(
        code="trial",
        name="Two doses only",
        late_window_days=3,
        requires_authorization=False,
        reauthorization_months=None,
        pregnancy_check=False,
        phases=spec.phases[:1],
    )
    assert next_dose(initial_only, start_date=D(2027, 1, 6), given=OCREVUS_INITIAL_GIVEN, today=D(2027, 2, 1)) is None
    assert (
        dose_plan(initial_only, start_date=D(2027, 1, 6), given=[], today=D(2027, 1, 1), count=4)[-1].dose_number == 2
    )


def test_a_dose_given_late_in_the_evening_across_a_daylight_saving_change_keeps_its_local_date(seeded_specs):
    new_york = ZoneInfo("America/New_York")
    # Clocks went forward on 14 March 2027; 21:30 EDT that evening is already 15 March in UTC.
    given_at = datetime(2027, 3, 15, 1, 30, tzinfo=UTC)
    assert local_date(given_at, new_york) == D(2027, 3, 14)
    planned = next_dose(
        seeded_specs["tysabri"],
        start_date=D(2027, 3, 14),
        given=[GivenDose(local_date(given_at, new_york))],
        today=D(2027, 3, 15),
    )
    assert planned.target_date == D(2027, 4, 11)


def test_local_dates_follow_the_autumn_change_in_london():
    london = ZoneInfo("Europe/London")
    # 31 October 2027 has 25 hours in London: 23:30 GMT is 23:30 UTC; the evening before, 23:30 BST is 22:30 UTC.
    assert local_date(datetime(2027, 10, 30, 22, 30, tzinfo=UTC), london) == D(2027, 10, 30)
    assert local_date(datetime(2027, 10, 31, 23, 30, tzinfo=UTC), london) == D(2027, 10, 31)
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2027, 10, 31, 23, 30), london)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2027, 1, 31), 1, D(2027, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2027, 8, 31), 6, D(2028, 2, 29)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2027, 12, 15), 1, D(2028, 1, 15)),
        (D(2027, 3, 31), -1, D(2027, 2, 28)),
        (D(2027, 5, 31), 48, D(2031, 5, 31)),
    ],
)
def test_calendar_months_clamp_to_the_end_of_the_month(day, months, expected):
    assert add_months(day, months) == expected


def test_lemtrada_monthly_labs_run_until_48_months_after_the_last_infusion(seeded_specs):
    spec = seeded_specs["lemtrada"]
    given = [GivenDose(day) for day in [*LEMTRADA_COURSE_1, *LEMTRADA_COURSE_2]]
    # Labs count from dose 1 (1 March 2027); the last infusion was 8 March 2028, so they stop on 8 March 2032.
    items = monitoring_due(spec, given=given, today=D(2031, 12, 20), horizon_days=31)
    assert [(item.name.split(",")[0], item.due_date) for item in items] == [
        ("CBC with differential", D(2032, 1, 1)),
    ]
    assert [item.due_date for item in monitoring_due(spec, given=given, today=D(2032, 2, 20), horizon_days=31)] == [
        D(2032, 3, 1),
        D(2032, 3, 1),
    ]
    assert monitoring_due(spec, given=given, today=D(2032, 3, 2), horizon_days=31) == []


def test_tysabri_reauthorization_every_6_months_from_dose_1_and_the_authorization_expiry(seeded_specs):
    spec = seeded_specs["tysabri"]
    given = [GivenDose(day) for day in TYSABRI_12]
    items = monitoring_due(
        spec, given=given, today=D(2027, 6, 20), authorization_expires_on=D(2027, 7, 1), horizon_days=31
    )
    assert [(item.kind, item.due_date, item.overdue) for item in items] == [
        ("authorization_expiry", D(2027, 7, 1), False),
        ("reauthorization", D(2027, 7, 4), False),
    ]
    expired = monitoring_due(spec, given=given, today=D(2027, 8, 1), authorization_expires_on=D(2027, 7, 1))
    assert [(item.kind, item.overdue) for item in expired] == [("authorization_expiry", True)]


def test_no_monitoring_before_dose_1(seeded_specs):
    assert monitoring_due(seeded_specs["lemtrada"], given=[], today=D(2027, 1, 1)) == []
