"""A course with a date at the calendar's edge never stops a page or the reminder planner.

The course forms refuse such dates now, but rows saved before (or through the admin, or a
script) may hold them: 0001-01-01, 9999-12-31 and the days next to them, in a course's start,
its authorization expiry, a given visit or a patient's date of birth. The dosing rules treat
a date past the calendar's ends as "no further dose"; the worklist, the patient page, the
booking page and the planner carry on, the other patients still get their reminders, and
every such record is on the manager's list of data problems.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling.doses import dose_states_verify
from scheduling.models import DoseState, Reminder
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
    """A course starting on each edge date, with its expiry and its patient's birth on it, and one given on it."""
    courses = []
    for regimen in ("ocrevus", "tysabri", "lemtrada"):
        for day in EDGE_DATES:
            course = make_course(clinic_a, regimen, start=day, authorization_expires_on=day, date_of_birth=day)
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
    # Not even lab reminders: a course whose dates the rules cannot plan from is not read.
    assert not Reminder.objects.filter(course__in=[course.pk for course in edge_courses]).exists()


def test_every_edge_date_course_is_a_data_problem_the_manager_sees_and_the_planner_counts(
    client, manager, clinic_a, edge_courses, caplog
):
    ids = {course.pk for course in edge_courses}
    assert set(DoseState.objects.filter(problem=DoseState.Problem.DATES).values_list("course_id", flat=True)) == ids
    assert dose_states_verify() == []

    with caplog.at_level(logging.WARNING, logger="scheduling.reminders.planner"):
        planner.reminders_plan(now=NOW)
    (line,) = caplog.records
    assert line.getMessage().startswith(f"reminders plan skipped data_problems={len(ids)} failed=0 courses=")
    assert line.exc_info is None

    client.force_login(manager)
    (row,) = client.get(reverse("home")).context["overview"]
    # Each course, and each edge course's patient: every edge date lies before 1900 or after today.
    born_out_of_range = len(EDGE_DATES) * 3
    assert row["data_problems"] == len(ids) + born_out_of_range
    response = client.get(reverse("data_problems"))
    assert response.status_code == 200
    (group,) = response.context["by_clinic"]
    assert {problem.course_id for problem in group["problems"]} == {*ids, None}
