"""Each role's home page, the login and logout pages, and the menu each role sees."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from clinic.roles import FORMULARY, MANAGER
from scheduling.models import Reminder
from tests.accounts.support import log_in_with_two_steps
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import DEMO_PASSWORD, make_staff

pytestmark = pytest.mark.django_db


def test_the_front_desk_lands_on_the_worklist(client, front_desk):
    client.force_login(front_desk)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:worklist")


def test_the_nurse_lands_on_the_roster(client, nurse):
    client.force_login(nurse)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:roster")


def test_logging_in_takes_each_role_to_its_home_page(client, front_desk, nurse):
    response = client.post(reverse("login"), {"username": "nina", "password": DEMO_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("scheduling:roster")
    assert response.status_code == 200


def _appointment(clinic, patient, course, starts_at, status="booked"):
    return patient.appointments.create(
        clinic=clinic,
        chair=clinic.chairs.first(),
        course=course,
        dose_number=1,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        infusion_minutes=60,
        status=status,
    )


def test_the_manager_sees_todays_figures_for_each_of_their_clinics(client, clinic_a, clinic_b):
    manager = make_staff("max", MANAGER, clinic_a, clinic_b, is_staff=True)
    today = timezone.localdate(timezone=clinic_a.tz)
    noon = datetime.combine(today, time(12, 0), tzinfo=clinic_a.tz)
    first, second = PatientFactory(clinic=clinic_a), PatientFactory(clinic=clinic_a)
    course_1, course_2 = TreatmentCourseFactory(patient=first), TreatmentCourseFactory(patient=second)
    _appointment(clinic_a, first, course_1, noon)
    _appointment(clinic_a, second, course_2, noon - timedelta(hours=3))
    _appointment(clinic_a, second, course_2, noon + timedelta(hours=2), status="cancelled")
    _appointment(clinic_a, first, course_1, noon + timedelta(days=1))
    PatientFactory(clinic=clinic_b)
    client.force_login(manager)

    response = client.get(reverse("home"))
    assert response.status_code == 200
    rows = {row["clinic"]: row for row in response.context["overview"]}
    assert set(rows) == {clinic_a, clinic_b}
    a, b = rows[clinic_a], rows[clinic_b]
    assert (a["appointments"], a["patients_today"], a["chairs"], a["patients"]) == (2, 2, 6, 2)
    assert (b["appointments"], b["patients_today"], b["chairs"], b["patients"]) == (0, 0, 4, 1)
    html = response.content.decode()
    for url in (reverse("scheduling:worklist"), reverse("scheduling:roster"), reverse("patients:list")):
        assert url in html
    assert reverse("admin:clinic_clinic_change", args=[clinic_a.pk]) in html


def test_the_manager_never_sees_another_clinics_figures(client, manager, clinic_b):
    client.force_login(manager)
    response = client.get(reverse("home"))
    assert [row["clinic"] for row in response.context["overview"]] == [manager.staff_profile.clinics.get()]
    assert clinic_b.name not in response.content.decode()


def test_the_manager_sees_the_failed_reminders_of_the_last_day_with_a_link_to_the_list(client, clinic_a, clinic_b):
    manager = make_staff("max", MANAGER, clinic_a, clinic_b, is_staff=True)
    patient = PatientFactory(clinic=clinic_a)
    course = TreatmentCourseFactory(patient=patient)
    visit = _appointment(clinic_a, patient, course, timezone.now() + timedelta(days=3))
    for number, status in enumerate(["failed", "failed", "failed", "pending", "sent"]):
        Reminder.objects.create(
            clinic=clinic_a,
            patient=patient,
            appointment=visit,
            kind=Reminder.Kind.APPOINTMENT_UPCOMING,
            key=f"home-figure-{number}",
            due_at=timezone.now(),
            status=status,
        )
    # A failure from two days ago is no longer news on the home page.
    Reminder.objects.filter(key="home-figure-0").update(updated_at=timezone.now() - timedelta(days=2))
    client.force_login(manager)

    response = client.get(reverse("home"))
    rows = {row["clinic"]: row for row in response.context["overview"]}
    assert (rows[clinic_a]["failed_reminders"], rows[clinic_b]["failed_reminders"]) == (2, 0)
    html = response.content.decode()
    assert "Failed reminders, last 24 h" in html
    assert f'href="{reverse("scheduling:reminders_failed")}">2<' in html


def test_the_manager_sees_each_clinics_data_problems_with_a_link_to_the_list(client, clinic_a, clinic_b):
    manager = make_staff("max", MANAGER, clinic_a, clinic_b, is_staff=True)
    TreatmentCourseFactory(patient=PatientFactory(clinic=clinic_a), start_date=date(9999, 12, 31))
    PatientFactory(clinic=clinic_a, date_of_birth=date(1, 1, 1))
    TreatmentCourseFactory(patient=PatientFactory(clinic=clinic_b))
    client.force_login(manager)

    response = client.get(reverse("home"))
    rows = {row["clinic"]: row for row in response.context["overview"]}
    assert (rows[clinic_a]["data_problems"], rows[clinic_b]["data_problems"]) == (2, 0)
    html = response.content.decode()
    assert "Data problems" in html
    assert f'href="{reverse("data_problems")}#clinic-{clinic_a.pk}-problems">2<' in html


def test_a_user_with_no_role_is_told_to_ask_their_manager(client, clinic_a):
    nobody = make_staff("newstarter", None, clinic_a)
    client.force_login(nobody)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Ask your clinic manager to give you" in response.content.decode()
    assert client.get(reverse("patients:list")).status_code == 403


def test_the_menu_shows_each_role_only_its_own_pages(client, front_desk, nurse, manager):
    client.force_login(front_desk)
    desk = client.get(reverse("patients:list")).content.decode()
    assert ">Worklist<" in desk and ">Roster<" in desk and ">Patients<" in desk and ">Failed reminders<" in desk
    assert ">Clinic settings<" not in desk

    client.force_login(nurse)
    ward = client.get(reverse("patients:list")).content.decode()
    assert ">Roster<" in ward and ">Patients<" in ward
    assert ">Worklist<" not in ward and ">Failed reminders<" not in ward and ">Clinic settings<" not in ward

    client.force_login(manager)
    office = client.get(reverse("patients:list")).content.decode()
    assert ">Clinic settings<" in office and ">Worklist<" in office


def test_the_login_page_has_labelled_fields_and_landmarks(client):
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in html
    assert re.search(r'<label[^>]*for="id_username"', html) and re.search(r'<label[^>]*for="id_password"', html)
    assert "<main" in html and "<header>" in html and 'href="#main"' in html
    assert "Log in to Chairside" in html


def test_a_wrong_password_says_so_and_keeps_the_username(client, front_desk):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "correct username and password" in html
    assert 'value="alice"' in html


def test_logging_out_ends_the_session_and_returns_to_the_login_page(client, front_desk):
    client.force_login(front_desk)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("patients:list")).status_code == 302


def test_the_managers_home_shows_todays_and_tomorrows_booked_load_against_capacity(client, clinic_a):
    manager = make_staff("max", MANAGER, clinic_a, is_staff=True)
    with time_machine.travel(datetime(2027, 3, 1, 7, tzinfo=clinic_a.tz), tick=False):  # a Monday
        patient = PatientFactory(clinic=clinic_a)
        course = TreatmentCourseFactory(patient=patient, start_date=date(2027, 3, 1))
        _appointment(clinic_a, patient, course, datetime(2027, 3, 1, 9, tzinfo=clinic_a.tz))
        client.force_login(manager)
        response = client.get(reverse("home"))
    [row] = response.context["overview"]
    (today_label, today), (tomorrow_label, tomorrow) = row["loads"]
    # 6 chairs open 10 hours: 3,600 chair minutes; 2 nurses of 4 patients.
    assert (today_label, today.booked_minutes, today.capacity.chair_minutes, today.peak_patients) == (
        "Today",
        60,
        3600,
        1,
    )
    assert (tomorrow_label, tomorrow.booked_minutes, tomorrow.capacity.nurse_capacity) == ("Tomorrow", 0, 8)
    html = response.content.decode()
    assert 'data-load-day="2027-03-01"' in html and f"?clinic={clinic_a.pk}&amp;day=2027-03-02" in html
    assert reverse("scheduling:capacity_forecast") + f"?clinic={clinic_a.pk}" in html


def test_the_managers_home_counts_overdue_doses_and_expiring_authorizations_with_links(client, clinic_a, clinic_b):
    manager = make_staff("max", MANAGER, clinic_a, clinic_b, is_staff=True)
    today = timezone.localdate(timezone=clinic_a.tz)
    # Dose 1 due 60 days ago and not booked: overdue. Its authorization expires in 10 days.
    TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a),
        start_date=today - timedelta(days=60),
        authorization_expires_on=today + timedelta(days=10),
    )
    TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a), start_date=today, authorization_expires_on=today + timedelta(days=90)
    )
    client.force_login(manager)
    response = client.get(reverse("home"))
    rows = {row["clinic"]: row for row in response.context["overview"]}
    assert (rows[clinic_a]["overdue_doses"], rows[clinic_a]["authorizations_expiring"]) == (1, 1)
    assert (rows[clinic_b]["overdue_doses"], rows[clinic_b]["authorizations_expiring"]) == (0, 0)
    html = response.content.decode()
    assert f'href="{reverse("scheduling:worklist")}?clinic={clinic_a.pk}&amp;status=overdue">1<' in html
    assert f'href="{reverse("scheduling:authorizations_expiring")}#clinic-{clinic_a.pk}-authorizations">1<' in html


def test_a_formulary_manager_lands_in_clinic_settings(client, db):
    log_in_with_two_steps(client, make_staff("fran", FORMULARY, is_staff=True))

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
