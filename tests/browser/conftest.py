"""Real Chromium driven by Playwright against Django's live server.

Playwright's own browser download cannot work on a closed network, so the tests launch
the system Chromium. Screenshots go to tests/artifacts/ (kept by CI as test artifacts).
"""

from __future__ import annotations

import os
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from clinic.models import OpeningHours, Regimen
from clinic.roles import FRONT_DESK, MANAGER, NURSE
from scheduling.models import Appointment, NurseAssignment
from tests.conftest import chromium_path
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import make_clinic, make_staff

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if not path:
        pytest.skip("Chromium is not installed")  # the autouse gate turns this into a failure in CI
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save a named screenshot of the page under tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, target=None) -> Path:
        path = ARTIFACTS / f"{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/**")


@pytest.fixture
def busy_clinic():
    """A clinic open every day with a roster worth checking: every status, flags, nurses, a late visit."""
    clinic = make_clinic("Northside Infusion Centre")
    for weekday in (5, 6):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8, 0), closes=time(18, 0))
    today = timezone.now().astimezone(clinic.tz).date()
    ten = datetime.combine(today, time(10, 0), tzinfo=clinic.tz)
    with time_machine.travel(ten, tick=True):
        nurse = make_staff("nina", NURSE, clinic, first_name="Nina", last_name="Nurse")
        make_staff("alice", FRONT_DESK, clinic, first_name="Alice")
        manager = make_staff("max", MANAGER, clinic, first_name="Max")
        chairs = list(clinic.chairs.all())
        plan = [
            ("ocrevus", -120, Appointment.Status.INFUSING, 1),
            ("tysabri", -45, Appointment.Status.BOOKED, 2),
            ("lemtrada", -90, Appointment.Status.OBSERVATION, 3),
            ("briumvi", 120, Appointment.Status.BOOKED, 3),
            ("ocrevus", -5, Appointment.Status.ARRIVED, 2),
            ("tysabri", -240, Appointment.Status.COMPLETED, 4),
        ]
        for chair, (code, minutes, status, dose) in zip(chairs, plan, strict=True):
            course = TreatmentCourseFactory(
                patient=PatientFactory(clinic=clinic),
                regimen=Regimen.objects.get(code=code),
                start_date=today - timedelta(days=200),
                authorization_expires_on=today + timedelta(days=20),
            )
            starts_at = ten + timedelta(minutes=minutes)
            Appointment.objects.create(
                clinic=clinic,
                chair=chair,
                patient=course.patient,
                course=course,
                dose_number=dose,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=210),
                premed_minutes=30,
                infusion_minutes=120,
                observation_minutes=60,
                status=status,
                infusion_reaction=status == Appointment.Status.COMPLETED,
            )
            NurseAssignment.objects.create(clinic=clinic, day=today, chair=chair, nurse=nurse, assigned_by=manager)
        # A patient due for a dose and not yet booked, for the worklist and the booking page.
        due = TreatmentCourseFactory(
            patient=PatientFactory(clinic=clinic),
            regimen=Regimen.objects.get(code="ocrevus"),
            start_date=today - timedelta(days=175),
        )
        given = datetime.combine(due.start_date, time(9, 0), tzinfo=clinic.tz)
        Appointment.objects.create(
            clinic=clinic,
            chair=chairs[0],
            patient=due.patient,
            course=due,
            dose_number=1,
            starts_at=given,
            ends_at=given + timedelta(minutes=240),
            premed_minutes=30,
            infusion_minutes=150,
            observation_minutes=60,
            status=Appointment.Status.COMPLETED,
        )
        yield clinic, due
