"""A dose with no chair time cannot be searched for: the search says why instead of failing.

Saving such a regimen phase is refused (tests/clinic/test_clinic_configuration.py); these are
the backstop for a row written before that rule.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from clinic.dosing import ChairTime
from clinic.models import RegimenPhase
from scheduling.availability.search import NO_CHAIR_TIME, find_slots, slot_problem
from tests.helpers import local, make_course

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)
NO_TIME = ChairTime(premed_minutes=0, infusion_minutes=0, observation_minutes=0)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(datetime(2027, 2, 15, 12, 0, tzinfo=UTC), tick=False):
        yield


def test_a_search_for_a_visit_of_no_chair_time_finds_nothing_and_says_why_each_day(clinic_a):
    result = find_slots(clinic=clinic_a, chair_time=NO_TIME, start=MONDAY, end=date(2027, 3, 7))

    assert result.slots == []
    assert result.balanced is None
    assert [day.code for day in result.days] == ["no_chair_time"] * 7
    assert {day.reason for day in result.days} == {NO_CHAIR_TIME}


def test_one_slot_of_no_chair_time_is_refused_with_the_same_sentence(clinic_a):
    chair = clinic_a.chairs.first()

    assert (
        slot_problem(
            clinic=clinic_a, chair=chair, starts_at=local(clinic_a, MONDAY, 9), chair_time=NO_TIME, patient_id=None
        )
        == NO_CHAIR_TIME
    )


@pytest.mark.postgres
def test_the_booking_page_of_a_dose_with_no_chair_time_answers_with_the_sentence(client, front_desk, clinic_a):
    with connection.cursor() as cursor:  # a row from before the database check existed
        # The formulary seeded for this test leaves deferred key checks pending; settle them first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE clinic_regimenphase DROP CONSTRAINT phase_infusion_minutes_positive")
    RegimenPhase.objects.filter(regimen__code="tysabri").update(
        premed_minutes=0, infusion_minutes=0, observation_minutes=0, first_infusion_minutes=None
    )
    course = make_course(clinic_a, "tysabri", start=MONDAY)
    client.force_login(front_desk)

    page = client.get(reverse("scheduling:book", args=[course.pk]))

    assert page.status_code == 200
    assert "This dose has no chair time in its regimen, so it cannot be booked." in page.content.decode()
