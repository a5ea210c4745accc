"""The booking pages: suggestions, confirm, series, changes, the week view and the JSON search."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.models import Chair, Regimen
from clinic.roles import sync_roles
from scheduling.booking.services import booking_create
from scheduling.models import Appointment, AppointmentEvent
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, ensure_formulary, local

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _roles(db):
    ensure_formulary()
    sync_roles()


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(datetime(2027, 2, 22, 12, 0, tzinfo=UTC), tick=False):
        yield


def course_for(clinic, regimen="ocrevus", start=MONDAY):
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic, first_name="Ada", last_name="Lovelace"),
        regimen=Regimen.objects.get(code=regimen),
        start_date=start,
    )


@pytest.fixture
def course(clinic_a):
    return course_for(clinic_a)


@pytest.fixture
def chairs(clinic_a):
    return list(Chair.objects.filter(clinic=clinic_a))


def start_param(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def test_the_booking_page_suggests_the_earliest_and_a_balanced_slot(client, front_desk, course):
    client.force_login(front_desk)
    response = client.get(reverse("scheduling:book", args=[course.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-suggestion="earliest"' in html
    assert 'data-suggestion="balanced"' in html
    assert "Mon 1 Mar 2027, 08:00–12:00 · Chair 1" in html
    assert "Dose 1, initial 300 mg IV: due 1 Mar 2027" in html
    # Ocrevus initiation: picking a slot books both doses.
    assert "Book all 2 doses from here" in html
    # Weekends say why they have nothing.
    assert "Closed on Saturdays." in html


def test_an_htmx_search_returns_only_the_slots(client, front_desk, course):
    client.force_login(front_desk)
    response = client.get(
        reverse("scheduling:book", args=[course.pk]),
        {"start": "2027-03-03", "end": "2027-03-04"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'data-day="2027-03-03"' in html and 'data-day="2027-03-05"' not in html


def test_staff_of_another_clinic_cannot_open_the_booking_page(client, staff_b, course):
    client.force_login(staff_b)
    assert client.get(reverse("scheduling:book", args=[course.pk])).status_code == 404
    assert client.get(reverse("scheduling:availability_json"), {"course": course.pk}).status_code == 404


def test_a_nurse_may_not_book(client, nurse, course):
    client.force_login(nurse)
    assert client.get(reverse("scheduling:book", args=[course.pk])).status_code == 403
    assert client.get(reverse("scheduling:availability_json"), {"course": course.pk}).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client, course):
    response = client.get(reverse("scheduling:availability_json"), {"course": course.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_confirming_a_suggestion_books_it_and_shows_it_on_the_week_view(client, front_desk, clinic_a, chairs):
    course = course_for(clinic_a, regimen="tysabri")
    client.force_login(front_desk)
    url = reverse("scheduling:book_confirm", args=[course.pk])
    starts = local(clinic_a, MONDAY, 9, 15)
    page = client.get(url, {"chair": chairs[1].pk, "starts_at": start_param(starts)})
    assert page.status_code == 200
    assert "Mon 1 Mar 2027, 09:15–11:15" in page.content.decode()
    response = client.post(url, {"chair": chairs[1].pk, "starts_at": start_param(starts)}, follow=True)
    appointment = Appointment.objects.get()
    assert (appointment.chair, appointment.starts_at, appointment.dose_number) == (chairs[1], starts, 1)
    assert appointment.booked_by == front_desk
    html = response.content.decode()
    assert f'data-appointment="{appointment.pk}"' in html
    assert "Booked dose 1 for Ada Lovelace on Mon 1 Mar 2027 at 09:15 in Chair 2." in html
    assert response.redirect_chain[0][0].startswith(reverse("scheduling:week"))


def test_a_slot_taken_meanwhile_is_refused_with_a_sentence_and_fresh_suggestions(client, front_desk, clinic_a, chairs):
    course = course_for(clinic_a, regimen="tysabri")
    starts = local(clinic_a, MONDAY, 9)
    booking_create(
        course=course_for(clinic_a, regimen="tysabri"), chair=chairs[0], starts_at=starts, booked_by=front_desk
    )
    client.force_login(front_desk)
    response = client.post(
        reverse("scheduling:book_confirm", args=[course.pk]), {"chair": chairs[0].pk, "starts_at": start_param(starts)}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Chair 1 is already booked from 09:00 to 11:00 on 1 Mar 2027. Choose another chair or time." in html
    assert "Free slots now" in html and 'data-suggestion="earliest"' in html
    assert Appointment.objects.count() == 1


def test_a_lemtrada_course_is_booked_from_the_confirm_page_in_one_go(client, front_desk, clinic_a, chairs):
    course = course_for(clinic_a, regimen="lemtrada")
    client.force_login(front_desk)
    url = reverse("scheduling:book_confirm", args=[course.pk])
    params = {"chair": chairs[0].pk, "starts_at": start_param(local(clinic_a, MONDAY, 8)), "series": "on"}
    page = client.get(url, params)
    html = page.content.decode()
    assert "All 5 doses of the series" in html
    assert "Book all 5 doses" in html
    client.post(url, params)
    assert list(Appointment.objects.order_by("starts_at").values_list("dose_number", flat=True)) == [1, 2, 3, 4, 5]


def test_a_manager_books_early_with_a_written_reason_on_the_page(client, manager, clinic_a, chairs):
    course = course_for(clinic_a, start=MONDAY + timedelta(days=7))
    client.force_login(manager)
    url = reverse("scheduling:book_confirm", args=[course.pk])
    params = {"chair": chairs[0].pk, "starts_at": start_param(local(clinic_a, MONDAY, 9))}
    page = client.get(url, params).content.decode()
    assert "before the dose's earliest allowed date (8 Mar 2027)" in page
    assert 'name="override_reason"' in page
    refused = client.post(url, params)
    assert refused.status_code == 409
    assert "Too early: dose 1 may not be given before 8 Mar 2027" in refused.content.decode()
    client.post(url, {**params, "override_reason": "Travelling on the 8th"})
    appointment = Appointment.objects.get()
    assert appointment.early_override_reason == "Travelling on the 8th"
    assert appointment.events.filter(action=AppointmentEvent.Action.OVERRIDE, by=manager).exists()


def test_the_front_desk_sees_why_an_early_dose_is_refused(client, front_desk, clinic_a, chairs):
    course = course_for(clinic_a, start=MONDAY + timedelta(days=7))
    client.force_login(front_desk)
    url = reverse("scheduling:book_confirm", args=[course.pk])
    params = {"chair": chairs[0].pk, "starts_at": start_param(local(clinic_a, MONDAY, 9))}
    page = client.get(url, params).content.decode()
    assert "Only a clinic manager can book it this early" in page
    assert 'name="override_reason"' not in page
    response = client.post(url, {**params, "override_reason": "sneaky"})
    assert response.status_code == 409
    assert not Appointment.objects.exists()


def test_rescheduling_from_the_appointment_page(client, front_desk, clinic_a, chairs, course):
    appointment = booking_create(
        course=course, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    client.force_login(front_desk)
    detail = client.get(reverse("scheduling:appointment", args=[appointment.pk])).content.decode()
    assert "Reschedule" in detail and "Booked" in detail
    url = reverse("scheduling:reschedule", args=[appointment.pk])
    suggestions = client.get(url).content.decode()
    assert 'data-suggestion="earliest"' in suggestions
    new_start = local(clinic_a, MONDAY + timedelta(days=1), 10)
    chosen = client.get(url, {"chair": chairs[2].pk, "starts_at": start_param(new_start)}).content.decode()
    assert "Move the appointment" in chosen
    client.post(url, {"chair": chairs[2].pk, "starts_at": start_param(new_start), "reason": "Patient asked"})
    appointment.refresh_from_db()
    assert (appointment.chair, appointment.starts_at) == (chairs[2], new_start)
    history = client.get(reverse("scheduling:appointment", args=[appointment.pk])).content.decode()
    assert "Rescheduled from Chair 1" in history and "Patient asked" in history


def test_cancelling_asks_for_a_reason_and_keeps_what_was_typed(client, front_desk, clinic_a, chairs, course):
    appointment = booking_create(
        course=course, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    client.force_login(front_desk)
    url = reverse("scheduling:cancel", args=[appointment.pk])
    refused = client.post(url, {"reason": ""})
    assert "Write why the appointment is cancelled" in refused.content.decode()
    client.post(url, {"reason": "Patient unwell"})
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.events.get(action="cancelled").reason == "Patient unwell"


def test_a_no_show_is_marked_from_the_appointment_page(client, front_desk, clinic_a, chairs, course):
    appointment = booking_create(
        course=course, chair=chairs[0], starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )
    with time_machine.travel(local(clinic_a, MONDAY, 10), tick=False):
        client.force_login(front_desk)
        page = client.get(reverse("scheduling:appointment", args=[appointment.pk])).content.decode()
        assert "Mark as no-show" in page
        client.post(reverse("scheduling:no_show", args=[appointment.pk]))
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.NO_SHOW


def test_the_week_view_shows_chairs_by_days_with_occupancy_and_free_slots_to_pick(
    client, front_desk, clinic_a, chairs, course
):
    for chair in chairs[:3]:
        book_directly(chair=chair, course=course_for(clinic_a), starts_at=local(clinic_a, MONDAY, 8), minutes=300)
    client.force_login(front_desk)
    response = client.get(reverse("scheduling:week"), {"clinic": clinic_a.pk, "start": "2027-03-03"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "week of 1 Mar 2027" in html
    assert 'data-occupancy="25"' in html  # 3 chairs x 5 h of 6 chairs x 10 h
    assert html.count("data-appointment=") == 3
    assert "Closed" in html  # the weekend
    picking = client.get(
        reverse("scheduling:week"), {"clinic": clinic_a.pk, "start": "2027-03-01", "course": course.pk}
    )
    assert "data-free-slot" in picking.content.decode()


def test_the_week_view_of_another_clinic_is_not_found(client, front_desk, clinic_b):
    client.force_login(front_desk)
    assert client.get(reverse("scheduling:week"), {"clinic": clinic_b.pk}).status_code == 404


def test_the_json_search_returns_ranked_slots_and_the_reasons_of_empty_days(client, front_desk, course):
    client.force_login(front_desk)
    response = client.get(
        reverse("scheduling:availability_json"), {"course": course.pk, "from": "2027-03-01", "to": "2027-03-07"}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["dose"]["dose_number"] == 1
    assert data["earliest"]["starts_at"] == "2027-03-01T08:00:00Z"
    assert data["slots"][0] == data["earliest"]
    starts = [slot["starts_at"] for slot in data["slots"]]
    assert starts == sorted(starts)
    assert data["balanced"] is not None
    saturday = next(day for day in data["days"] if day["date"] == "2027-03-06")
    assert (saturday["slots"], saturday["reason"]) == (0, "Closed on Saturdays.")


def test_the_json_search_refuses_bad_parameters(client, front_desk, course):
    client.force_login(front_desk)
    url = reverse("scheduling:availability_json")
    assert client.get(url).status_code == 400
    assert client.get(url, {"course": course.pk, "from": "2027-03-09", "to": "2027-03-01"}).status_code == 400


def test_an_appointment_with_no_recorded_booker_shows_a_dash_instead_of_failing(client, front_desk, clinic_a, course):
    chair = Chair.objects.filter(clinic=clinic_a).first()
    appointment = book_directly(chair=chair, course=course, starts_at=local(clinic_a, MONDAY, 9))
    assert appointment.booked_by is None
    client.force_login(front_desk)
    response = client.get(reverse("scheduling:appointment", args=[appointment.pk]))
    assert response.status_code == 200
    assert 'Booked by</dt><dd class="col-sm-9">—' in response.content.decode()
