"""The booking services: one dose, a series, reschedule, cancel and no-show, each with its history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from clinic.models import Chair, Closure, Regimen
from clinic.roles import sync_roles
from scheduling.booking.services import (
    BookingError,
    booking_cancel,
    booking_create,
    booking_create_series,
    booking_mark_no_show,
    booking_reschedule,
)
from scheduling.models import Appointment, AppointmentEvent
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, ensure_formulary, local

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roles(db):
    ensure_formulary()
    """Give the role groups every permission (the post-migrate sync runs before scheduling's exist)."""
    sync_roles()


@pytest.fixture(autouse=True)
def _now():
    """Chairside's clock: 1 Feb 2027, a month before the bookings these tests make."""
    with time_machine.travel(datetime(2027, 2, 1, 12, 0, tzinfo=UTC), tick=False):
        yield


MONDAY = date(2027, 3, 1)


def course_for(clinic, regimen="ocrevus", start=MONDAY, **kwargs):
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code=regimen), start_date=start, **kwargs
    )


@pytest.fixture
def chairs(clinic_a):
    return list(Chair.objects.filter(clinic=clinic_a))


def test_it_books_the_next_dose_with_the_chair_time_of_the_dosing_rules(clinic_a, chairs, front_desk):
    course = course_for(clinic_a)
    appointment = booking_create(
        course=course, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    assert appointment.dose_number == 1
    # Ocrevus infusion 1: 30 min premedication, 150 min infusion, 60 min observation.
    assert (appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes) == (30, 150, 60)
    assert appointment.ends_at == local(clinic_a, MONDAY, 13)
    assert appointment.booked_by == front_desk
    event = appointment.events.get()
    assert event.action == AppointmentEvent.Action.BOOKED
    assert event.by == front_desk
    assert event.details["dose_number"] == 1


def test_it_rejects_a_second_booking_of_the_same_chair_with_a_sentence(clinic_a, chairs, front_desk):
    booking_create(
        course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    with pytest.raises(BookingError) as refused:
        booking_create(
            course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 10), booked_by=front_desk
        )
    assert refused.value.message == (
        "Chair 1 is already booked from 09:00 to 13:00 on 1 Mar 2027. Choose another chair or time."
    )
    assert Appointment.objects.count() == 1


def test_back_to_back_bookings_of_one_chair_are_accepted(clinic_a, chairs, front_desk):
    first = booking_create(
        course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 8), booked_by=front_desk
    )
    second = booking_create(course=course_for(clinic_a), chair=chairs[0], starts_at=first.ends_at, booked_by=front_desk)
    assert second.starts_at == local(clinic_a, MONDAY, 12)


def test_it_refuses_a_visit_that_would_run_past_closing_time(clinic_a, chairs, front_desk):
    with pytest.raises(BookingError, match="would end at 21:45, after the clinic closes at 18:00"):
        booking_create(
            course=course_for(clinic_a),
            chair=chairs[0],
            starts_at=local(clinic_a, MONDAY, 17, 45),
            booked_by=front_desk,
        )


def test_it_refuses_a_closure_day(clinic_a, chairs, front_desk):
    Closure.objects.create(clinic=clinic_a, starts_on=MONDAY, ends_on=MONDAY, reason="Bank holiday")
    with pytest.raises(BookingError, match=r"closed on 1 Mar 2027 \(Bank holiday\)"):
        booking_create(
            course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
        )


def test_it_refuses_a_booking_that_breaks_the_patients_per_nurse_rule(clinic_a, chairs, front_desk):
    clinic_a.patients_per_nurse = 1
    clinic_a.save(update_fields=["patients_per_nurse"])
    for chair, hour in zip(chairs[:2], (8, 9), strict=True):
        booking_create(
            course=course_for(clinic_a), chair=chair, starts_at=local(clinic_a, MONDAY, hour), booked_by=front_desk
        )
    with pytest.raises(BookingError, match="the 2 nurses on duty already look after 2 patients"):
        booking_create(
            course=course_for(clinic_a), chair=chairs[2], starts_at=local(clinic_a, MONDAY, 10), booked_by=front_desk
        )


def test_it_refuses_a_dose_before_its_earliest_date_with_the_reason(clinic_a, chairs, front_desk):
    course = course_for(clinic_a)
    for dose_number, day in ((1, MONDAY), (2, MONDAY + timedelta(days=14))):
        book_directly(
            chair=chairs[0],
            course=course,
            starts_at=local(clinic_a, day, 9),
            minutes=240,
            status=Appointment.Status.COMPLETED,
            dose_number=dose_number,
        )
    # Dose 3 (maintenance): 6 months after infusion 1 (1 Sep 2027), not before 5 months after dose 2 (15 Aug 2027).
    with pytest.raises(BookingError) as refused:
        booking_create(
            course=course, chair=chairs[0], starts_at=local(clinic_a, date(2027, 8, 2), 9), booked_by=front_desk
        )
    assert refused.value.code == "too_early"
    assert "dose 3 may not be given before 15 Aug 2027" in refused.value.message
    assert "due 1 Sep 2027" in refused.value.message
    assert "ask a clinic manager" in refused.value.message
    appointment = booking_create(
        course=course, chair=chairs[0], starts_at=local(clinic_a, date(2027, 8, 16), 9), booked_by=front_desk
    )
    assert appointment.dose_number == 3
    assert appointment.infusion_minutes == 210


def test_the_front_desk_cannot_override_the_earliest_date(clinic_a, chairs, front_desk):
    course = course_for(clinic_a, start=MONDAY + timedelta(days=7))
    with pytest.raises(BookingError, match="Only a clinic manager can book dose 1 before 8 Mar 2027"):
        booking_create(
            course=course,
            chair=chairs[0],
            starts_at=local(clinic_a, MONDAY, 9),
            booked_by=front_desk,
            override_reason="Patient travels abroad next week",
        )
    assert not Appointment.objects.exists()


def test_a_manager_override_is_recorded_on_the_appointment_and_in_its_history(clinic_a, chairs, manager):
    course = course_for(clinic_a, start=MONDAY + timedelta(days=7))
    with pytest.raises(BookingError, match="ask a clinic manager to override with a written reason"):
        booking_create(course=course, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=manager)
    appointment = booking_create(
        course=course,
        chair=chairs[0],
        starts_at=local(clinic_a, MONDAY, 9),
        booked_by=manager,
        override_reason="  Patient travels abroad next week  ",
    )
    assert appointment.early_override_reason == "Patient travels abroad next week"
    assert appointment.early_override_by == manager
    override = appointment.events.get(action=AppointmentEvent.Action.OVERRIDE)
    assert override.by == manager
    assert override.reason == "Patient travels abroad next week"
    assert override.details["earliest_date"] == "2027-03-08"


def test_it_refuses_to_book_a_dose_that_is_already_booked(clinic_a, chairs, front_desk):
    course = course_for(clinic_a, regimen="tysabri")
    booking_create(course=course, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk)
    with pytest.raises(BookingError, match="Dose 1 is already booked. Reschedule that appointment instead."):
        booking_create(
            course=course, chair=chairs[1], starts_at=local(clinic_a, MONDAY, 14), booked_by=front_desk, dose_number=1
        )
    # Without a dose number the next one is dose 2, four weeks after the booked dose 1.
    with pytest.raises(BookingError, match="dose 2 may not be given before 29 Mar 2027"):
        booking_create(
            course=course,
            chair=chairs[1],
            starts_at=local(clinic_a, MONDAY + timedelta(days=7), 9),
            booked_by=front_desk,
        )


def test_an_ocrevus_initiation_is_booked_as_two_doses_fourteen_days_apart(clinic_a, chairs, front_desk):
    course = course_for(clinic_a)
    first, second = booking_create_series(
        course=course, chair=chairs[2], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    assert (first.dose_number, second.dose_number) == (1, 2)
    assert second.starts_at == local(clinic_a, MONDAY + timedelta(days=14), 9)
    assert first.chair == second.chair == chairs[2]
    assert second.events.get().details["series"] == {"day": 2, "of": 2}


def test_a_lemtrada_course_is_five_consecutive_days_in_the_same_chair(clinic_a, chairs, front_desk):
    course = course_for(clinic_a, regimen="lemtrada")
    appointments = booking_create_series(
        course=course, chair=chairs[1], starts_at=local(clinic_a, MONDAY, 8), booked_by=front_desk
    )
    assert [a.dose_number for a in appointments] == [1, 2, 3, 4, 5]
    assert [a.starts_at for a in appointments] == [local(clinic_a, MONDAY + timedelta(days=n), 8) for n in range(5)]
    assert {a.chair_id for a in appointments} == {chairs[1].pk}
    # Steroid premedication on the first three days only.
    assert [a.premed_minutes for a in appointments] == [60, 60, 60, 0, 0]


def test_a_series_moves_whole_to_a_chair_free_every_day_when_its_chair_is_taken_one_day(clinic_a, chairs, front_desk):
    book_directly(
        chair=chairs[1], course=course_for(clinic_a), starts_at=local(clinic_a, MONDAY + timedelta(days=2), 8)
    )
    appointments = booking_create_series(
        course=course_for(clinic_a, regimen="lemtrada"),
        chair=chairs[1],
        starts_at=local(clinic_a, MONDAY, 8),
        booked_by=front_desk,
    )
    assert {a.chair_id for a in appointments} == {chairs[0].pk}
    assert appointments[2].starts_at == local(clinic_a, MONDAY + timedelta(days=2), 8)


def test_a_series_is_refused_whole_when_one_of_its_days_is_full(clinic_a, chairs, front_desk):
    thursday = MONDAY + timedelta(days=3)
    for chair in chairs:
        book_directly(chair=chair, course=course_for(clinic_a), starts_at=local(clinic_a, thursday, 8), minutes=600)
    before = Appointment.objects.count()
    with pytest.raises(BookingError) as refused:
        booking_create_series(
            course=course_for(clinic_a, regimen="lemtrada"),
            chair=chairs[0],
            starts_at=local(clinic_a, MONDAY, 8),
            booked_by=front_desk,
        )
    assert "dose 4 (4 Mar 2027, day 4 of 5) has no place" in refused.value.message
    assert "Nothing was booked" in refused.value.message
    assert Appointment.objects.count() == before
    assert not AppointmentEvent.objects.exists()


def test_a_series_over_a_weekend_is_refused_whole(clinic_a, chairs, front_desk):
    wednesday = MONDAY + timedelta(days=2)
    with pytest.raises(BookingError, match="Closed on Saturdays"):
        booking_create_series(
            course=course_for(clinic_a, regimen="lemtrada", start=wednesday),
            chair=chairs[0],
            starts_at=local(clinic_a, wednesday, 8),
            booked_by=front_desk,
        )
    assert not Appointment.objects.exists()


def test_rescheduling_keeps_the_dose_and_the_history_and_frees_the_old_chair(clinic_a, chairs, front_desk):
    course = course_for(clinic_a)
    appointment = booking_create(
        course=course, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    moved = booking_reschedule(
        appointment=appointment,
        chair=chairs[1],
        starts_at=local(clinic_a, MONDAY + timedelta(days=1), 10),
        by=front_desk,
        reason="Patient asked for Tuesday",
    )
    assert moved.pk == appointment.pk
    assert moved.dose_number == 1
    assert moved.ends_at == local(clinic_a, MONDAY + timedelta(days=1), 14)
    booked, rescheduled = moved.events.order_by("pk")
    assert rescheduled.action == AppointmentEvent.Action.RESCHEDULED
    assert rescheduled.reason == "Patient asked for Tuesday"
    assert rescheduled.details["previous"]["chair"] == "Chair 1"
    # The old chair time is free for someone else at once.
    booking_create(
        course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )


def test_rescheduling_onto_its_own_time_plus_a_quarter_is_allowed(clinic_a, chairs, front_desk):
    appointment = booking_create(
        course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    moved = booking_reschedule(
        appointment=appointment, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9, 15), by=front_desk
    )
    assert moved.starts_at == local(clinic_a, MONDAY, 9, 15)


def test_cancelling_needs_a_reason_keeps_the_row_and_frees_the_chair(clinic_a, chairs, front_desk):
    appointment = booking_create(
        course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    with pytest.raises(BookingError, match="Write why the appointment is cancelled"):
        booking_cancel(appointment=appointment, by=front_desk, reason="  ")
    booking_cancel(appointment=appointment, by=front_desk, reason="Patient has a cold")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    event = appointment.events.get(action=AppointmentEvent.Action.CANCELLED)
    assert (event.reason, event.from_status, event.to_status) == ("Patient has a cold", "booked", "cancelled")
    booking_create(
        course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    assert Appointment.objects.count() == 2


def test_a_no_show_is_marked_only_after_the_start_time(clinic_a, chairs, front_desk):
    appointment = booking_create(
        course=course_for(clinic_a), chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    with pytest.raises(BookingError, match="Mark a no-show once its start time has passed"):
        booking_mark_no_show(appointment=appointment, by=front_desk)
    with time_machine.travel(local(clinic_a, MONDAY, 9, 40), tick=False):
        booking_mark_no_show(appointment=appointment, by=front_desk)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW
    assert appointment.events.filter(action=AppointmentEvent.Action.STATUS, to_status="no_show").exists()
    # The dose is due again: the next booking of the course is dose 1 once more.
    again = booking_create(
        course=appointment.course, chair=chairs[1], starts_at=local(clinic_a, MONDAY, 14), booked_by=front_desk
    )
    assert again.dose_number == 1


def test_a_chair_of_another_clinic_is_refused(clinic_a, clinic_b, front_desk):
    other = Chair.objects.filter(clinic=clinic_b).first()
    with pytest.raises(BookingError, match="belongs to another clinic"):
        booking_create(
            course=course_for(clinic_a), chair=other, starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
        )
