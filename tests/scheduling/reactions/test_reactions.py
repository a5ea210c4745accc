"""Structured infusion reactions: recording one, what the dosing rules and booking make of it, and the pages."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import import_module

import pytest
import time_machine
from django.apps import apps as django_apps
from django.urls import reverse

from clinic.roles import NURSE
from scheduling.booking.services import BookingError, booking_create
from scheduling.doses import dose_states_refresh
from scheduling.models import Appointment, AppointmentEvent, DoseState, InfusionReaction
from scheduling.roster.reactions import reaction_record, reaction_review_clear
from scheduling.roster.selectors import roster_for_day
from scheduling.roster.services import VisitError, VisitPermissionError
from tests.helpers import book_directly, give, local, make_course, make_staff

pytestmark = pytest.mark.django_db

Status = Appointment.Status
MONDAY = date(2027, 3, 1)


def infusing(course, day: date, *, dose_number: int, started_hour=9, started_minute=30, minutes=(30, 150, 60)):
    """A visit of the course under way on `day`: booked at 09:00, its infusion started as given."""
    clinic = course.patient.clinic
    premed, infusion, observation = minutes
    return book_directly(
        course=course,
        starts_at=local(clinic, day, 9),
        dose_number=dose_number,
        premed=premed,
        infusion=infusion,
        observation=observation,
        status=Status.INFUSING,
        infusion_started_at=local(clinic, day, started_hour, started_minute),
    )


def record(appointment, by, **overrides):
    """A grade 2 rash with the rate reduced, resolved, recorded at 10:40 on the visit's day."""
    clinic = appointment.clinic
    day = appointment.starts_at.astimezone(clinic.tz).date()
    fields = {
        "onset_at": local(clinic, day, 10, 15),
        "grade": 2,
        "symptoms": ["rash", "itching"],
        "actions": ["rate_reduced"],
        "outcome": "resolved",
        "serious": False,
        "hypersensitivity": False,
        "notes": "Settled at half rate.",
        "now": local(clinic, day, 10, 40),
    }
    fields.update(overrides)
    return reaction_record(appointment=appointment, by=by, **fields)


def state(course) -> DoseState:
    return DoseState.objects.get(course=course)


# --- Recording one ---------------------------------------------------------------------------


def test_a_reaction_is_recorded_with_its_history_and_the_visit_flags_follow(clinic_a, nurse):
    course = make_course(clinic_a, start=MONDAY)
    appointment = infusing(course, MONDAY, dose_number=1)

    reaction = record(appointment, nurse)

    reaction.refresh_from_db()
    assert (reaction.grade, reaction.symptoms, reaction.actions, reaction.outcome) == (
        2,
        ["rash", "itching"],
        ["rate_reduced"],
        "resolved",
    )
    assert reaction.onset_at == local(clinic_a, MONDAY, 10, 15)
    assert reaction.recorded_by == nurse
    assert not reaction.review_required
    appointment.refresh_from_db()
    assert (appointment.infusion_reaction, appointment.serious_reaction, appointment.status) == (
        True,
        False,
        Status.INFUSING,
    )
    event = appointment.events.get(action=AppointmentEvent.Action.REACTION)
    assert event.by == nurse
    assert event.reason == "Grade 2; Rash, Itching; rate reduced; resolved. Settled at half rate."
    assert event.details["reaction"] == reaction.pk


def test_a_visit_can_have_several_reactions_and_a_mild_one_never_clears_serious(clinic_a, nurse):
    appointment = infusing(make_course(clinic_a, start=MONDAY), MONDAY, dose_number=1)

    record(appointment, nurse, grade=3, serious=True, symptoms=["low_blood_pressure"], actions=["stopped"])
    record(appointment, nurse, grade=1, onset_at=local(clinic_a, MONDAY, 10, 30))

    appointment.refresh_from_db()
    assert appointment.reactions.count() == 2
    assert appointment.serious_reaction


def test_grade_4_or_a_hospital_transfer_is_always_serious(clinic_a, nurse):
    appointment = infusing(make_course(clinic_a, start=MONDAY), MONDAY, dose_number=1)

    transferred = record(appointment, nurse, grade=3, outcome="transferred")
    life_threatening = record(appointment, nurse, grade=4, outcome="ongoing")

    assert transferred.serious and not transferred.review_required
    assert life_threatening.serious and life_threatening.review_required


def test_staff_of_another_clinic_cannot_record_a_reaction(clinic_a, clinic_b):
    appointment = infusing(make_course(clinic_a, start=MONDAY), MONDAY, dose_number=1)
    other_nurse = make_staff("olga", NURSE, clinic_b)

    with pytest.raises(VisitPermissionError, match="Only nurses and clinic managers of this clinic"):
        record(appointment, other_nurse)

    assert not InfusionReaction.objects.exists()


def test_the_front_desk_cannot_record_a_reaction(clinic_a, front_desk):
    appointment = infusing(make_course(clinic_a, start=MONDAY), MONDAY, dose_number=1)

    with pytest.raises(VisitPermissionError):
        record(appointment, front_desk)


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        ({"symptoms": []}, "Tick at least one symptom, or Other and describe it."),
        ({"symptoms": ["other"]}, "Describe the other symptom, or untick Other."),
        ({"grade": 5, "outcome": "resolved"}, "Grade 5 means the patient died"),
        ({"grade": 7}, "Choose the reaction's grade, 1 to 5 (CTCAE)."),
        ({"outcome": ""}, "Choose the outcome"),
    ],
)
def test_an_incomplete_reaction_is_refused_with_a_sentence(clinic_a, nurse, overrides, sentence):
    appointment = infusing(make_course(clinic_a, start=MONDAY), MONDAY, dose_number=1)

    with pytest.raises(VisitError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        record(appointment, nurse, **overrides)

    assert not InfusionReaction.objects.exists()


def test_an_onset_after_now_or_before_the_visit_is_refused(clinic_a, nurse):
    appointment = infusing(make_course(clinic_a, start=MONDAY), MONDAY, dose_number=1)

    with pytest.raises(VisitError, match="The onset time 11:30 is later than now \\(10:40\\)"):
        record(appointment, nurse, onset_at=local(clinic_a, MONDAY, 11, 30))
    with pytest.raises(VisitError, match="The onset time 07:00 is before the visit began \\(09:00\\)"):
        record(appointment, nurse, onset_at=local(clinic_a, MONDAY, 7))


def test_a_reaction_before_the_patient_is_in_the_chair_is_refused(clinic_a, nurse):
    course = make_course(clinic_a, start=MONDAY)
    booked = book_directly(course=course, starts_at=local(clinic_a, MONDAY, 9), status=Status.BOOKED)

    with pytest.raises(VisitError, match="This visit is booked; record a reaction once the patient is in the chair."):
        record(booked, nurse)


# --- What the dosing rules make of it ----------------------------------------------------------


def test_a_serious_reaction_takes_the_ocrevus_short_infusion_away_from_the_next_dose_at_once(clinic_a, nurse):
    course = make_course(clinic_a, start=date(2027, 1, 4), options={"short_infusion": True})
    give(course, date(2027, 1, 4), dose_number=1)
    give(course, date(2027, 1, 18), dose_number=2)
    dose_3 = infusing(course, date(2027, 7, 5), dose_number=3, minutes=(30, 120, 60))
    assert (state(course).dose_number, state(course).infusion_minutes) == (4, 120)

    record(dose_3, nurse, grade=3, serious=True)

    assert (state(course).dose_number, state(course).infusion_minutes) == (4, 210)


def test_a_mild_reaction_keeps_the_ocrevus_short_infusion(clinic_a, nurse):
    course = make_course(clinic_a, start=date(2027, 1, 4), options={"short_infusion": True})
    give(course, date(2027, 1, 4), dose_number=1)
    give(course, date(2027, 1, 18), dose_number=2)
    dose_3 = infusing(course, date(2027, 7, 5), dose_number=3, minutes=(30, 120, 60))

    record(dose_3, nurse, grade=1)

    assert state(course).infusion_minutes == 120


def _tysabri_at_infusion_13(clinic):
    course = make_course(clinic, regimen="tysabri", start=date(2027, 1, 4))
    for number in range(1, 13):
        give(course, date(2027, 1, 4) + timedelta(days=28 * (number - 1)), dose_number=number)
    return course, infusing(course, date(2027, 11, 29), dose_number=13, minutes=(0, 60, 0))


def test_tysabri_keeps_its_observation_after_a_hypersensitivity_reaction(clinic_a, nurse):
    course, dose_13 = _tysabri_at_infusion_13(clinic_a)
    assert (state(course).dose_number, state(course).observation_minutes) == (14, 0)

    record(dose_13, nurse, hypersensitivity=True, symptoms=["rash", "throat_irritation"])

    assert state(course).observation_minutes == 60


def test_tysabri_observation_stays_a_judgment_after_a_reaction_that_was_not_hypersensitivity(clinic_a, nurse):
    course, dose_13 = _tysabri_at_infusion_13(clinic_a)

    record(dose_13, nurse, hypersensitivity=False, symptoms=["headache"])

    assert state(course).observation_minutes == 0


def test_briumvi_observation_comes_back_after_any_reaction(clinic_a, nurse):
    course = make_course(clinic_a, regimen="briumvi", start=date(2027, 1, 6))
    give(course, date(2027, 1, 6), dose_number=1)
    give(course, date(2027, 1, 20), dose_number=2)
    dose_3 = infusing(course, date(2027, 6, 23), dose_number=3, minutes=(30, 60, 0))
    assert (state(course).dose_number, state(course).observation_minutes) == (4, 0)

    record(dose_3, nurse, grade=1, symptoms=["flushing"], actions=[])

    assert state(course).observation_minutes == 60


# --- Grade 4: held for the prescriber -------------------------------------------------------------


def test_a_grade_4_reaction_holds_the_next_dose_until_a_manager_clears_it_with_a_note(
    clinic_a, nurse, front_desk, manager
):
    course = make_course(clinic_a, start=MONDAY)
    dose_1 = infusing(course, MONDAY, dose_number=1)
    record(dose_1, nurse, grade=4, outcome="transferred", symptoms=["shortness_of_breath", "low_blood_pressure"])
    chair = clinic_a.chairs.order_by("position").last()
    fortnight = local(clinic_a, MONDAY + timedelta(days=14), 9)

    with time_machine.travel(local(clinic_a, MONDAY, 17), tick=False):
        with pytest.raises(BookingError, match="A grade 4 infusion reaction at dose 1 on 1 Mar 2027") as refused:
            booking_create(course=course, chair=chair, starts_at=fortnight, booked_by=front_desk)
        assert refused.value.code == "prescriber_hold"
        with pytest.raises(VisitPermissionError):
            reaction_review_clear(course=course, note="Reviewed.", by=nurse)
        with pytest.raises(VisitError, match="Write the prescriber's decision"):
            reaction_review_clear(course=course, note="  ", by=manager)

        (cleared,) = reaction_review_clear(
            course=course, note="Dr Patel: continue with slower rate and extra premedication.", by=manager
        )
        booked = booking_create(course=course, chair=chair, starts_at=fortnight, booked_by=front_desk)

    assert booked.dose_number == 2
    cleared.refresh_from_db()
    assert (cleared.review_cleared_by, cleared.review_note) == (
        manager,
        "Dr Patel: continue with slower rate and extra premedication.",
    )
    assert dose_1.events.filter(action=AppointmentEvent.Action.REVIEW, by=manager).exists()


def test_the_worklist_and_patient_page_say_why_a_held_course_cannot_be_booked(client, clinic_a, nurse, manager):
    course = make_course(clinic_a, start=MONDAY)
    dose_1 = infusing(course, MONDAY, dose_number=1)
    record(dose_1, nurse, grade=4, outcome="ongoing")
    dose_1.status = Status.COMPLETED
    dose_1.save(update_fields=["status"])

    with time_machine.travel(local(clinic_a, MONDAY + timedelta(days=10), 9), tick=False):
        client.force_login(manager)
        worklist = client.get(reverse("scheduling:worklist")).content.decode()
        page = client.get(reverse("patients:detail", args=[course.patient_id])).content.decode()

    assert "Held for the prescriber" in worklist
    assert reverse("scheduling:book", args=[course.pk]) not in worklist
    assert "A grade 4 infusion reaction at dose 1 on 1 Mar 2027 holds this course for the prescriber" in page
    assert reverse("scheduling:reaction_hold_clear", args=[course.pk]) in page


def test_a_manager_clears_the_hold_from_the_patient_page(client, clinic_a, nurse, manager):
    course = make_course(clinic_a, start=MONDAY)
    record(infusing(course, MONDAY, dose_number=1), nurse, grade=4, outcome="ongoing")
    client.force_login(manager)

    response = client.post(
        reverse("scheduling:reaction_hold_clear", args=[course.pk]),
        {
            "note": "Reviewed by the neurologist: continue.",
            "next": reverse("patients:detail", args=[course.patient_id]),
        },
        follow=True,
    )

    assert "The prescriber hold is cleared" in response.content.decode()
    assert not InfusionReaction.objects.awaiting_review().exists()


# --- Pages -------------------------------------------------------------------------------------


def test_the_roster_card_shows_grade_symptoms_and_actions(client, clinic_a, nurse):
    course = make_course(clinic_a, start=MONDAY)
    appointment = infusing(course, MONDAY, dose_number=1)
    record(appointment, nurse, symptoms=["rash", "other"], other_symptom="Tingling lips", actions=["paused"])

    with time_machine.travel(local(clinic_a, MONDAY, 10, 45), tick=False):
        client.force_login(nurse)
        body = client.get(reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": MONDAY.isoformat()})

    html = body.content.decode()
    card = html[html.index(f'id="visit-{appointment.pk}"') :]
    card = card[: card.index("</tr>")]
    assert "Grade 2" in card
    assert "Rash, Tingling lips" in card
    assert "Infusion paused" in card
    assert "10:15" in card


def test_a_refused_reaction_form_keeps_what_was_typed(client, clinic_a, nurse):
    appointment = infusing(make_course(clinic_a, start=MONDAY), MONDAY, dose_number=1)

    with time_machine.travel(local(clinic_a, MONDAY, 10, 45), tick=False):
        client.force_login(nurse)
        response = client.post(
            reverse("scheduling:roster_visit_reaction", args=[appointment.pk]),
            {"onset": "10:20", "symptoms": ["rash", "fever"], "actions": ["rate_reduced"], "notes": "Temp 38.1"},
            HTTP_HX_REQUEST="true",
        )

    body = response.content.decode()
    assert "The reaction was not recorded: Choose the reaction&#x27;s grade, 1 to 5 (CTCAE)." in body
    assert f'value="rash" id="reaction-{appointment.pk}-symptoms_0" checked' in body
    assert f'value="rate_reduced" id="reaction-{appointment.pk}-actions_1" checked' in body
    assert "Temp 38.1</textarea>" in body
    assert 'value="10:20"' in body
    assert not InfusionReaction.objects.exists()


def test_the_course_page_lists_the_courses_reactions(client, clinic_a, nurse, manager):
    course = make_course(clinic_a, start=MONDAY)
    record(infusing(course, MONDAY, dose_number=1), nurse, grade=3, serious=True, symptoms=["chest_tightness"])
    client.force_login(manager)

    page = client.get(reverse("patients:course_edit", args=[course.patient_id, course.pk])).content.decode()

    assert "Infusion reactions" in page
    assert "Grade 3, serious" in page
    assert "Chest tightness" in page
    assert "Rate reduced" in page


# --- Old records -------------------------------------------------------------------------------


def test_old_free_text_reactions_are_carried_into_the_structured_record(clinic_a):
    course = make_course(clinic_a, start=MONDAY)
    old = book_directly(
        course=course,
        starts_at=local(clinic_a, MONDAY, 9),
        status=Status.COMPLETED,
        infusion_reaction=True,
        serious_reaction=True,
        reaction_note="Wheeze; infusion stopped.",
    )

    import_module("scheduling.migrations.0009_infusion_reactions").carry_over(django_apps, None)
    dose_states_refresh()

    (reaction,) = old.reactions.all()
    assert (reaction.legacy, reaction.serious, reaction.notes, reaction.grade) == (
        True,
        True,
        "Wheeze; infusion stopped.",
        None,
    )
    old.refresh_from_db()
    assert old.hypersensitivity_reaction


def test_a_visit_already_booked_on_a_held_course_carries_the_hold_on_the_roster(clinic_a, nurse):
    course = make_course(clinic_a, start=MONDAY)
    dose_1 = infusing(course, MONDAY, dose_number=1)
    fortnight = MONDAY + timedelta(days=14)
    dose_2 = book_directly(course=course, starts_at=local(clinic_a, fortnight, 9), dose_number=2, minutes=240)
    record(dose_1, nurse, grade=4, outcome="ongoing")

    roster = roster_for_day(clinic=clinic_a, day=fortnight, now=local(clinic_a, fortnight, 8))

    (visit,) = [visit for visit in roster.visits if visit.pk == dose_2.pk]
    hold = next(flag for flag in visit.flags if flag.code == "prescriber_hold")
    assert (hold.level, hold.label) == ("danger", "Held for the prescriber (grade 4+ reaction)")
