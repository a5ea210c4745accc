"""Taking back a status pressed by mistake: within five minutes, once, by someone who may press it, with history."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.models import RegimenCheck
from scheduling.models import Appointment, AppointmentEvent, Reminder
from scheduling.roster.checklists import visit_checklist
from scheduling.roster.services import (
    UNDO_WITHIN,
    VisitError,
    VisitPermissionError,
    visit_check_tick,
    visit_move,
    visit_undo,
)
from tests.helpers import book_directly, local, make_course, tick_all_checks

pytestmark = pytest.mark.django_db

Status = Appointment.Status
MONDAY = date(2027, 3, 1)


def visit(clinic, *, status=Status.BOOKED, observation=60, hour=9) -> Appointment:
    return book_directly(
        chair=clinic.chairs.first(),
        course=make_course(clinic, "tysabri", start=MONDAY, authorization_expires_on=MONDAY + timedelta(days=180)),
        starts_at=local(clinic, MONDAY, hour),
        premed=30,
        infusion=60,
        observation=observation,
        status=status,
    )


@pytest.fixture
def clock(clinic_a):
    """The clinic's wall clock on Monday, moved by the test."""
    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False) as traveller:
        yield traveller


def test_an_arrival_pressed_by_mistake_is_taken_back_with_its_time_cleared_and_both_kept_in_history(
    clinic_a, front_desk, clock
):
    appointment = visit(clinic_a)
    visit_move(appointment=appointment, to_status=Status.ARRIVED, by=front_desk)
    clock.shift(timedelta(minutes=2))

    undone = visit_undo(appointment=appointment, by=front_desk)

    undone.refresh_from_db()
    assert undone.status == Status.BOOKED
    assert undone.arrived_at is None
    moved, taken_back = AppointmentEvent.objects.filter(appointment=appointment).order_by("at", "pk")
    assert (moved.from_status, moved.to_status) == (Status.BOOKED, Status.ARRIVED)
    assert (taken_back.from_status, taken_back.to_status, taken_back.by) == (Status.ARRIVED, Status.BOOKED, front_desk)
    assert taken_back.reason == "Undid “Arrived”, pressed at 09:05."
    assert taken_back.details["undo_of"] == moved.pk


def test_completing_straight_from_the_infusion_is_taken_back_to_infusing(clinic_a, nurse, clock):
    appointment = visit(clinic_a, status=Status.INFUSING, observation=0)
    visit_move(appointment=appointment, to_status=Status.COMPLETED, by=nurse)

    undone = visit_undo(appointment=appointment, by=nurse)

    undone.refresh_from_db()
    assert undone.status == Status.INFUSING
    assert undone.completed_at is None
    assert undone.infusion_ended_at is None  # written by the completion, so cleared with it


def test_after_five_minutes_nothing_is_undone_and_the_sentence_says_why(clinic_a, nurse, clock):
    appointment = visit(clinic_a, status=Status.ARRIVED)
    visit_move(appointment=appointment, to_status=Status.IN_CHAIR, by=nurse)
    clock.shift(UNDO_WITHIN + timedelta(seconds=1))

    with pytest.raises(VisitError, match="a status can be taken back within 5 minutes, once"):
        visit_undo(appointment=appointment, by=nurse)

    appointment.refresh_from_db()
    assert appointment.status == Status.IN_CHAIR


def test_an_undo_is_not_undone_again(clinic_a, nurse, clock):
    appointment = visit(clinic_a, status=Status.ARRIVED)
    visit_move(appointment=appointment, to_status=Status.IN_CHAIR, by=nurse)
    visit_undo(appointment=appointment, by=nurse)

    with pytest.raises(VisitError, match="nothing to undo"):
        visit_undo(appointment=appointment, by=nurse)


def test_the_front_desk_cannot_take_back_a_nurse_s_step(clinic_a, nurse, front_desk, clock):
    appointment = visit(clinic_a, status=Status.IN_CHAIR)
    tick_all_checks(appointment, by=nurse)
    visit_move(appointment=appointment, to_status=Status.INFUSING, by=nurse)

    with pytest.raises(VisitPermissionError):
        visit_undo(appointment=appointment, by=front_desk)

    appointment.refresh_from_db()
    assert appointment.status == Status.INFUSING


def test_a_no_show_taken_back_cancels_the_rebooking_message_not_yet_sent(clinic_a, front_desk, clock):
    clock.shift(timedelta(minutes=30))  # after the 09:00 start
    appointment = visit(clinic_a)
    visit_move(appointment=appointment, to_status=Status.NO_SHOW, by=front_desk)
    missed = Reminder.objects.get(appointment=appointment, kind=Reminder.Kind.MISSED_APPOINTMENT)
    assert missed.status == Reminder.Status.PENDING

    visit_undo(appointment=appointment, by=front_desk)

    appointment.refresh_from_db()
    missed.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert missed.status == Reminder.Status.CANCELLED


@pytest.mark.postgres
def test_a_no_show_cannot_be_taken_back_once_its_chair_was_booked_again(clinic_a, front_desk, clock):
    clock.shift(timedelta(minutes=30))
    appointment = visit(clinic_a)
    visit_move(appointment=appointment, to_status=Status.NO_SHOW, by=front_desk)
    book_directly(
        chair=appointment.chair,
        course=make_course(clinic_a, "tysabri", start=MONDAY),
        starts_at=local(clinic_a, MONDAY, 10),
        minutes=60,
    )

    with pytest.raises(VisitError, match="booked for another visit since"):
        visit_undo(appointment=appointment, by=front_desk)

    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW


def test_the_roster_offers_the_undo_for_five_minutes_and_it_works_from_the_page(client, clinic_a, nurse, clock):
    appointment = visit(clinic_a, status=Status.ARRIVED)
    client.force_login(nurse)
    roster = reverse("scheduling:roster") + f"?clinic={clinic_a.pk}&day=2027-03-01"
    client.post(
        reverse("scheduling:roster_visit_status", args=[appointment.pk]),
        {"status": Status.IN_CHAIR},
        HTTP_HX_REQUEST="true",
    )
    undo_url = reverse("scheduling:roster_visit_undo", args=[appointment.pk])
    assert undo_url in client.get(roster).content.decode()
    assert "Undo “In chair”" in client.get(roster).content.decode()

    page = client.post(undo_url, HTTP_HX_REQUEST="true")

    assert page.status_code == 200
    assert "is arrived again." in page.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED
    clock.shift(UNDO_WITHIN)
    assert undo_url not in client.get(roster).content.decode()  # an undo is not itself undone


def test_ticking_the_checklist_after_a_mistaken_arrival_still_leaves_it_to_undo(client, clinic_a, nurse, clock):
    """A nurse presses Arrived by mistake, ticks the checks, then notices: the undo is still on the card."""
    appointment = visit(clinic_a)
    client.force_login(nurse)
    visit_move(appointment=appointment, to_status=Status.ARRIVED, by=nurse)
    clock.shift(timedelta(minutes=1))
    for item in visit_checklist(appointment).open_items:
        visit_check_tick(appointment=appointment, regimen_check=RegimenCheck.objects.get(pk=item.check_id), by=nurse)
    roster = reverse("scheduling:roster") + f"?clinic={clinic_a.pk}&day=2027-03-01"

    assert "Undo “Arrived”" in client.get(roster).content.decode()

    undone = visit_undo(appointment=appointment, by=nurse)
    undone.refresh_from_db()
    assert undone.status == Status.BOOKED
    assert AppointmentEvent.objects.filter(
        appointment=appointment, action=AppointmentEvent.Action.CHECK_TICKED
    ).exists()
