"""A course with a date at the calendar's edge never stops a page or the reminder planner.

The course forms refuse such dates now, but rows saved before (or through the admin, or a
script) may hold them: 0001-01-01, 9999-12-31 and the days next to them. The dosing rules
treat a date past the calendar's ends as "no further dose"; the worklist, the patient page,
the booking page and the planner carry on, and the other patients still get their reminders.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Reminder
from scheduling.reminders import planner
from tests.helpers import give, make_course

EDGE_DATES = (
    date(1, 1, 1),
    date(1, 1, 2),
    date(1, 12, 31),
    date(9999, 12, 31),
    date(9999, 12, 30),
    date(9999, 7, 1),
    date(9998, 12, 31),
)
NOW = datetime(2027, 2, 10, 9, 5, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as machine:
        yield machine


@pytest.fixture
def edge_courses(clinic_a, traveller):
    """A course starting on each edge date, with a dose given on it, and one with an edge expiry."""
    courses = []
    for regimen in ("ocrevus", "tysabri", "lemtrada"):
        for day in EDGE_DATES:
            course = make_course(clinic_a, regimen, start=day, authorization_expires_on=day)
            courses.append(course)
        given = make_course(clinic_a, regimen, start=date(9999, 12, 30))
        give(given, date(9999, 12, 30))
        courses.append(given)
    return courses


def test_the_worklist_patient_page_and_booking_page_render_with_every_edge_date(client, front_desk, edge_courses):
    client.force_login(front_desk)

    assert client.get(reverse("scheduling:worklist")).status_code == 200
    for course in edge_courses:
        assert client.get(reverse("patients:detail", args=[course.patient_id])).status_code == 200, course.start_date
        assert client.get(reverse("scheduling:book", args=[course.pk])).status_code == 200, course.start_date
        assert client.get(reverse("patients:course_edit", args=[course.patient_id, course.pk])).status_code == 200


def test_the_planner_sends_the_other_patients_reminders_past_an_edge_date_course(clinic_a, edge_courses):
    due_soon = make_course(clinic_a, "tysabri", start=date(2027, 2, 1))
    give(due_soon, date(2027, 2, 1))  # next due 1 March: due soon from 8 February

    planner.reminders_plan(now=NOW)

    kinds = set(Reminder.objects.filter(course=due_soon).values_list("kind", flat=True))
    assert Reminder.Kind.DOSE_DUE_SOON in kinds
    assert (
        not Reminder.objects.filter(course__in=[course.pk for course in edge_courses])
        .exclude(kind=Reminder.Kind.MONITORING_LABS)
        .exists()
    )
