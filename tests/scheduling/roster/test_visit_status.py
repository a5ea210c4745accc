"""Moving a visit through the day: each step, the refused ones, and who may press which button."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Appointment, AppointmentEvent, NurseAssignment
from scheduling.roster.services import (
    VisitError,
    VisitPermissionError,
    nurse_assign,
    visit_mark_no_show,
    visit_move,
    visit_moves_for,
)
from tests.helpers import book_directly, local, make_course, make_staff, tick_all_checks

pytestmark = pytest.mark.django_db

Status = Appointment.Status
MONDAY = date(2027, 3, 1)


def visit(clinic, *, status=Status.BOOKED, observation=60, hour=9, **fields) -> Appointment:
    """A Monday visit in the clinic's first chair: 30 minutes of premedication, a 150-minute infusion."""
    return book_directly(
        chair=clinic.chairs.first(),
        course=make_course(clinic, start=MONDAY),
        starts_at=local(clinic, MONDAY, hour),
        premed=30,
        infusion=150,
        observation=observation,
        status=status,
        **fields,
    )


# --- Each step along the day ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_status", "to_status", "time_field"),
    [
        (Status.BOOKED, Status.ARRIVED, "arrived_at"),
        (Status.ARRIVED, Status.IN_CHAIR, "in_chair_at"),
        (Status.IN_CHAIR, Status.INFUSING, "infusion_started_at"),
        (Status.INFUSING, Status.OBSERVATION, "infusion_ended_at"),
        (Status.OBSERVATION, Status.COMPLETED, "completed_at"),
    ],
)
def test_each_step_records_its_actual_time_and_who_made_it(clinic_a, nurse, from_status, to_status, time_field):
    appointment = visit(clinic_a, status=from_status)
    tick_all_checks(appointment, by=nurse)
    now = local(clinic_a, MONDAY, 9, 20)

    moved = visit_move(appointment=appointment, to_status=to_status, by=nurse, now=now)

    moved.refresh_from_db()
    assert moved.status == to_status
    assert getattr(moved, time_field) == now
    (event,) = AppointmentEvent.objects.filter(appointment=appointment, action=AppointmentEvent.Action.STATUS)
    assert (event.action, event.from_status, event.to_status, event.by) == (
        AppointmentEvent.Action.STATUS,
        from_status,
        to_status,
        nurse,
    )
    assert event.details["at"] == now.isoformat()


def test_a_whole_visit_keeps_every_actual_time(clinic_a, nurse):
    appointment = visit(clinic_a)
    tick_all_checks(appointment, by=nurse)
    steps = [
        (Status.ARRIVED, local(clinic_a, MONDAY, 8, 50)),
        (Status.IN_CHAIR, local(clinic_a, MONDAY, 9, 0)),
        (Status.INFUSING, local(clinic_a, MONDAY, 9, 30)),
        (Status.OBSERVATION, local(clinic_a, MONDAY, 12, 0)),
        (Status.COMPLETED, local(clinic_a, MONDAY, 13, 0)),
    ]
    for to_status, now in steps:
        visit_move(appointment=appointment, to_status=to_status, by=nurse, now=now)

    appointment.refresh_from_db()
    assert [
        appointment.arrived_at,
        appointment.in_chair_at,
        appointment.infusion_started_at,
        appointment.infusion_ended_at,
        appointment.completed_at,
    ] == [now for _status, now in steps]
    assert list(appointment.events.values_list("to_status", flat=True)) == [status for status, _now in steps]


def test_a_visit_without_observation_completes_straight_from_the_infusion(clinic_a, nurse):
    appointment = visit(clinic_a, status=Status.INFUSING, observation=0)
    now = local(clinic_a, MONDAY, 12, 0)

    visit_move(appointment=appointment, to_status=Status.COMPLETED, by=nurse, now=now)

    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    assert appointment.infusion_ended_at == now
    assert appointment.completed_at == now


def test_a_patient_who_did_not_come_is_marked_a_no_show_after_the_start(clinic_a, front_desk):
    appointment = visit(clinic_a)

    with time_machine.travel(local(clinic_a, MONDAY, 9, 1), tick=False):
        visit_mark_no_show(appointment=appointment, by=front_desk)

    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW
    event = appointment.events.get()
    assert (event.from_status, event.to_status, event.by) == (Status.BOOKED, Status.NO_SHOW, front_desk)


def test_a_completed_dose_is_what_the_dosing_rules_count_as_given(clinic_a, nurse):
    appointment = visit(clinic_a, status=Status.OBSERVATION)

    visit_move(appointment=appointment, to_status=Status.COMPLETED, by=nurse, now=local(clinic_a, MONDAY, 13))

    given = Appointment.objects.filter(course=appointment.course, status=Status.COMPLETED)
    assert list(given.values_list("dose_number", flat=True)) == [1]


# --- Refused moves -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_status", "to_status", "sentence"),
    [
        (
            Status.BOOKED,
            Status.INFUSING,
            "A visit that is booked cannot be marked infusing; it must be in chair first.",
        ),
        (Status.BOOKED, Status.COMPLETED, "cannot be marked completed; it must be observation or infusing first."),
        (Status.ARRIVED, Status.OBSERVATION, "A visit that is arrived cannot be marked observation"),
        (Status.COMPLETED, Status.ARRIVED, "A visit that is completed cannot be marked arrived"),
        (Status.INFUSING, Status.INFUSING, "This visit is already infusing."),
        (Status.NO_SHOW, Status.ARRIVED, "A visit that is no-show cannot be marked arrived"),
        (Status.CANCELLED, Status.ARRIVED, "A visit that is cancelled cannot be marked arrived"),
        (Status.ARRIVED, Status.NO_SHOW, "A visit that is arrived cannot be marked no-show; it must be booked first."),
    ],
)
def test_a_wrong_step_is_refused_with_a_sentence(clinic_a, nurse, from_status, to_status, sentence):
    appointment = visit(clinic_a, status=from_status)

    with pytest.raises(VisitError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        visit_move(appointment=appointment, to_status=to_status, by=nurse, now=local(clinic_a, MONDAY, 10))

    appointment.refresh_from_db()
    assert appointment.status == from_status
    assert not appointment.events.exists()


def test_completing_is_refused_while_observation_is_still_owed(clinic_a, nurse):
    appointment = visit(clinic_a, status=Status.INFUSING, observation=60)

    with pytest.raises(VisitError, match="needs 60 minutes of observation; end the infusion and observe"):
        visit_move(appointment=appointment, to_status=Status.COMPLETED, by=nurse, now=local(clinic_a, MONDAY, 12))


def test_a_no_show_is_refused_before_the_visit_starts(clinic_a, front_desk):
    appointment = visit(clinic_a)

    with pytest.raises(VisitError, match="This visit starts at 09:00; mark a no-show only after its start time."):
        visit_mark_no_show(appointment=appointment, by=front_desk, now=local(clinic_a, MONDAY, 8, 59))


def test_an_arrival_is_refused_on_another_day(clinic_a, front_desk):
    appointment = visit(clinic_a)

    with pytest.raises(VisitError, match="This visit is on 1 Mar 2027; mark the arrival on that day."):
        visit_move(
            appointment=appointment,
            to_status=Status.ARRIVED,
            by=front_desk,
            now=local(clinic_a, MONDAY - timedelta(days=1), 9),
        )


def test_an_unknown_status_is_refused(clinic_a, nurse):
    with pytest.raises(VisitError, match="not a status a visit can be moved to"):
        visit_move(appointment=visit(clinic_a), to_status="booked", by=nurse, now=local(clinic_a, MONDAY, 9))


# --- Who may press which button ----------------------------------------------------------------


def test_the_front_desk_marks_arrivals_and_no_shows_only(clinic_a, front_desk):
    booked = visit(clinic_a)
    arrived = visit(clinic_a, status=Status.ARRIVED, hour=14)

    assert [
        move.to_status
        for move in visit_moves_for(appointment=booked, user=front_desk, now=local(clinic_a, MONDAY, 9, 5))
    ] == [
        Status.ARRIVED,
        Status.NO_SHOW,
    ]
    assert visit_moves_for(appointment=arrived, user=front_desk, now=local(clinic_a, MONDAY, 14)) == []
    with pytest.raises(VisitPermissionError, match="Only nurses and clinic managers can mark a visit in chair"):
        visit_move(appointment=arrived, to_status=Status.IN_CHAIR, by=front_desk, now=local(clinic_a, MONDAY, 14))


@pytest.mark.parametrize("role_fixture", ["nurse", "manager"])
def test_nurses_and_managers_move_every_status(request, clinic_a, role_fixture):
    user = request.getfixturevalue(role_fixture)
    appointment = visit(clinic_a)
    tick_all_checks(appointment, by=user)

    for to_status in (Status.ARRIVED, Status.IN_CHAIR, Status.INFUSING, Status.OBSERVATION, Status.COMPLETED):
        visit_move(appointment=appointment, to_status=to_status, by=user, now=local(clinic_a, MONDAY, 10))

    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    assert set(appointment.events.values_list("by", flat=True)) == {user.pk}


def test_a_nurse_sees_the_next_step_first_and_no_show_only_after_the_start(clinic_a, nurse):
    appointment = visit(clinic_a)

    before = visit_moves_for(appointment=appointment, user=nurse, now=local(clinic_a, MONDAY, 8, 30))
    after = visit_moves_for(appointment=appointment, user=nurse, now=local(clinic_a, MONDAY, 9, 30))

    assert [move.to_status for move in before] == [Status.ARRIVED]
    assert [move.to_status for move in after] == [Status.ARRIVED, Status.NO_SHOW]


def test_the_front_desk_is_forbidden_to_seat_a_patient_through_the_page(client, clinic_a, front_desk):
    appointment = visit(clinic_a, status=Status.ARRIVED)

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(front_desk)
        response = client.post(reverse("scheduling:roster_visit_status", args=[appointment.pk]), {"status": "in_chair"})

    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED


def test_the_front_desk_marks_an_arrival_through_the_page(client, clinic_a, front_desk):
    appointment = visit(clinic_a)

    with time_machine.travel(local(clinic_a, MONDAY, 8, 55), tick=False):
        client.force_login(front_desk)
        response = client.post(reverse("scheduling:roster_visit_status", args=[appointment.pk]), {"status": "arrived"})

    assert response.status_code == 302
    assert response["Location"].endswith(f"#visit-{appointment.pk}")
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED
    assert appointment.arrived_at == local(clinic_a, MONDAY, 8, 55)


def test_a_refused_step_through_htmx_answers_the_roster_with_the_sentence(client, clinic_a, nurse):
    appointment = visit(clinic_a)

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(nurse)
        response = client.post(
            reverse("scheduling:roster_visit_status", args=[appointment.pk]),
            {"status": "infusing"},
            HTTP_HX_REQUEST="true",
        )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="roster-body"')
    assert "A visit that is booked cannot be marked infusing; it must be in chair first." in body


def test_staff_of_another_clinic_cannot_touch_this_clinics_visits(client, clinic_a, staff_b):
    appointment = visit(clinic_a)

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(staff_b)
        response = client.post(reverse("scheduling:roster_visit_status", args=[appointment.pk]), {"status": "arrived"})

    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


# --- Nurse assignment ----------------------------------------------------------------------------


def test_a_manager_assigns_and_reassigns_a_chair_for_the_day(clinic_a, manager, nurse):
    other_nurse = make_staff("nadia", "Nurse", clinic_a, first_name="Nadia")
    chair = clinic_a.chairs.first()

    nurse_assign(clinic=clinic_a, day=MONDAY, chair=chair, nurse=nurse, by=manager)
    nurse_assign(clinic=clinic_a, day=MONDAY, chair=chair, nurse=other_nurse, by=manager)

    (assignment,) = NurseAssignment.objects.filter(day=MONDAY, chair=chair)
    assert (assignment.nurse, assignment.assigned_by) == (other_nurse, manager)


def test_only_a_nurse_of_the_clinic_can_be_assigned(clinic_a, clinic_b, manager, front_desk):
    nurse_b = make_staff("norbert", "Nurse", clinic_b)

    for person in (front_desk, nurse_b):
        with pytest.raises(VisitError, match="is not a nurse at Northside Infusion Centre"):
            nurse_assign(clinic=clinic_a, day=MONDAY, chair=clinic_a.chairs.first(), nurse=person, by=manager)


def test_a_nurse_cannot_assign_chairs(clinic_a, nurse):
    with pytest.raises(VisitPermissionError, match="Only clinic managers can assign nurses"):
        nurse_assign(clinic=clinic_a, day=MONDAY, chair=clinic_a.chairs.first(), nurse=nurse, by=nurse)


def test_a_manager_assigns_nurses_through_the_roster(client, clinic_a, manager, nurse):
    first, second = clinic_a.chairs.all()[:2]

    with time_machine.travel(local(clinic_a, MONDAY, 7), tick=False):
        client.force_login(manager)
        response = client.post(
            reverse("scheduling:roster_nurse_assignments"),
            {"clinic": clinic_a.pk, "day": MONDAY.isoformat(), f"chair-{first.pk}": nurse.pk, f"chair-{second.pk}": ""},
        )

    assert response.status_code == 302
    assert list(NurseAssignment.objects.values_list("chair", "nurse")) == [(first.pk, nurse.pk)]


def test_a_nurse_is_forbidden_to_post_assignments(client, clinic_a, nurse):
    client.force_login(nurse)

    response = client.post(
        reverse("scheduling:roster_nurse_assignments"),
        {"clinic": clinic_a.pk, "day": MONDAY.isoformat(), f"chair-{clinic_a.chairs.first().pk}": nurse.pk},
    )

    assert response.status_code == 403
    assert not NurseAssignment.objects.exists()


def test_the_reaction_form_opens_on_its_own_page_without_javascript(client, clinic_a, nurse):
    appointment = visit(clinic_a, status=Status.INFUSING)
    client.force_login(nurse)

    page = client.get(reverse("scheduling:roster_visit_reaction", args=[appointment.pk]))
    fragment = client.get(reverse("scheduling:roster_visit_reaction", args=[appointment.pk]), HTTP_HX_REQUEST="true")

    assert page.status_code == 200
    assert "Record an infusion reaction" in page.content.decode()
    assert "hx-post" not in page.content.decode()
    assert fragment.content.decode().lstrip().startswith("<form")
    assert f'id="reaction-{appointment.pk}-grade"' in fragment.content.decode()


def test_a_booked_visit_has_no_reaction_form(client, clinic_a, nurse):
    client.force_login(nurse)

    response = client.get(reverse("scheduling:roster_visit_reaction", args=[visit(clinic_a).pk]))

    assert response.status_code == 404
