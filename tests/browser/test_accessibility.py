"""axe-core (from the npm registry, see package.json) finds no serious or critical problem on the
pages staff use all day: the nurses' roster, the front desk's worklist and the booking page."""

from __future__ import annotations

import importlib
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from clinic.models import OpeningHours, Regimen
from clinic.roles import FRONT_DESK, MANAGER, NURSE
from scheduling.models import Appointment, NurseAssignment
from tests.browser.conftest import log_in
from tests.conftest import IN_CI
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import DEMO_PASSWORD, make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _seeded(transactional_db):
    """The regimens a fresh database has after `migrate`.

    Each browser test runs in committed transactions that are flushed afterwards, and the
    flush takes the seeded regimens with it; a serialized rollback does not help once the
    Playwright greenlet holds its own database connection. So seed them as the migration does.
    """
    if not Regimen.objects.exists():
        importlib.import_module("clinic.migrations.0003_seed_regimens").seed(apps, None)


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
Status = Appointment.Status


@pytest.fixture(autouse=True)
def _axe_installed():
    if not AXE.exists():
        message = "axe-core is not installed: run `npm ci` at the repository root."
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


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
            ("ocrevus", -120, Status.INFUSING, 1),
            ("tysabri", -45, Status.BOOKED, 2),
            ("lemtrada", -90, Status.OBSERVATION, 3),
            ("briumvi", 120, Status.BOOKED, 3),
            ("ocrevus", -5, Status.ARRIVED, 2),
            ("tysabri", -240, Status.COMPLETED, 4),
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
                infusion_reaction=status == Status.COMPLETED,
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
            status=Status.COMPLETED,
        )
        yield clinic, due


def serious_violations(page) -> list[str]:
    # Evaluated by the test harness, not added as an inline <script>, which the page's
    # Content-Security-Policy refuses as it would an injected one.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in BLOCKING
    ]


def test_the_roster_has_no_serious_accessibility_problem(page, live_server, busy_clinic):
    clinic, _due = busy_clinic
    log_in(page, live_server, "max", DEMO_PASSWORD)  # the manager sees every part: buttons, load, assignment
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")
    page.locator(".roster-reaction summary").first.click()  # an open reaction form is checked too
    page.locator(".roster-reaction-form").first.wait_for()
    page.locator(".roster-assign").evaluate("details => details.open = true")

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


def test_the_roster_for_a_nurse_has_no_serious_accessibility_problem(page, live_server, busy_clinic):
    clinic, _due = busy_clinic
    log_in(page, live_server, "nina", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


def test_the_worklist_has_no_serious_accessibility_problem(page, live_server, busy_clinic):
    log_in(page, live_server, "alice", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:worklist')}")

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


def test_the_booking_page_has_no_serious_accessibility_problem(page, live_server, busy_clinic):
    _clinic, due = busy_clinic
    log_in(page, live_server, "alice", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:book', args=[due.pk])}")
    page.wait_for_load_state("networkidle")

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)
