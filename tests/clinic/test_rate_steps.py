"""Infusion rate steps on the clinic's clock (pure), the seeded schedules, and the roster showing them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from clinic.models import RateStep
from clinic.rates import RateStepSpec, rate_schedule, steps_for
from scheduling.models import Appointment
from tests.helpers import book_directly, give, local, make_course

LONDON = ZoneInfo("Europe/London")
OCREVUS_600 = [
    RateStepSpec(0, 40),
    RateStepSpec(30, 80),
    RateStepSpec(60, 120),
    RateStepSpec(90, 160),
    RateStepSpec(120, 200),
]


def at(hour: int, minute: int = 0, day: date = date(2027, 7, 5)) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


# --- Pure: the steps on the clock ------------------------------------------------------------


def test_each_step_falls_on_the_clock_from_the_actual_start():
    schedule = rate_schedule(OCREVUS_600, started_at=at(9, 45), now=at(10, 20), tz=LONDON)

    assert [(step.clock, step.rate_text) for step in schedule.steps] == [
        ("09:45", "40 mL/h"),
        ("10:15", "80 mL/h"),
        ("10:45", "120 mL/h"),
        ("11:15", "160 mL/h"),
        ("11:45", "200 mL/h"),
    ]
    assert [step.state for step in schedule.steps] == ["done", "current", "next", "later", "later"]
    assert schedule.next_text == "next: 120 mL/h at 10:45"


def test_a_step_whose_time_has_come_is_the_current_one():
    schedule = rate_schedule(OCREVUS_600, started_at=at(9, 45), now=at(10, 45), tz=LONDON)

    assert schedule.current.rate == 120
    assert schedule.next_text == "next: 160 mL/h at 11:15"


def test_before_the_start_the_first_step_is_next():
    schedule = rate_schedule(OCREVUS_600, started_at=at(9, 45), now=at(9, 40), tz=LONDON)

    assert schedule.current is None
    assert schedule.next_text == "next: 40 mL/h at 09:45"


def test_after_the_last_step_it_says_the_final_rate():
    schedule = rate_schedule(OCREVUS_600, started_at=at(9, 45), now=at(12, 30), tz=LONDON)

    assert schedule.next is None
    assert schedule.next_text == "at the final rate, 200 mL/h, since 11:45"


def test_steps_count_real_minutes_across_a_daylight_saving_change():
    # Clocks go back at 02:00 BST on 31 Oct 2027: 30 real minutes after 01:45 BST is 01:15 GMT.
    started = datetime(2027, 10, 31, 0, 45, tzinfo=UTC)  # 01:45 BST
    schedule = rate_schedule(OCREVUS_600[:2], started_at=started, now=started, tz=LONDON)

    assert [step.clock for step in schedule.steps] == ["01:45", "01:15"]


def test_the_times_are_shown_in_the_clinics_time_zone():
    started = datetime(2027, 7, 5, 13, 0, tzinfo=UTC)
    schedule = rate_schedule(OCREVUS_600[:2], started_at=started, now=started, tz=ZoneInfo("America/New_York"))

    assert [step.clock for step in schedule.steps] == ["09:00", "09:30"]


def test_an_unverified_step_is_marked():
    schedule = rate_schedule(
        [RateStepSpec(0, 100, verified=False), RateStepSpec(15, 200, verified=False)],
        started_at=at(9),
        now=at(9, 5),
        tz=LONDON,
    )

    assert schedule.has_unverified
    assert not any(step.verified for step in schedule.steps)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        rate_schedule(OCREVUS_600, started_at=datetime(2027, 7, 5, 9), now=at(9), tz=LONDON)  # noqa: DTZ001


def test_a_first_or_short_infusion_without_its_own_schedule_shows_none():
    assert steps_for({"standard": OCREVUS_600}, "short") == ()
    assert steps_for({"standard": OCREVUS_600}, "standard") == tuple(OCREVUS_600)


# --- The seeded schedules ----------------------------------------------------------------------


def _seeded(code: str, position: int, applies_to: str) -> list[tuple[int, int, str, bool]]:
    return list(
        RateStep.objects.filter(phase__regimen__code=code, phase__position=position, applies_to=applies_to)
        .order_by("after_minutes")
        .values_list("after_minutes", "rate", "unit", "verified")
    )


@pytest.mark.django_db
def test_the_label_schedules_are_seeded_and_the_unconfirmed_ones_marked_unverified():
    assert _seeded("ocrevus", 2, "standard") == [
        (0, 40, "mL/h", True),
        (30, 80, "mL/h", True),
        (60, 120, "mL/h", True),
        (90, 160, "mL/h", True),
        (120, 200, "mL/h", True),
    ]
    assert _seeded("ocrevus", 1, "standard")[-1] == (150, 180, "mL/h", True)
    assert _seeded("ocrevus", 2, "short") == [
        (0, 100, "mL/h", False),
        (15, 200, "mL/h", False),
        (30, 250, "mL/h", False),
        (60, 300, "mL/h", False),
    ]
    assert [rate for _m, rate, _u, _v in _seeded("briumvi", 1, "first")] == [10, 20, 35, 100]
    assert _seeded("briumvi", 2, "standard") == [(0, 100, "mL/h", True), (30, 400, "mL/h", True)]
    assert _seeded("rituximab", 1, "first")[0][2] == "mg/h"


# --- On the roster -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_infusing_visit_shows_its_rate_steps_and_the_next_one_on_the_roster(client, clinic_a, nurse):
    course = make_course(clinic_a, start=date(2027, 1, 4))
    give(course, date(2027, 1, 4), dose_number=1)
    give(course, date(2027, 1, 18), dose_number=2)
    day = date(2027, 7, 5)
    appointment = book_directly(
        course=course,
        starts_at=local(clinic_a, day, 9, 15),
        dose_number=3,
        premed=30,
        infusion=210,
        observation=60,
        status=Appointment.Status.INFUSING,
        infusion_started_at=local(clinic_a, day, 9, 45),
    )

    with time_machine.travel(local(clinic_a, day, 10, 20), tick=False):
        client.force_login(nurse)
        html = client.get(
            reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": day.isoformat()}
        ).content.decode()

    card = html[html.index(f'id="visit-{appointment.pk}"') :]
    card = card[: card.index("</tr>")]
    assert "Next: 120 mL/h at 10:45" in card
    assert "10:15 80 mL/h (now)" in card
    assert "11:45 200 mL/h" in card
    assert "unverified" not in card


@pytest.mark.django_db
def test_the_short_ocrevus_infusion_shows_its_steps_as_unverified(client, clinic_a, nurse):
    course = make_course(clinic_a, start=date(2027, 1, 4), options={"short_infusion": True})
    give(course, date(2027, 1, 4), dose_number=1)
    give(course, date(2027, 1, 18), dose_number=2)
    day = date(2027, 7, 5)
    appointment = book_directly(
        course=course,
        starts_at=local(clinic_a, day, 9, 15),
        dose_number=3,
        premed=30,
        infusion=120,
        observation=60,
        status=Appointment.Status.INFUSING,
        infusion_started_at=local(clinic_a, day, 9, 45),
    )

    with time_machine.travel(local(clinic_a, day, 9, 50), tick=False):
        client.force_login(nurse)
        html = client.get(
            reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": day.isoformat()}
        ).content.decode()

    card = html[html.index(f'id="visit-{appointment.pk}"') :]
    card = card[: card.index("</tr>")]
    assert "Next: 200 mL/h at 10:00" in card
    assert "unverified" in card


@pytest.mark.django_db
def test_a_visit_not_yet_infusing_shows_no_rate_steps(client, clinic_a, nurse):
    course = make_course(clinic_a, start=date(2027, 7, 5))
    day = date(2027, 7, 5)
    book_directly(course=course, starts_at=local(clinic_a, day, 9), status=Appointment.Status.IN_CHAIR)

    with time_machine.travel(local(clinic_a, day, 9, 10), tick=False):
        client.force_login(nurse)
        html = client.get(
            reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": day.isoformat()}
        ).content.decode()

    assert "data-rate-steps" not in html
