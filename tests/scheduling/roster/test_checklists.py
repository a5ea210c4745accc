"""The checks before the needle: what each regimen's dose asks for, ticking them, and the infusion they hold back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.models import RegimenCheck
from scheduling.models import Appointment, AppointmentEvent, VisitCheck
from scheduling.roster.checklists import visit_checklist
from scheduling.roster.services import (
    VisitError,
    VisitPermissionError,
    visit_authorization_override,
    visit_check_tick,
    visit_check_untick,
    visit_move,
)
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, local, make_course, tick_all_checks

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_a(clinic_a):
    """The cast's clinic, in the country whose programme names the checks are seeded with (the US).

    A clinic elsewhere reads its own country's name for the authorization item; see
    tests/clinic/test_programme_names.py.
    """
    clinic_a.country = "US"
    clinic_a.save(update_fields=["country"])
    return clinic_a


Status = Appointment.Status
MONDAY = date(2027, 3, 1)
VALID = MONDAY + timedelta(days=90)


def visit(clinic, regimen="tysabri", *, dose_number=1, status=Status.IN_CHAIR, expires=VALID, course=None, hour=9):
    """A Monday visit of the clinic in its first free chair, the patient seated unless told otherwise."""
    course = course or make_course(clinic, regimen, start=MONDAY, authorization_expires_on=expires)
    return book_directly(
        course=course,
        starts_at=local(clinic, MONDAY, hour),
        dose_number=dose_number,
        premed=0,
        infusion=60,
        observation=60,
        status=status,
    )


def labels(appointment) -> list[str]:
    return [item.label for item in visit_checklist(appointment).items]


def check(appointment, label) -> RegimenCheck:
    return RegimenCheck.objects.get(regimen=appointment.course.regimen, label=label)


def infuse(appointment, by, hour=9, minute=10):
    return visit_move(
        appointment=appointment, to_status=Status.INFUSING, by=by, now=local(appointment.clinic, MONDAY, hour, minute)
    )


# --- What each regimen's dose asks for ------------------------------------------------------------


def test_every_tysabri_infusion_asks_for_the_touch_authorization_the_pre_infusion_checklist_and_the_infection_check(
    clinic_a,
):
    first = visit(clinic_a, "tysabri")
    later = visit(clinic_a, "tysabri", dose_number=7, course=first.course, hour=13)

    assert labels(first) == labels(later) == ["TOUCH authorization", "pre-infusion checklist", "infection check"]
    assert [item.kind for item in visit_checklist(first).items] == ["authorization", "tick", "tick"]


def test_the_first_ocrevus_dose_asks_for_hepatitis_b_and_immunoglobulins_and_the_second_only_for_the_infection_check(
    clinic_a,
):
    first = visit(clinic_a, "ocrevus")
    second = visit(clinic_a, "ocrevus", dose_number=2, course=first.course, hour=14)

    assert labels(first) == [
        "hepatitis B screening",
        "serum immunoglobulins",
        "liver function tests",
        "infection check",
    ]
    assert labels(second) == ["infection check"]


def test_every_briumvi_infusion_asks_for_the_pregnancy_check(clinic_a):
    first = visit(clinic_a, "briumvi")
    third = visit(clinic_a, "briumvi", dose_number=3, course=first.course, hour=14)

    assert "pregnancy check" in labels(first)
    assert labels(third) == ["pregnancy check", "infection check"]


def test_lemtrada_asks_for_its_rems_authorization_every_day_and_herpes_prophylaxis_on_day_1_of_each_course(clinic_a):
    course = make_course(clinic_a, "lemtrada", start=MONDAY, authorization_expires_on=VALID)
    day_1 = visit(clinic_a, course=course)
    day_2 = visit(clinic_a, dose_number=2, course=course, hour=13)
    second_course_day_1 = visit(clinic_a, dose_number=6, course=course, hour=15)

    assert labels(day_1) == [
        "LEMTRADA REMS authorization",
        "REMS baseline labs",
        "herpes prophylaxis",
        "infection check",
    ]
    assert labels(day_2) == ["LEMTRADA REMS authorization", "infection check"]
    assert labels(second_course_day_1) == ["LEMTRADA REMS authorization", "herpes prophylaxis", "infection check"]


def test_a_check_the_formulary_retires_is_no_longer_asked_for(clinic_a):
    appointment = visit(clinic_a, "ocrevus", dose_number=2)
    RegimenCheck.objects.filter(regimen=appointment.course.regimen, label="infection check").update(active=False)

    assert labels(appointment) == []


# --- Ticking ---------------------------------------------------------------------------------------


def test_a_tick_records_who_ticked_it_and_when_and_goes_into_the_visit_history(client, clinic_a, nurse):
    appointment = visit(clinic_a)
    moment = local(clinic_a, MONDAY, 9, 3)

    tick = visit_check_tick(
        appointment=appointment, regimen_check=check(appointment, "infection check"), by=nurse, now=moment
    )

    assert (tick.ticked_by, tick.ticked_at) == (nurse, moment)
    item = next(item for item in visit_checklist(appointment).items if item.label == "infection check")
    assert (item.ticked_by, item.ticked_at) == ("Nina", moment)
    event = appointment.events.get()
    assert (event.action, event.by, event.reason) == (
        AppointmentEvent.Action.CHECK_TICKED,
        nurse,
        "Ticked the infection check.",
    )
    client.force_login(nurse)
    page = client.get(reverse("scheduling:appointment", args=[appointment.pk])).content.decode()
    assert "Pre-infusion check ticked" in page
    assert "Ticked the infection check." in page


def test_ticking_an_item_twice_keeps_one_tick(clinic_a, nurse, manager):
    appointment = visit(clinic_a)
    infection = check(appointment, "infection check")

    first = visit_check_tick(appointment=appointment, regimen_check=infection, by=nurse)
    again = visit_check_tick(appointment=appointment, regimen_check=infection, by=manager)

    assert again.pk == first.pk
    assert again.ticked_by == nurse
    assert appointment.events.count() == 1


def test_a_tick_taken_back_keeps_its_row_and_holds_the_infusion_back_again(clinic_a, nurse):
    appointment = visit(clinic_a)
    tick_all_checks(appointment, by=nurse)
    infection = check(appointment, "infection check")

    visit_check_untick(appointment=appointment, regimen_check=infection, by=nurse, now=local(clinic_a, MONDAY, 9, 5))

    taken_back = VisitCheck.objects.get(appointment=appointment, regimen_check=infection)
    assert (taken_back.unticked_by, taken_back.unticked_at) == (nurse, local(clinic_a, MONDAY, 9, 5))
    assert appointment.events.get().action == AppointmentEvent.Action.CHECK_UNTICKED
    with pytest.raises(VisitError, match="^Tick the infection check before starting the infusion.$"):
        infuse(appointment, nurse)


def test_a_visit_not_yet_arrived_or_already_infusing_cannot_be_ticked(clinic_a, nurse):
    booked = visit(clinic_a, status=Status.BOOKED)
    infusing = visit(clinic_a, status=Status.INFUSING, hour=13)

    with pytest.raises(VisitError, match="tick its checks once the patient has arrived"):
        visit_check_tick(appointment=booked, regimen_check=check(booked, "infection check"), by=nurse)
    with pytest.raises(VisitError, match="between the arrival and the start of the infusion"):
        visit_check_tick(appointment=infusing, regimen_check=check(infusing, "infection check"), by=nurse)
    assert not VisitCheck.objects.exists()


def test_a_check_of_another_regimen_cannot_be_ticked_on_the_visit(clinic_a, nurse):
    appointment = visit(clinic_a, "tysabri")
    ocrevus_check = RegimenCheck.objects.get(regimen__code="ocrevus", label="hepatitis B screening")

    with pytest.raises(VisitError, match="That check is not on this visit's list"):
        visit_check_tick(appointment=appointment, regimen_check=ocrevus_check, by=nurse)


def test_the_front_desk_cannot_tick_a_check(client, clinic_a, front_desk):
    appointment = visit(clinic_a)

    with pytest.raises(VisitPermissionError):
        visit_check_tick(appointment=appointment, regimen_check=check(appointment, "infection check"), by=front_desk)
    client.force_login(front_desk)
    response = client.post(
        reverse("scheduling:roster_visit_check", args=[appointment.pk]),
        {"check": check(appointment, "infection check").pk, "ticked": "1"},
    )
    assert response.status_code == 403
    assert not VisitCheck.objects.exists()


def test_another_clinic_s_visit_cannot_be_ticked(client, clinic_a, clinic_b, nurse):
    theirs = visit(clinic_b)

    client.force_login(nurse)
    response = client.post(
        reverse("scheduling:roster_visit_check", args=[theirs.pk]),
        {"check": check(theirs, "infection check").pk, "ticked": "1"},
    )

    assert response.status_code == 404
    assert not VisitCheck.objects.exists()


# --- The infusion they hold back -------------------------------------------------------------------


def test_the_infusion_is_refused_with_a_sentence_naming_the_items_still_open(clinic_a, nurse):
    appointment = visit(clinic_a)
    visit_check_tick(appointment=appointment, regimen_check=check(appointment, "TOUCH authorization"), by=nurse)

    with pytest.raises(VisitError) as refused:
        infuse(appointment, nurse)

    assert str(refused.value) == "Tick the pre-infusion checklist and the infection check before starting the infusion."
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_CHAIR
    # What the nurse ticked stays ticked.
    assert [item.label for item in visit_checklist(appointment).items if item.ticked] == ["TOUCH authorization"]


def test_the_infusion_starts_once_every_item_is_ticked(clinic_a, nurse):
    appointment = visit(clinic_a)
    for label in ("TOUCH authorization", "pre-infusion checklist", "infection check"):
        visit_check_tick(appointment=appointment, regimen_check=check(appointment, label), by=nurse)

    infuse(appointment, nurse)

    appointment.refresh_from_db()
    assert appointment.status == Status.INFUSING


def test_an_expired_authorization_holds_the_infusion_back_even_with_every_item_ticked(clinic_a, nurse):
    appointment = visit(clinic_a, expires=MONDAY - timedelta(days=1))
    tick_all_checks(appointment, by=nurse)

    with pytest.raises(VisitError) as refused:
        infuse(appointment, nurse)

    assert str(refused.value) == (
        "The TOUCH Prescribing Program (REMS) authorization expired on 28 Feb 2027: renew it on the course, "
        "or ask a clinic manager to override it with a reason."
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.IN_CHAIR


def test_an_authorization_valid_to_the_visit_day_lets_the_infusion_start(clinic_a, nurse):
    appointment = visit(clinic_a, expires=MONDAY)
    tick_all_checks(appointment, by=nurse)

    infuse(appointment, nurse)

    appointment.refresh_from_db()
    assert appointment.status == Status.INFUSING


def test_a_manager_s_override_with_a_reason_lets_the_infusion_start_and_is_recorded(clinic_a, nurse, manager):
    appointment = visit(clinic_a, expires=MONDAY - timedelta(days=10))
    tick_all_checks(appointment, by=nurse)
    moment = local(clinic_a, MONDAY, 9, 4)
    reason = "TOUCH confirmed the renewal by phone; the paperwork follows."

    visit_authorization_override(appointment=appointment, reason=f"  {reason} ", by=manager, now=moment)
    infuse(appointment, nurse)

    appointment.refresh_from_db()
    assert appointment.status == Status.INFUSING
    assert (
        appointment.authorization_override_reason,
        appointment.authorization_override_by,
        appointment.authorization_override_at,
    ) == (reason, manager, moment)
    event = appointment.events.get(action=AppointmentEvent.Action.AUTHORIZATION_OVERRIDE)
    assert (event.by, event.reason, event.details["expires_on"]) == (manager, reason, "2027-02-19")


def test_an_override_still_needs_every_item_ticked(clinic_a, manager):
    appointment = visit(clinic_a, expires=None)
    visit_authorization_override(appointment=appointment, reason="Enrolment faxed this morning.", by=manager)

    with pytest.raises(VisitError, match="^Tick the TOUCH authorization, the pre-infusion checklist and the infection"):
        infuse(appointment, manager)


def test_an_override_needs_a_reason_and_an_authorization_that_is_not_current(clinic_a, manager):
    expired = visit(clinic_a, expires=MONDAY - timedelta(days=1))
    current = visit(clinic_a, hour=13)

    with pytest.raises(VisitError, match="Write why the infusion may start on the expired authorization"):
        visit_authorization_override(appointment=expired, reason="   ", by=manager)
    with pytest.raises(VisitError, match="authorization is current: there is nothing to override"):
        visit_authorization_override(appointment=current, reason="Just in case.", by=manager)
    assert not Appointment.objects.exclude(authorization_override_at=None).exists()


def test_a_nurse_cannot_override_an_expired_authorization(client, clinic_a, nurse):
    appointment = visit(clinic_a, expires=MONDAY - timedelta(days=1))

    with pytest.raises(VisitPermissionError, match="Only a clinic manager"):
        visit_authorization_override(appointment=appointment, reason="The patient is here.", by=nurse)
    client.force_login(nurse)
    response = client.post(
        reverse("scheduling:roster_visit_authorization_override", args=[appointment.pk]),
        {"reason": "The patient is here."},
    )
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert appointment.authorization_override_at is None


# --- On the roster card ---------------------------------------------------------------------------


def roster(client, clinic, **extra):
    return client.get(reverse("scheduling:roster"), {"clinic": clinic.pk, "day": MONDAY.isoformat()}, **extra)


def test_the_roster_card_shows_each_item_as_a_button_a_keyboard_can_press(client, clinic_a, nurse):
    appointment = visit(clinic_a)
    visit_check_tick(
        appointment=appointment,
        regimen_check=check(appointment, "TOUCH authorization"),
        by=nurse,
        now=local(clinic_a, MONDAY, 9, 2),
    )

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(nurse)
        body = roster(client, clinic_a).content.decode()

    touch, infection = check(appointment, "TOUCH authorization"), check(appointment, "infection check")
    assert "Before the needle" in body
    assert f'id="visit-{appointment.pk}-check-{touch.pk}" aria-pressed="true"' in body
    assert "Nina, 09:02" in body
    assert f'id="visit-{appointment.pk}-check-{infection.pk}" aria-pressed="false"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert reverse("scheduling:roster_visit_check", args=[appointment.pk]) in body


def test_a_tick_through_htmx_answers_the_roster_with_the_item_ticked(client, clinic_a, nurse):
    appointment = visit(clinic_a)
    infection = check(appointment, "infection check")

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(nurse)
        response = client.post(
            reverse("scheduling:roster_visit_check", args=[appointment.pk]),
            {"check": infection.pk, "ticked": "1"},
            HTTP_HX_REQUEST="true",
        )

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="roster-body"')
    assert "Infection check: ticked." in body
    assert f'id="visit-{appointment.pk}-check-{infection.pk}" aria-pressed="true"' in body
    assert VisitCheck.objects.standing().get(appointment=appointment).ticked_by == nurse


def test_start_infusion_with_items_open_answers_the_roster_with_the_sentence_and_the_ticks_kept(
    client, clinic_a, nurse
):
    appointment = visit(clinic_a)
    touch = check(appointment, "TOUCH authorization")
    visit_check_tick(appointment=appointment, regimen_check=touch, by=nurse)

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(nurse)
        response = client.post(
            reverse("scheduling:roster_visit_status", args=[appointment.pk]),
            {"status": "infusing"},
            HTTP_HX_REQUEST="true",
        )

    body = response.content.decode()
    assert "Tick the pre-infusion checklist and the infection check before starting the infusion." in body
    assert f'id="visit-{appointment.pk}-check-{touch.pk}" aria-pressed="true"' in body


def test_a_manager_sees_the_override_for_an_expired_authorization_and_a_nurse_does_not(
    client, clinic_a, nurse, manager
):
    appointment = visit(clinic_a, expires=MONDAY - timedelta(days=1))
    override_url = reverse("scheduling:roster_visit_authorization_override", args=[appointment.pk])

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(nurse)
        as_nurse = roster(client, clinic_a).content.decode()
        client.force_login(manager)
        as_manager = roster(client, clinic_a).content.decode()

    assert "authorization expired on 28 Feb 2027" in as_nurse
    assert override_url not in as_nurse
    assert override_url in as_manager
    assert f'<label class="form-label small mb-0" for="visit-{appointment.pk}-override-reason">' in as_manager


def test_an_override_without_a_reason_keeps_the_form_open_with_the_sentence(client, clinic_a, manager):
    appointment = visit(clinic_a, expires=MONDAY - timedelta(days=1))

    with time_machine.travel(local(clinic_a, MONDAY, 9, 5), tick=False):
        client.force_login(manager)
        response = client.post(
            reverse("scheduling:roster_visit_authorization_override", args=[appointment.pk]),
            {"reason": "  "},
            HTTP_HX_REQUEST="true",
        )

    body = response.content.decode()
    assert '<details class="roster-override-form" open>' in body
    assert "Write why the infusion may start on the expired authorization" in body
    appointment.refresh_from_db()
    assert appointment.authorization_override_at is None


def test_a_course_of_another_patient_is_not_shown_ticks_of_this_one(client, clinic_a, nurse):
    """Ticks belong to one visit: the next visit of the same regimen starts with every item open."""
    ticked = visit(clinic_a)
    tick_all_checks(ticked, by=nurse)
    other = visit(
        clinic_a,
        course=TreatmentCourseFactory(
            patient=PatientFactory(clinic=clinic_a),
            regimen=ticked.course.regimen,
            start_date=MONDAY,
            authorization_expires_on=VALID,
        ),
        hour=13,
    )

    assert [item.ticked for item in visit_checklist(other).items] == [False, False, False]
