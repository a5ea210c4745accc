"""axe-core (from the npm registry, see package.json) finds no serious or critical problem on the
pages staff use all day: the nurses' roster, the front desk's worklist and the booking page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
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


def test_the_login_page_has_no_serious_accessibility_problem(page, live_server):
    page.goto(f"{live_server.url}{reverse('login')}")

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


# Every other page a person opens in a day, by who opens it; `busy_clinic` gives the ids.
OTHER_PAGES = [
    ("home-front-desk", "alice", lambda clinic, due: reverse("home")),
    ("home-nurse", "nina", lambda clinic, due: reverse("home")),
    ("home-manager", "max", lambda clinic, due: reverse("home")),
    ("patients", "alice", lambda clinic, due: reverse("patients:list")),
    ("patient", "alice", lambda clinic, due: reverse("patients:detail", args=[due.patient.pk])),
    ("patient-for-manager", "max", lambda clinic, due: reverse("patients:detail", args=[due.patient.pk])),
    ("course-form", "alice", lambda clinic, due: reverse("patients:course_create", args=[due.patient.pk])),
    ("roster-print", "nina", lambda clinic, due: f"{reverse('scheduling:roster_print')}?clinic={clinic.pk}"),
    ("week", "alice", lambda clinic, due: f"{reverse('scheduling:week')}?clinic={clinic.pk}"),
    ("week-picking", "alice", lambda clinic, due: f"{reverse('scheduling:week')}?clinic={clinic.pk}&course={due.pk}"),
    ("failed-reminders", "alice", lambda clinic, due: reverse("scheduling:reminders_failed")),
    ("offers", "alice", lambda clinic, due: reverse("scheduling:offers")),
    ("staff", "max", lambda clinic, due: reverse("accounts:staff")),
    ("password", "nina", lambda clinic, due: reverse("accounts:password_change")),
    ("two-step", "nina", lambda clinic, due: reverse("accounts:mfa")),
    ("calendar-feeds-nurse", "nina", lambda clinic, due: reverse("scheduling:feeds")),
    ("calendar-feeds-manager", "max", lambda clinic, due: reverse("scheduling:feeds")),
    ("import", "max", lambda clinic, due: reverse("scheduling:import_patients")),
    ("export", "max", lambda clinic, due: reverse("scheduling:exports")),
    ("not-allowed", "nina", lambda clinic, due: reverse("accounts:staff")),
    ("not-found", "alice", lambda clinic, due: "/no-such-page/"),
]


@pytest.mark.parametrize(("name", "user", "address"), OTHER_PAGES, ids=[name for name, _user, _address in OTHER_PAGES])
def test_every_other_page_has_no_serious_accessibility_problem(page, live_server, busy_clinic, name, user, address):
    clinic, due = busy_clinic
    log_in(page, live_server, user, DEMO_PASSWORD)
    page.goto(f"{live_server.url}{address(clinic, due)}")
    page.wait_for_load_state("networkidle")

    violations = serious_violations(page)
    assert not violations, f"{name}:\n" + "\n".join(violations)


def test_the_offers_page_and_a_patient_s_offer_have_no_serious_accessibility_problem(page, live_server, busy_clinic):
    from scheduling.offers.services import offers_advance
    from tests.scheduling.offers.support import due_course, freed_opening, offer_links, opening_day

    clinic, _due = busy_clinic
    front_desk = get_user_model().objects.get(username="alice")
    day = opening_day(clinic)
    due_course(clinic, day, days_into_window=3, first_name="Avery")
    due_course(clinic, day, days_into_window=1, first_name="Blake")
    opening = freed_opening(clinic, day, front_desk)
    assert offers_advance() == 2
    links = offer_links(opening.offers.order_by("pk").first())

    page.goto(f"{live_server.url}/a/{links['take_offer']}/")
    assert not serious_violations(page)
    log_in(page, live_server, "alice", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:offers')}")
    page.get_by_text("Avery").first.wait_for()
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)
