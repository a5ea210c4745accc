"""The pages work in real Chromium under the Content-Security-Policy, with no violation at all.

The browser enforces the policy the server sends. Every violation is caught twice: the
`securitypolicyviolation` event (listened to before any page script runs) and the console
message Chromium writes for it. The front desk books a dose from the worklist, a nurse moves
a visit along on the roster (htmx swaps, the roster's own script, the bars the server
positioned), and a manager opens the admin.
"""

from __future__ import annotations

import importlib
import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from clinic.models import NurseStaffing, OpeningHours, Regimen
from clinic.roles import FRONT_DESK, MANAGER, NURSE, sync_roles
from scheduling.models import Appointment
from tests.browser.conftest import log_in
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import DEMO_PASSWORD, make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Status = Appointment.Status

RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline") + " " + event.sourceFile + ":" + event.lineNumber);
});
"""


@pytest.fixture(autouse=True)
def _seeded(transactional_db):
    """The roles and regimens a fresh database has after `migrate` (a flush takes them away)."""
    if not Regimen.objects.exists():
        importlib.import_module("clinic.migrations.0003_seed_regimens").seed(apps, None)
    sync_roles()


@pytest.fixture
def watched(page):
    """The page, and the list of every policy violation it sees (console and event alike)."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)

    def violations() -> list[str]:
        found = [text for text in messages if "Content Security Policy" in text or "Content-Security-Policy" in text]
        return found + page.evaluate("window.__violations || []")

    return page, violations


@pytest.fixture
def clinic_open_today():
    """A clinic open every day 08:00-18:00 with two nurses, its clock at 10:00 today (running)."""
    clinic = make_clinic("Northside Infusion Centre", chairs=4, nurses=2)
    for weekday in (5, 6):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8), closes=time(18))
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=2)
    today = timezone.now().astimezone(clinic.tz).date()
    ten = datetime.combine(today, time(10), tzinfo=clinic.tz)
    with time_machine.travel(ten, tick=True):
        yield clinic, ten


def test_the_front_desk_books_a_dose_without_a_policy_violation(live_server, watched, clinic_open_today):
    page, violations = watched
    clinic, ten = clinic_open_today
    make_staff("alice", FRONT_DESK, clinic, first_name="Alice")
    tomorrow = ten.date() + timedelta(days=1)
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic, first_name="Tess", last_name="Due"),
        regimen=Regimen.objects.get(code="tysabri"),
        start_date=tomorrow,
        authorization_expires_on=tomorrow + timedelta(days=90),
    )
    log_in(page, live_server, "alice", DEMO_PASSWORD)

    page.goto(live_server.url + reverse("scheduling:worklist"))
    page.locator(f'a[href="{reverse("scheduling:book", args=[course.pk])}"]').first.click()
    page.locator('[data-suggestion="earliest"]').get_by_role("link", name="Book this slot").click()
    page.get_by_role("heading", name="Confirm the booking").wait_for()
    page.get_by_role("button", name="Book", exact=True).click()
    page.wait_for_url(re.compile(r".*/scheduling/week/.*"))

    appointment = Appointment.objects.get(course=course, status=Status.BOOKED)
    page.locator(f'[data-appointment="{appointment.pk}"]').wait_for()
    # The occupancy bars get their width from chairside.js, as the policy allows no style attribute.
    assert page.locator(".occupancy-bar .progress-bar").first.evaluate("bar => bar.style.width").endswith("%")
    assert violations() == []


def test_a_nurse_moves_a_visit_on_the_roster_without_a_policy_violation(live_server, watched, clinic_open_today):
    page, violations = watched
    clinic, ten = clinic_open_today
    make_staff("nina", NURSE, clinic, first_name="Nina")
    patient = PatientFactory(clinic=clinic)
    course = TreatmentCourseFactory(patient=patient, regimen=Regimen.objects.get(code="ocrevus"))
    visit = Appointment.objects.create(
        clinic=clinic,
        chair=clinic.chairs.first(),
        patient=patient,
        course=course,
        dose_number=2,
        starts_at=ten - timedelta(minutes=5),
        ends_at=ten + timedelta(hours=4),
        premed_minutes=30,
        infusion_minutes=150,
        observation_minutes=60,
        status=Status.ARRIVED,
    )
    log_in(page, live_server, "nina", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")

    bar = page.locator(".roster-bar").first
    assert bar.evaluate("bar => bar.style.left").endswith("%") and bar.evaluate("bar => bar.style.width").endswith("%")
    page.locator(f"#visit-{visit.pk}").get_by_role("button", name="In chair").click()
    page.locator(f"#visit-{visit.pk} .roster-status").filter(has_text="In chair").wait_for()
    # The swapped-in roster is positioned too.
    # chairside.js positions it once htmx has settled the swap: wait for that (fails on timeout).
    page.wait_for_function("() => document.querySelector('.roster-bar').style.left.endsWith('%')", timeout=5000)

    visit.refresh_from_db()
    assert visit.status == Status.IN_CHAIR
    assert violations() == []


def test_a_manager_opens_the_admin_without_a_policy_violation(live_server, watched, clinic_open_today):
    page, violations = watched
    clinic, _ten = clinic_open_today
    make_staff("max", MANAGER, clinic, first_name="Max", is_staff=True)
    log_in(page, live_server, "max", DEMO_PASSWORD)

    page.goto(live_server.url + reverse("admin:index"))
    page.goto(live_server.url + reverse("admin:clinic_clinic_change", args=[clinic.pk]))
    page.locator("#clinic_form").wait_for()
    assert violations() == []
