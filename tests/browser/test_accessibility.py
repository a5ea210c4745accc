"""axe-core (from the npm registry, see package.json) finds no serious or critical problem on the
pages staff use all day: the nurses' roster, the front desk's worklist and the booking page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse

from scheduling.models import Appointment
from tests.browser.conftest import log_in
from tests.conftest import IN_CI
from tests.helpers import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
