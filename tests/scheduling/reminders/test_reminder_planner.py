"""The planner reads each course's stored next dose, and one bad course never holds the others back."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
import time_machine

from clinic import dosing
from scheduling.models import DoseState, Reminder
from scheduling.reminders import planner
from tests.helpers import book, give, local, make_course

Kind = Reminder.Kind


@pytest.fixture
def traveller():
    with time_machine.travel(datetime(2027, 1, 1, 12, 0, tzinfo=UTC), tick=False) as machine:
        yield machine


def plan_on(traveller, day: date, hour: int = 0) -> int:
    moment = datetime(day.year, day.month, day.day, hour, 5, tzinfo=UTC)
    traveller.move_to(moment)
    return planner.reminders_plan(now=moment)


def lemtrada_course_given(clinic, first_day: int):
    """A Lemtrada course with its five first-course doses given on 4..8 January 2027 (or later)."""
    course = make_course(clinic, "lemtrada", start=date(2027, 1, first_day))
    for number, day in enumerate(range(first_day, first_day + 5), start=1):
        give(course, date(2027, 1, day), dose_number=number)
    return course


@pytest.mark.django_db
def test_the_planner_makes_due_soon_overdue_and_lab_reminders_from_the_stored_state(clinic_a, traveller):
    due_soon = make_course(clinic_a, "tysabri", start=date(2027, 2, 1))
    give(due_soon, date(2027, 2, 1))  # next due 1 March: due soon from 8 February
    overdue = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    give(overdue, date(2027, 1, 5))  # next due 2 February, overdue after the 9th
    labs = lemtrada_course_given(clinic_a, 4)  # monthly labs from 4 February
    states = {state.course_id: state for state in DoseState.objects.all()}
    assert (states[due_soon.pk].dose_number, states[due_soon.pk].target_date) == (2, date(2027, 3, 1))
    assert states[labs.pk].first_given_on == date(2027, 1, 4)

    assert plan_on(traveller, date(2027, 2, 10)) == 3
    rows = {row.course_id: row for row in Reminder.objects.all()}
    assert (rows[due_soon.pk].kind, rows[due_soon.pk].key) == (Kind.DOSE_DUE_SOON, f"due-soon:{due_soon.pk}:2")
    assert (rows[overdue.pk].kind, rows[overdue.pk].key) == (Kind.DOSE_OVERDUE, f"overdue:{overdue.pk}:2:1")
    assert (rows[labs.pk].kind, rows[labs.pk].key) == (Kind.MONITORING_LABS, f"labs:{labs.pk}:2027-03-04")
    assert rows[due_soon.pk].due_at.astimezone(clinic_a.tz) == local(clinic_a, 2027, 2, 10, 9, 0)
    assert plan_on(traveller, date(2027, 2, 10), hour=1) == 0


@pytest.mark.django_db
def test_the_planner_reads_the_stored_next_dose_not_the_appointments(clinic_a, traveller):
    course = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    give(course, date(2027, 1, 5))
    # The stored state says the dose is booked: the planner believes it.
    DoseState.objects.filter(course=course).update(booked_count=1)
    assert plan_on(traveller, date(2027, 1, 20)) == 0
    DoseState.objects.filter(course=course).update(booked_count=0)
    assert plan_on(traveller, date(2027, 1, 20)) == 1


@pytest.mark.django_db
def test_a_booked_dose_gets_no_due_soon_reminder(clinic_a, traveller):
    course = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    give(course, date(2027, 1, 5))
    book(course, local(clinic_a, 2027, 2, 2, 10, 0), dose_number=2)
    # 2 February is inside the due-soon window from 12 January, and overdue after the 9th.
    for day in (date(2027, 1, 20), date(2027, 2, 1), date(2027, 2, 12)):
        assert plan_on(traveller, day) == 0
    assert not Reminder.objects.filter(kind__in=(Kind.DOSE_DUE_SOON, Kind.DOSE_OVERDUE)).exists()


@pytest.mark.django_db
def test_a_course_whose_planning_fails_does_not_stop_the_others(clinic_a, traveller, monkeypatch, caplog):
    before = lemtrada_course_given(clinic_a, 4)
    broken = lemtrada_course_given(clinic_a, 11)
    after = lemtrada_course_given(clinic_a, 18)
    due_soon = make_course(clinic_a, "tysabri", start=date(2027, 1, 18))
    give(due_soon, date(2027, 1, 18))
    real_monitoring_due = dosing.monitoring_due

    def monitoring_due(spec, *, given, **kwargs):
        if given[0].date == date(2027, 1, 11):
            raise ValueError("a regimen the rules cannot read")
        return real_monitoring_due(spec, given=given, **kwargs)

    monkeypatch.setattr(dosing, "monitoring_due", monitoring_due)

    with caplog.at_level(logging.ERROR, logger="scheduling.reminders.planner"):
        # Labs on 4 February and 4 March for the first course, 18 February for the third.
        assert plan_on(traveller, date(2027, 2, 1)) == 4
    assert set(Reminder.objects.values_list("course_id", "kind")) == {
        (before.pk, Kind.MONITORING_LABS),
        (after.pk, Kind.MONITORING_LABS),
        (due_soon.pk, Kind.DOSE_DUE_SOON),
    }
    (record,) = [record for record in caplog.records if record.name == "scheduling.reminders.planner"]
    assert record.getMessage() == f"reminders plan skipped course={broken.pk}"
    assert record.exc_info is not None


@pytest.mark.django_db
def test_a_course_skipped_in_one_chunk_leaves_the_next_chunks_planned(clinic_a, traveller, monkeypatch):
    courses = [make_course(clinic_a, "tysabri", start=date(2027, 1, 5)) for _ in range(5)]
    for number, course in enumerate(courses):
        give(course, date(2027, 1, 5), hour=8 + number)
    broken = courses[1].pk
    real_plan_course = planner._plan_course

    def plan_course(course, **kwargs):
        if course.course_id == broken:
            raise OverflowError("date value out of range")
        return real_plan_course(course, **kwargs)

    monkeypatch.setattr(planner, "_plan_course", plan_course)
    traveller.move_to(datetime(2027, 1, 20, 1, 0, tzinfo=UTC))
    assert planner.reminders_plan(now=datetime(2027, 1, 20, 1, 0, tzinfo=UTC), chunk=2) == 4
    assert set(Reminder.objects.values_list("course_id", flat=True)) == {c.pk for c in courses} - {broken}
