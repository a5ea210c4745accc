"""A nurse runs a visit from the roster in real Chromium, and the roster prints on one landscape page."""

from __future__ import annotations

import importlib
import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from clinic.models import OpeningHours, Regimen
from clinic.roles import MANAGER, NURSE
from scheduling.models import Appointment, AppointmentEvent
from tests.browser.conftest import ARTIFACTS, log_in
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


Status = Appointment.Status


def _visit(
    clinic,
    chair,
    regimen_code,
    starts_at,
    *,
    status=Status.BOOKED,
    dose=2,
    premed=30,
    infusion=150,
    observation=60,
    **course,
):
    patient = PatientFactory(clinic=clinic)
    course = TreatmentCourseFactory(patient=patient, regimen=Regimen.objects.get(code=regimen_code), **course)
    return Appointment.objects.create(
        clinic=clinic,
        chair=chair,
        patient=patient,
        course=course,
        dose_number=dose,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=premed + infusion + observation),
        premed_minutes=premed,
        infusion_minutes=infusion,
        observation_minutes=observation,
        status=status,
    )


@pytest.fixture
def ten_oclock_today():
    """The clinic's today at 10:00, with the clock running, in this process and the live server's thread."""
    clinic = make_clinic("Northside Infusion Centre")
    for weekday in (5, 6):  # open every day, so the test reads the same on a weekend
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8, 0), closes=time(18, 0))
    today = timezone.now().astimezone(clinic.tz).date()
    ten = datetime.combine(today, time(10, 0), tzinfo=clinic.tz)
    with time_machine.travel(ten, tick=True):
        yield clinic, ten


@pytest.fixture
def a_day_of_visits(ten_oclock_today):
    clinic, ten = ten_oclock_today
    chairs = list(clinic.chairs.all())
    make_staff("nina", NURSE, clinic, first_name="Nina", last_name="Nurse")
    ours = _visit(clinic, chairs[0], "ocrevus", ten - timedelta(minutes=5), status=Status.ARRIVED)
    _visit(
        clinic,
        chairs[1],
        "tysabri",
        ten - timedelta(minutes=45),
        premed=0,
        infusion=60,
        observation=60,
        authorization_expires_on=ten.date() + timedelta(days=40),
    )
    _visit(clinic, chairs[2], "ocrevus", ten - timedelta(hours=2), status=Status.INFUSING, dose=1)
    _visit(clinic, chairs[3], "briumvi", ten + timedelta(hours=2), dose=3, premed=30, infusion=60, observation=0)
    _visit(
        clinic,
        chairs[4],
        "tysabri",
        ten - timedelta(hours=1, minutes=55),
        status=Status.OBSERVATION,
        premed=0,
        infusion=60,
        observation=60,
        authorization_expires_on=ten.date() - timedelta(days=1),
    )
    return clinic, ours


def _pages_in(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_a_nurse_takes_a_patient_from_arrived_to_completed_and_prints_the_day(
    page, live_server, screenshot, a_day_of_visits
):
    clinic, ours = a_day_of_visits
    log_in(page, live_server, "nina", DEMO_PASSWORD)

    # The nurse's home page is today's roster.
    page.wait_for_url(re.compile(r".*/scheduling/roster/.*"))
    row = page.locator(f"#visit-{ours.pk}")
    assert ours.patient.full_name in row.inner_text()
    assert "Arrived" in row.locator(".roster-status").inner_text()
    assert page.locator(".roster-bar").count() == 5
    assert page.locator(".roster-list tr.is-late").count() == 1  # the Tysabri patient due at 09:15
    screenshot("roster")

    row.get_by_role("button", name="In chair").click()
    page.locator(f"#visit-{ours.pk} .roster-status").filter(has_text="In chair").wait_for()

    # Dose 2 of Ocrevus: the infusion waits for its check before the needle, and says which.
    page.locator(f"#visit-{ours.pk}-next").click()
    refusal = page.locator("#roster-body .alert-danger")
    refusal.wait_for()
    assert refusal.inner_text() == "Tick the infection check before starting the infusion."
    assert "In chair" in page.locator(f"#visit-{ours.pk} .roster-status").inner_text()
    # The item is a button the keyboard reaches and presses; the roster comes back with it ticked.
    page.locator(f"#visit-{ours.pk} .roster-checklist button[aria-pressed='false']").focus()
    page.keyboard.press("Enter")
    page.locator(f"#visit-{ours.pk} .roster-checklist button[aria-pressed='true']").wait_for()
    assert "Nina Nurse" in page.locator(f"#visit-{ours.pk} .roster-checklist").inner_text()
    screenshot("roster-checks-ticked")

    row = page.locator(f"#visit-{ours.pk}")
    for button, status in [
        ("Start infusion", "Infusing"),
        ("End infusion, observe", "Observation"),
        ("Completed", "Completed"),
    ]:
        row.get_by_role("button", name=button).click()
        page.locator(f"#visit-{ours.pk} .roster-status").filter(has_text=status).wait_for()
        row = page.locator(f"#visit-{ours.pk}")

    assert "is now completed" in page.locator("#roster-body .alert-success").inner_text()
    ours.refresh_from_db()
    assert ours.status == Status.COMPLETED
    assert None not in (ours.in_chair_at, ours.infusion_started_at, ours.infusion_ended_at, ours.completed_at)
    assert list(ours.events.filter(action=AppointmentEvent.Action.STATUS).values_list("to_status", flat=True)) == [
        Status.IN_CHAIR,
        Status.INFUSING,
        Status.OBSERVATION,
        Status.COMPLETED,
    ]
    assert ours.checks.standing().get().regimen_check.label == "infection check"
    screenshot("roster-after-completing")

    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.locator(".roster-actions").first.is_visible()
    assert page.locator(".roster-timeline").is_visible()
    screenshot("roster-print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (ARTIFACTS / "roster-print.pdf").write_bytes(pdf)
    assert _pages_in(pdf) == 1


def test_the_roster_refreshes_itself_and_keeps_the_nurses_focus(page, live_server, a_day_of_visits):
    clinic, ours = a_day_of_visits
    log_in(page, live_server, "nina", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")
    page.locator(f"#visit-{ours.pk}-next").focus()
    Appointment.objects.filter(pk=ours.pk).update(status=Status.IN_CHAIR)

    # What the minute's refresh does, without waiting a minute.
    page.evaluate(
        "htmx.ajax('GET', document.querySelector('#roster-body').getAttribute('hx-get'),"
        " {target: '#roster-body', swap: 'outerHTML'})"
    )
    page.locator(f"#visit-{ours.pk} .roster-status").filter(has_text="In chair").wait_for()

    assert page.evaluate("document.activeElement.id") == f"visit-{ours.pk}-next"
    assert "Start infusion" in page.locator(f"#visit-{ours.pk}-next").inner_text()


def test_the_minutes_refresh_waits_while_chairs_given_to_nurses_are_unsaved(page, live_server, a_day_of_visits):
    """A manager half way through giving chairs to nurses, looking elsewhere, does not lose the choices to the refresh."""
    clinic, ours = a_day_of_visits
    make_staff("max", MANAGER, clinic, first_name="Max", last_name="Manager")
    page.clock.install()  # the page's own timers, so the minute's poll can be reached without waiting
    log_in(page, live_server, "max", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")
    chair = ours.chair
    choice = page.locator(f"#assign-chair-{chair.pk}")
    choice.select_option(label="Nina Nurse")
    page.locator("h1").first.click()  # the nurse looks elsewhere: nothing in the roster has focus
    Appointment.objects.filter(pk=ours.pk).update(status=Status.IN_CHAIR)

    page.clock.run_for("01:05")
    page.wait_for_timeout(1500)

    assert page.locator(f"#visit-{ours.pk} .roster-status").inner_text().strip() != "In chair"
    assert page.locator(f"#assign-chair-{chair.pk} option:checked").inner_text() == "Nina Nurse"

    choice.select_option(label="Not assigned")  # back to what the page brought: nothing unsent
    page.locator("h1").first.click()
    page.clock.run_for("01:05")
    page.locator(f"#visit-{ours.pk} .roster-status").filter(has_text="In chair").wait_for()


def test_a_full_day_of_forty_chairs_prints_on_one_landscape_page(page, live_server, screenshot, ten_oclock_today):
    clinic, ten = ten_oclock_today
    for number in range(7, 41):
        clinic.chairs.create(name=f"Chair {number}", position=number)
    chairs = list(clinic.chairs.order_by("position"))
    make_staff("nina", NURSE, clinic, first_name="Nina", last_name="Nurse")
    opening = ten.replace(hour=8, minute=0)
    codes = ("ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab")
    for number in range(150):
        starts_at = opening + timedelta(minutes=135 * (number // len(chairs)))
        _visit(
            clinic,
            chairs[number % len(chairs)],
            codes[number % len(codes)],
            starts_at,
            premed=15,
            infusion=90,
            observation=30,
        )
    log_in(page, live_server, "nina", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")
    assert page.locator(".roster-bar").count() == 150

    page.emulate_media(media="print")
    screenshot("roster-print-40-chairs")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (ARTIFACTS / "roster-print-40-chairs.pdf").write_bytes(pdf)

    assert _pages_in(pdf) == 1
