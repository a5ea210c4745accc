"""Data problems: a bad record never stops a page or the planner, and the managers see it to correct it.

Beside healthy courses whose patients are due a reminder, the clinic holds a course starting
on each edge date, one with an authorization expiring at the calendar's end, one with a dose
given in year 1, one with a visit booked in year 9999, and a patient born in year 1. The
worklist, the patient pages and the planner carry on; the healthy patients get their email;
every bad record is on the manager's list of data problems, and leaves it once corrected.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from clinic.models import Drug, Regimen
from clinic.roles import MANAGER
from patients.models import Patient
from scheduling import data_problems
from scheduling.doses import dose_states_verify
from scheduling.models import DoseState, Reminder
from scheduling.reminders import dispatcher, planner, sender
from tests.factories import TreatmentCourseFactory
from tests.helpers import book_directly, give, local, make_course, make_staff

pytestmark = pytest.mark.django_db

Problem = DoseState.Problem
NOW = datetime(2027, 2, 10, 9, 5, tzinfo=UTC)
EDGE_STARTS = (date(1, 1, 1), date(1899, 12, 31), date(9999, 12, 31))


@pytest.fixture
def traveller():
    with time_machine.travel(NOW, tick=False) as machine:
        yield machine


def due_soon_course(clinic, **patient):
    """A Tysabri course given on 1 February: next due 1 March, due soon from 8 February."""
    course = make_course(clinic, "tysabri", start=date(2027, 2, 1), **patient)
    give(course, date(2027, 2, 1))
    return course


@pytest.fixture
def healthy(clinic_a, traveller):
    return [due_soon_course(clinic_a), due_soon_course(clinic_a)]


@pytest.fixture
def bad(clinic_a, traveller):
    """{what is wrong: course} for every kind of bad date a course can hold."""
    courses = {f"starts {day.isoformat()}": make_course(clinic_a, "ocrevus", start=day) for day in EDGE_STARTS}
    courses["authorization 9999-12-31"] = make_course(
        clinic_a, "tysabri", start=date(2027, 1, 4), authorization_expires_on=date(9999, 12, 31)
    )
    given_long_ago = make_course(clinic_a, "tysabri", start=date(2027, 1, 4))
    give(given_long_ago, date(1, 1, 2))
    courses["given 0001-01-02"] = given_long_ago
    booked_far_ahead = make_course(clinic_a, "tysabri", start=date(2027, 1, 4))
    book_directly(course=booked_far_ahead, starts_at=local(clinic_a, date(9999, 12, 30), 10))
    courses["booked 9999-12-30"] = booked_far_ahead
    return courses


def send_due(moment: datetime) -> list[str]:
    """The minute scan at `moment`, then each claimed row sent in this process (no broker, no network)."""
    dispatcher.reminders_dispatch_due(now=moment, limit=1000, enqueue=lambda reminder_id: None)
    return [
        sender.reminder_deliver(reminder_id=pk)
        for pk in Reminder.objects.filter(status=Reminder.Status.SENDING).values_list("pk", flat=True)
    ]


def listed_courses(response) -> set[int]:
    return {problem.course_id for group in response.context["by_clinic"] for problem in group["problems"]}


def home_figure(response, clinic) -> int:
    (row,) = [row for row in response.context["overview"] if row["clinic"] == clinic]
    return row["data_problems"]


# --- Recorded where it is found ----------------------------------------------------------------


def test_each_bad_date_is_recorded_on_the_course_state_and_the_healthy_ones_are_not(healthy, bad):
    problems = dict(DoseState.objects.values_list("course_id", "problem"))
    assert {name: problems[course.pk] for name, course in bad.items()} == dict.fromkeys(bad, Problem.DATES)
    assert [problems[course.pk] for course in healthy] == [Problem.NONE, Problem.NONE]
    assert dose_states_verify() == []


def test_a_day_inside_the_range_is_no_problem_and_the_range_is_fixed_not_the_calendars():
    assert (
        data_problems.course_date_faults(start_date=date(2000, 1, 1), authorization_expires_on=date(2099, 12, 31)) == []
    )
    assert data_problems.course_date_faults(
        start_date=date(1999, 12, 31), authorization_expires_on=None, booked_dates=[date(2100, 1, 1)]
    ) == ["starts on 31 Dec 1999", "has a visit booked for 1 Jan 2100"]


# --- Pages and the planner carry on ------------------------------------------------------------


def test_the_worklist_patient_pages_and_the_planner_carry_on_and_the_healthy_patients_get_their_email(
    client, front_desk, healthy, bad, traveller
):
    client.force_login(front_desk)
    assert client.get(reverse("scheduling:worklist")).status_code == 200
    for course in [*healthy, *bad.values()]:
        assert client.get(reverse("patients:detail", args=[course.patient_id])).status_code == 200

    planner.reminders_plan(now=NOW)

    planned = set(Reminder.objects.values_list("course_id", "kind"))
    assert {(course.pk, Reminder.Kind.DOSE_DUE_SOON) for course in healthy} <= planned
    assert not Reminder.objects.filter(
        course__in=[course.pk for course in bad.values()], kind__in=planner.PLANNED_KINDS
    ).exists()

    later = NOW + timedelta(days=1)
    traveller.move_to(later)
    assert send_due(later).count(sender.SENT) >= 2
    addresses = {address for message in mail.outbox for address in message.to}
    assert {course.patient.email for course in healthy} <= addresses
    assert not addresses & {course.patient.email for course in bad.values()}


def test_the_planner_logs_the_skipped_courses_once_by_id_with_no_patient_data(healthy, bad, caplog):
    with caplog.at_level(logging.DEBUG):
        planner.reminders_plan(now=NOW)

    records = [record for record in caplog.records if record.name == "scheduling.reminders.planner"]
    (line,) = [record for record in records if record.levelno == logging.WARNING]
    ids = ",".join(str(pk) for pk in sorted(course.pk for course in bad.values()))
    assert line.getMessage() == f"reminders plan skipped data_problems={len(bad)} failed=0 courses={ids}"
    assert not [record for record in records if record.exc_info]
    text = "\n".join(record.getMessage() for record in caplog.records)
    for course in [*healthy, *bad.values()]:
        patient = course.patient
        for value in (patient.first_name, patient.last_name, patient.mrn, patient.email, course.regimen.name):
            assert value not in text


def test_a_course_whose_planning_raises_is_logged_with_its_trace_once_and_listed(
    client, manager, healthy, monkeypatch, caplog
):
    broken = healthy[0]
    real_plan_course = planner._plan_course

    def plan_course(course, **kwargs):
        if course.course_id == broken.pk:
            raise ValueError("a regimen the rules cannot read")
        return real_plan_course(course, **kwargs)

    monkeypatch.setattr(planner, "_plan_course", plan_course)
    with caplog.at_level(logging.WARNING, logger="scheduling.reminders.planner"):
        planner.reminders_plan(now=NOW)
        planner.reminders_plan(now=NOW + timedelta(hours=1))

    traces = [record for record in caplog.records if record.exc_info]
    assert [record.getMessage() for record in traces] == [f"reminders plan skipped course={broken.pk}"]
    assert [record.getMessage() for record in caplog.records if not record.exc_info] == [
        f"reminders plan skipped data_problems=0 failed=1 courses={broken.pk}"
    ] * 2
    assert Reminder.objects.filter(course=healthy[1], kind=Reminder.Kind.DOSE_DUE_SOON).exists()
    assert not Reminder.objects.filter(course=broken).exists()

    client.force_login(manager)
    response = client.get(reverse("data_problems"))
    assert listed_courses(response) == {broken.pk}
    assert "reminder planner could not plan" in response.content.decode()

    # Planned at the next run: off the list.
    monkeypatch.setattr(planner, "_plan_course", real_plan_course)
    planner.reminders_plan(now=NOW + timedelta(hours=2))
    assert Reminder.objects.filter(course=broken, kind=Reminder.Kind.DOSE_DUE_SOON).exists()
    assert listed_courses(client.get(reverse("data_problems"))) == set()


@pytest.mark.stale_dose_states  # the regimen is readable again before the test ends
def test_a_regimen_the_rules_cannot_read_is_a_data_problem_not_a_failed_booking_or_refresh(
    clinic_a, manager, client, healthy, monkeypatch
):
    drug = Drug.objects.create(code="trialumab", brand_name="Trialumab", generic_name="trialumab")
    empty = Regimen.objects.create(drug=drug, code="trialumab", name="Trialumab (being set up)")
    unset = make_course(clinic_a, "tysabri", start=date(2027, 1, 4))
    no_phases = TreatmentCourseFactory(
        patient=make_course(clinic_a).patient, regimen=empty, start_date=date(2027, 1, 4)
    )
    real_spec = Regimen.spec

    def spec(regimen):
        if regimen.pk == unset.regimen_id:
            raise ValueError("a phase without an interval")
        return real_spec(regimen)

    monkeypatch.setattr(Regimen, "spec", spec)
    unset.save()  # its state is refreshed: the save goes through

    problems = dict(DoseState.objects.values_list("course_id", "problem"))
    assert problems[no_phases.pk] == Problem.REGIMEN
    assert problems[unset.pk] == Problem.REGIMEN
    assert problems[healthy[0].pk] == Problem.NONE
    monkeypatch.setattr(Regimen, "spec", real_spec)
    planner.reminders_plan(now=NOW)
    assert Reminder.objects.filter(course__in=[c.pk for c in healthy], kind=Reminder.Kind.DOSE_DUE_SOON).count() == 2

    client.force_login(manager)
    response = client.get(reverse("data_problems"))
    assert {no_phases.pk, unset.pk} <= listed_courses(response)
    assert "cannot read the Trialumab (being set up) regimen" in response.content.decode()


# --- The managers' list --------------------------------------------------------------------------


def test_the_manager_sees_every_bad_record_with_its_count_on_the_home_page(client, manager, clinic_a, healthy, bad):
    born_in_year_one = make_course(clinic_a, date_of_birth=date(1, 1, 1)).patient
    client.force_login(manager)

    home = client.get(reverse("home"))
    assert home_figure(home, clinic_a) == len(bad) + 1
    assert f"{reverse('data_problems')}#clinic-{clinic_a.pk}-problems" in home.content.decode()

    response = client.get(reverse("data_problems"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert listed_courses(response) == {*(course.pk for course in bad.values()), None}
    html = response.content.decode()
    for course in bad.values():
        assert course.patient.mrn in html
    assert "starts on 31 Dec 9999" in html
    assert "has a dose recorded as given on 2 Jan 0001" in html
    assert "has a visit booked for 30 Dec 9999" in html
    assert "The date of birth, 1 Jan 0001, lies before 1 Jan 1900" in html
    assert (
        reverse("patients:course_edit", args=[bad["starts 9999-12-31"].patient_id, bad["starts 9999-12-31"].pk]) in html
    )
    assert reverse("patients:edit", args=[born_in_year_one.pk]) in html
    # The strict CSP: nothing inline.
    assert "<script>" not in html.split("</nav>")[-1] and "style=" not in html


def test_another_clinics_manager_sees_none_of_them(client, clinic_a, clinic_b, bad):
    make_course(clinic_b, "ocrevus", start=date(9999, 12, 31))
    other = make_staff("olga", MANAGER, clinic_b)
    client.force_login(other)

    assert home_figure(client.get(reverse("home")), clinic_b) == 1
    response = client.get(reverse("data_problems"))
    assert [group["clinic"] for group in response.context["by_clinic"]] == [clinic_b]
    assert not listed_courses(response) & {course.pk for course in bad.values()}
    assert all(course.patient.mrn not in response.content.decode() for course in bad.values())


def test_the_front_desk_and_the_nurses_may_not_open_the_list(client, front_desk, nurse, bad):
    for user in (front_desk, nurse):
        client.force_login(user)
        assert client.get(reverse("data_problems")).status_code == 403


def test_a_course_corrected_on_its_page_leaves_the_list(client, manager, clinic_a, bad):
    wrong = bad["starts 9999-12-31"]
    client.force_login(manager)
    assert wrong.pk in listed_courses(client.get(reverse("data_problems")))

    response = client.post(
        reverse("patients:course_edit", args=[wrong.patient_id, wrong.pk]),
        {"regimen": wrong.regimen_id, "start_date": "2027-03-01", "authorization_number": "", "notes": ""},
    )
    assert response.status_code == 302, response.content.decode()

    assert DoseState.objects.get(course=wrong).problem == Problem.NONE
    assert wrong.pk not in listed_courses(client.get(reverse("data_problems")))
    assert home_figure(client.get(reverse("home")), clinic_a) == len(bad) - 1


def test_a_patient_born_out_of_range_is_listed_until_the_date_is_corrected(client, manager, clinic_a, traveller):
    patient = make_course(clinic_a, date_of_birth=date(9999, 12, 31)).patient
    client.force_login(manager)
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
    html = client.get(reverse("data_problems")).content.decode()
    assert "The date of birth, 31 Dec 9999, lies after today" in html

    Patient.objects.filter(pk=patient.pk).update(date_of_birth=date(1980, 5, 17))
    assert patient.mrn not in client.get(reverse("data_problems")).content.decode()
