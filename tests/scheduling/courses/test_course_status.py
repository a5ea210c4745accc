"""Pausing or stopping a course cancels its future appointments, with their history and reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinic.models import Chair, Regimen
from clinic.roles import sync_roles
from patients.models import TreatmentCourse
from scheduling.booking.services import BookingError, booking_create, booking_create_series
from scheduling.courses.selectors import course_future_appointments
from scheduling.courses.services import course_status_change
from scheduling.models import Appointment, AppointmentEvent, Reminder
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, ensure_formulary, local

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)  # a Monday, a month before the bookings below
MONDAY = date(2027, 3, 1)

Status = Appointment.Status


@pytest.fixture(autouse=True)
def _roles(db):
    ensure_formulary()
    sync_roles()


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def course_for(clinic, regimen="ocrevus", start=MONDAY):
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code=regimen), start_date=start
    )


def chair_of(clinic) -> Chair:
    return Chair.objects.filter(clinic=clinic).order_by("position").first()


@pytest.fixture
def series(clinic_a, front_desk):
    """An Ocrevus course with its two initiation doses booked: 1 and 15 March, 09:00 London time."""
    course = course_for(clinic_a)
    appointments = booking_create_series(
        course=course, chair=chair_of(clinic_a), starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    return course, appointments


def dose_reminder(course, *, kind=Reminder.Kind.DOSE_OVERDUE, status=Reminder.Status.PENDING, key="overdue:1"):
    return Reminder.objects.create(
        clinic=course.patient.clinic,
        patient=course.patient,
        course=course,
        kind=kind,
        key=f"{key}:{course.pk}",
        due_at=NOW + timedelta(days=1),
        status=status,
    )


# --- The service ----------------------------------------------------------------------------------


def test_stopping_a_course_cancels_its_future_appointments_with_the_reason_in_their_history(series, manager):
    course, appointments = series
    result = course_status_change(
        course=course, status=TreatmentCourse.Status.STOPPED, by=manager, reason="Progression, switching therapy"
    )
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.STOPPED
    assert result.previous_status == TreatmentCourse.Status.ACTIVE
    assert {appointment.pk for appointment in result.cancelled_appointments} == {a.pk for a in appointments}
    for appointment in appointments:
        appointment.refresh_from_db()
        assert appointment.status == Status.CANCELLED
        event = appointment.events.get(action=AppointmentEvent.Action.CANCELLED)
        assert event.by == manager
        assert event.from_status == Status.BOOKED
        assert "Progression, switching therapy" in event.reason
        assert "stopped" in event.reason


def test_stopping_a_course_cancels_the_reminders_of_its_appointments(series, manager):
    course, appointments = series
    upcoming = Reminder.objects.filter(appointment__in=appointments, kind=Reminder.Kind.APPOINTMENT_UPCOMING)
    assert upcoming.count() == 4  # 7 days and 1 day before each of the two visits
    assert set(upcoming.values_list("status", flat=True)) == {Reminder.Status.PENDING}
    course_status_change(course=course, status=TreatmentCourse.Status.STOPPED, by=manager, reason="Patient moved away")
    assert set(upcoming.values_list("status", flat=True)) == {Reminder.Status.CANCELLED}


def test_pausing_a_course_cancels_its_future_appointments_and_their_reminders_too(series, front_desk):
    course, appointments = series
    result = course_status_change(
        course=course, status=TreatmentCourse.Status.PAUSED, by=front_desk, reason="Pregnancy"
    )
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.PAUSED
    assert len(result.cancelled_appointments) == 2
    assert set(Appointment.objects.filter(course=course).values_list("status", flat=True)) == {Status.CANCELLED}
    # Only the cancellation notices are left to send.
    pending = Reminder.objects.filter(appointment__in=appointments, status=Reminder.Status.PENDING)
    assert set(pending.values_list("kind", flat=True)) == {Reminder.Kind.APPOINTMENT_CANCELLED}
    reasons = AppointmentEvent.objects.filter(appointment__course=course, action=AppointmentEvent.Action.CANCELLED)
    assert [event.reason for event in reasons] == ["Treatment course paused: Pregnancy"] * 2


def test_stopping_a_course_keeps_its_completed_visits_as_they_were(clinic_a, front_desk, manager):
    course = course_for(clinic_a, start=date(2027, 1, 4))
    given = book_directly(
        chair=chair_of(clinic_a), course=course, starts_at=local(clinic_a, date(2027, 1, 4), 9), status=Status.COMPLETED
    )
    booked = booking_create(
        course=course, chair=chair_of(clinic_a), starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    assert booked.dose_number == 2
    course_status_change(course=course, status=TreatmentCourse.Status.STOPPED, by=manager, reason="Side effects")
    given.refresh_from_db()
    booked.refresh_from_db()
    assert given.status == Status.COMPLETED
    assert not given.events.exists()
    assert booked.status == Status.CANCELLED


def test_a_visit_already_under_way_or_past_its_start_is_left_for_the_clinic_to_finish(clinic_a, manager):
    course = course_for(clinic_a, start=date(2027, 1, 4))
    chairs = list(Chair.objects.filter(clinic=clinic_a).order_by("position"))
    today = NOW.date()
    arrived = book_directly(chair=chairs[0], course=course, starts_at=local(clinic_a, today, 11), status=Status.ARRIVED)
    # Booked for 08:00 and not marked yet: the front desk may still mark an arrival or a no-show.
    late = book_directly(
        chair=chairs[1], course=course, starts_at=local(clinic_a, today, 8), minutes=120, dose_number=2
    )
    assert list(course_future_appointments(course)) == []
    result = course_status_change(course=course, status=TreatmentCourse.Status.STOPPED, by=manager, reason="Stopped")
    assert result.cancelled_appointments == ()
    arrived.refresh_from_db()
    late.refresh_from_db()
    assert arrived.status == Status.ARRIVED
    assert late.status == Status.BOOKED


def test_a_pause_cancels_the_courses_open_dose_and_lab_reminders_and_keeps_sent_ones(clinic_a, manager):
    course = course_for(clinic_a)
    overdue = dose_reminder(course)
    labs = dose_reminder(course, kind=Reminder.Kind.MONITORING_LABS, status=Reminder.Status.SENDING, key="labs")
    sent = dose_reminder(course, kind=Reminder.Kind.DOSE_DUE_SOON, status=Reminder.Status.SENT, key="due-soon")
    other = dose_reminder(course_for(clinic_a))
    result = course_status_change(course=course, status=TreatmentCourse.Status.PAUSED, by=manager, reason="Infection")
    assert result.cancelled_reminders == 2
    for reminder in (overdue, labs):
        reminder.refresh_from_db()
        assert reminder.status == Reminder.Status.CANCELLED
        assert reminder.last_error == "The treatment course was paused."
    sent.refresh_from_db()
    other.refresh_from_db()
    assert sent.status == Reminder.Status.SENT
    assert other.status == Reminder.Status.PENDING


@pytest.mark.parametrize("status", [TreatmentCourse.Status.PAUSED, TreatmentCourse.Status.STOPPED])
def test_a_pause_or_a_stop_without_a_reason_is_refused_and_changes_nothing(series, manager, status):
    course, appointments = series
    with pytest.raises(ValidationError) as refused:
        course_status_change(course=course, status=status, by=manager, reason="   ")
    assert "Write why the course is" in refused.value.message_dict["reason"][0]
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE
    assert set(Appointment.objects.filter(course=course).values_list("status", flat=True)) == {Status.BOOKED}


def test_the_same_status_again_is_refused_with_a_sentence(clinic_a, manager):
    course = course_for(clinic_a)
    with pytest.raises(ValidationError) as refused:
        course_status_change(course=course, status=TreatmentCourse.Status.ACTIVE, by=manager, reason="")
    assert refused.value.message_dict["status"] == ["The course is already active. Choose another status, or go back."]


def test_making_a_paused_course_active_again_cancels_nothing_and_lets_it_be_booked(clinic_a, front_desk):
    course = course_for(clinic_a)
    course_status_change(course=course, status=TreatmentCourse.Status.PAUSED, by=front_desk, reason="Infection")
    with pytest.raises(BookingError) as refused:
        booking_create(
            course=course, chair=chair_of(clinic_a), starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
        )
    assert refused.value.code == "course_inactive"
    result = course_status_change(course=course, status=TreatmentCourse.Status.ACTIVE, by=front_desk, reason="")
    assert result.cancelled_appointments == () and result.cancelled_reminders == 0
    booking_create(course=course, chair=chair_of(clinic_a), starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk)
    assert Appointment.objects.get(course=course).status == Status.BOOKED


# --- The page -------------------------------------------------------------------------------------


def status_url(course) -> str:
    return reverse("scheduling:course_status", args=[course.pk])


def test_the_page_lists_the_appointments_a_stop_will_cancel_in_the_clinics_time(client, clinic_b, staff_b):
    course = course_for(clinic_b)
    appointment = booking_create(
        course=course, chair=chair_of(clinic_b), starts_at=local(clinic_b, MONDAY, 9), booked_by=staff_b
    )
    client.force_login(staff_b)
    response = client.get(status_url(course))
    assert response.status_code == 200
    assert list(response.context["appointments"]) == [appointment]
    html = response.content.decode()
    assert f'data-appointment="{appointment.pk}"' in html
    # 09:00 in New York is 14:00 UTC: the page speaks the clinic's time.
    assert "Mon 1 Mar 2027, 09:00" in html and "14:00" not in html
    assert appointment.chair.name in html
    assert 'value="active"' not in html  # the course is active: only a change is offered
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_a_stop_is_not_made_until_it_is_confirmed_and_what_was_typed_is_kept(client, series, front_desk):
    course, appointments = series
    client.force_login(front_desk)
    response = client.post(status_url(course), {"status": "stopped", "reason": "Patient's own decision"})
    assert response.status_code == 200
    assert "Tick the box to confirm" in response.context["form"].errors["confirm"][0]
    assert "Patient&#x27;s own decision" in response.content.decode()
    assert len(response.context["appointments"]) == 2
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE
    assert not Appointment.objects.filter(course=course, status=Status.CANCELLED).exists()


def test_a_pause_without_a_reason_is_refused_on_the_page(client, series, front_desk):
    course, _appointments = series
    client.force_login(front_desk)
    response = client.post(status_url(course), {"status": "paused", "reason": "", "confirm": "on"})
    assert response.status_code == 200
    assert "Write why the course is paused" in response.context["form"].errors["reason"][0]
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE


def test_the_front_desk_stops_a_course_and_is_told_how_many_appointments_were_cancelled(client, series, front_desk):
    course, appointments = series
    client.force_login(front_desk)
    response = client.post(
        status_url(course), {"status": "stopped", "reason": "Switching to another therapy", "confirm": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[course.patient_id])
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "The course is stopped. 2 future appointments were cancelled, with their reminders."
    ]
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.STOPPED
    assert set(Appointment.objects.filter(course=course).values_list("status", flat=True)) == {Status.CANCELLED}
    event = AppointmentEvent.objects.filter(appointment=appointments[0], action=AppointmentEvent.Action.CANCELLED).get()
    assert event.by == front_desk and event.reason == "Treatment course stopped: Switching to another therapy"


def test_the_manager_pauses_a_course_with_no_appointments(client, clinic_a, manager):
    course = course_for(clinic_a)
    client.force_login(manager)
    assert b"has no future appointments" in client.get(status_url(course)).content
    response = client.post(status_url(course), {"status": "paused", "reason": "Infection", "confirm": "on"})
    assert response.status_code == 302
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "The course is paused. It had no future appointments to cancel."
    ]


def test_a_course_of_another_clinic_answers_404(client, series, staff_b):
    course, _appointments = series
    client.force_login(staff_b)
    assert client.get(status_url(course)).status_code == 404
    response = client.post(status_url(course), {"status": "stopped", "reason": "Not mine", "confirm": "on"})
    assert response.status_code == 404
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE


def test_a_nurse_may_not_pause_or_stop_a_course(client, series, nurse):
    course, _appointments = series
    client.force_login(nurse)
    assert client.get(status_url(course)).status_code == 403
    response = client.post(status_url(course), {"status": "stopped", "reason": "Not allowed", "confirm": "on"})
    assert response.status_code == 403
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE
    assert not Appointment.objects.filter(course=course, status=Status.CANCELLED).exists()
