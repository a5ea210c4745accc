"""The week view names each patient in full and keeps every free start of a chair's day one click away."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling.week.selectors import FREE_STARTS_PER_CELL, clinic_week
from tests.helpers import book_directly, local, make_course

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(datetime(2027, 2, 22, 12, 0, tzinfo=UTC), tick=False):
        yield


def test_two_patients_of_one_surname_are_told_apart_by_their_full_names(client, front_desk, clinic_a):
    for first in ("Aoife", "Brendan"):
        course = make_course(clinic_a, "tysabri", first_name=first, last_name="Kavanagh")
        book_directly(course=course, starts_at=local(clinic_a, MONDAY, 9 if first == "Aoife" else 13), minutes=120)
    client.force_login(front_desk)

    html = client.get(reverse("scheduling:week"), {"clinic": clinic_a.pk, "start": "2027-03-01"}).content.decode()

    assert "Aoife Kavanagh" in html
    assert "Brendan Kavanagh" in html


def test_every_free_start_of_a_chair_s_day_can_be_picked_from_its_cell(client, front_desk, clinic_a):
    course = make_course(clinic_a, "tysabri", start=MONDAY)
    week = clinic_week(clinic_a, anchor=MONDAY, course=course)
    offered = {(slot.chair_id, slot.start_param) for slot in week.search.slots}
    cell = next(cell for row in week.rows for cell in row.cells if cell.more)
    assert len(cell.free) == FREE_STARTS_PER_CELL
    client.force_login(front_desk)

    html = client.get(
        reverse("scheduling:week"), {"clinic": clinic_a.pk, "start": "2027-03-01", "course": course.pk}
    ).content.decode()

    links = set(re.findall(r"\?chair=(\d+)&amp;starts_at=([0-9T:Z-]+)\" data-free-slot", html))
    assert {(int(chair), start) for chair, start in links} == offered
    assert f"{len(cell.more)} more starts" in html
