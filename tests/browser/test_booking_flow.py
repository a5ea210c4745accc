"""The front desk books from the worklist in real Chromium: a due dose, then a whole Lemtrada course."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import NurseStaffing, OpeningHours, Regimen
from clinic.roles import FRONT_DESK, sync_roles
from scheduling.models import Appointment
from tests.browser.conftest import log_in
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import DEMO_PASSWORD, ensure_formulary, make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def front_desk_morning():
    """A clinic open every day, Alice at its front desk, a Tysabri patient due tomorrow and a Lemtrada patient."""
    sync_roles()  # the roles' scheduling permissions, after every app has migrated
    ensure_formulary()
    clinic = make_clinic("Northside Infusion Centre", chairs=4, nurses=2)
    for weekday in (5, 6):  # open at weekends too, so the test reads the same any day
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8), closes=time(18))
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=2)
    make_staff("alice", FRONT_DESK, clinic, first_name="Alice", last_name="Front")
    today = timezone.now().astimezone(clinic.tz).date()
    tysabri = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic, first_name="Tess", last_name="Due"),
        regimen=Regimen.objects.get(code="tysabri"),
        start_date=today - timedelta(days=27),
        authorization_expires_on=today + timedelta(days=90),
    )
    # Dose 1 given 27 days ago: dose 2 is due tomorrow, four weeks after it.
    given = datetime.combine(today - timedelta(days=27), time(9), tzinfo=clinic.tz)
    Appointment.objects.create(
        clinic=clinic,
        chair=clinic.chairs.first(),
        patient=tysabri.patient,
        course=tysabri,
        dose_number=1,
        starts_at=given,
        ends_at=given + timedelta(hours=2),
        infusion_minutes=60,
        observation_minutes=60,
        status=Appointment.Status.COMPLETED,
    )
    lemtrada = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic, first_name="Lem", last_name="Course"),
        regimen=Regimen.objects.get(code="lemtrada"),
        start_date=today + timedelta(days=1),
    )
    return clinic, tysabri, lemtrada, today + timedelta(days=1)


def test_the_front_desk_books_the_first_suggestion_from_the_worklist_then_a_lemtrada_course(
    page, live_server, screenshot, front_desk_morning
):
    clinic, tysabri, lemtrada, tomorrow = front_desk_morning
    log_in(page, live_server, "alice", DEMO_PASSWORD)

    page.goto(live_server.url + reverse("scheduling:worklist"))
    book_link = page.locator(f'a[href="{reverse("scheduling:book", args=[tysabri.pk])}"]').first
    book_link.wait_for()
    screenshot("booking-1-worklist")
    book_link.click()

    earliest = page.locator('[data-suggestion="earliest"]')
    earliest.wait_for()
    assert f"{tomorrow:%a} {tomorrow.day} {tomorrow:%b %Y}, 08:00" in earliest.inner_text()
    assert page.locator('[data-suggestion="balanced"]').count() == 1
    screenshot("booking-2-suggestions")
    earliest.get_by_role("link", name="Book this slot").click()

    page.get_by_role("heading", name="Confirm the booking").wait_for()
    screenshot("booking-3-confirm")
    page.get_by_role("button", name="Book", exact=True).click()

    page.wait_for_url(re.compile(r".*/scheduling/week/.*"))
    appointment = Appointment.objects.get(course=tysabri, status=Appointment.Status.BOOKED)
    assert appointment.dose_number == 2
    assert appointment.starts_at == datetime.combine(tomorrow, time(8), tzinfo=clinic.tz)
    booked = page.locator(f'[data-appointment="{appointment.pk}"]')
    booked.wait_for()
    assert "08:00–10:00 Tess Due" in booked.inner_text()  # the week names the patient in full
    assert "Booked dose 2 for Tess Due" in page.locator(".alert-success").first.inner_text()
    screenshot("booking-4-week")

    # Then a whole Lemtrada course (5 consecutive days) in one go.
    page.goto(live_server.url + reverse("scheduling:book", args=[lemtrada.pk]))
    page.get_by_role("link", name="Book all 5 doses from here").first.click()
    series = page.locator("[data-series] tbody tr")
    series.first.wait_for()
    assert series.count() == 5
    screenshot("booking-5-lemtrada-confirm")
    page.get_by_role("button", name="Book all 5 doses").click()
    page.wait_for_url(re.compile(r".*/scheduling/week/.*"))
    days = list(
        Appointment.objects.filter(course=lemtrada).order_by("starts_at").values_list("dose_number", "starts_at")
    )
    assert [number for number, _ in days] == [1, 2, 3, 4, 5]
    assert [starts.astimezone(clinic.tz).date() for _, starts in days] == [
        tomorrow + timedelta(days=offset) for offset in range(5)
    ]
    assert "Booked 5 doses for Lem Course" in page.locator(".alert-success").first.inner_text()
    screenshot("booking-6-lemtrada-week")
