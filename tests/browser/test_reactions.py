"""A nurse records a structured infusion reaction from the roster in real Chromium, and the pages show it."""

from __future__ import annotations

import importlib
import re
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from clinic.models import OpeningHours, RateStep, Regimen
from clinic.roles import NURSE
from scheduling.models import Appointment, InfusionReaction
from tests.browser.conftest import log_in
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import DEMO_PASSWORD, make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Status = Appointment.Status


@pytest.fixture(autouse=True)
def _seeded(transactional_db):
    """The regimens and their rate steps a fresh database has after `migrate` (a flush takes them)."""
    if not Regimen.objects.exists():
        importlib.import_module("clinic.migrations.0003_seed_regimens").seed(apps, None)
    if not RateStep.objects.exists():
        importlib.import_module("clinic.migrations.0010_rate_steps").seed(apps, None)


@pytest.fixture
def in_chair_at_ten():
    """Today at 10:00 on a running clock: an Ocrevus patient in the chair since 09:45, and Nina on shift."""
    clinic = make_clinic("Northside Infusion Centre")
    for weekday in (5, 6):  # open every day, so the test reads the same on a weekend
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8, 0), closes=time(18, 0))
    today = timezone.now().astimezone(clinic.tz).date()
    ten = datetime.combine(today, time(10, 0), tzinfo=clinic.tz)
    with time_machine.travel(ten, tick=True):
        make_staff("nina", NURSE, clinic, first_name="Nina", last_name="Nurse")
        course = TreatmentCourseFactory(
            patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code="ocrevus"), start_date=today
        )
        starts_at = ten - timedelta(minutes=15)
        visit = Appointment.objects.create(
            clinic=clinic,
            chair=clinic.chairs.order_by("position").first(),
            patient=course.patient,
            course=course,
            dose_number=1,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=240),
            premed_minutes=30,
            infusion_minutes=150,
            observation_minutes=60,
            status=Status.IN_CHAIR,
            arrived_at=starts_at - timedelta(minutes=10),
            in_chair_at=starts_at,
        )
        yield clinic, visit


def test_a_nurse_records_a_grade_2_reaction_and_the_roster_and_patient_page_show_it(
    page, live_server, screenshot, in_chair_at_ten
):
    clinic, visit = in_chair_at_ten
    log_in(page, live_server, "nina", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")
    row = page.locator(f"#visit-{visit.pk}")

    # The first Ocrevus dose asks for its checks before the needle: the nurse ticks each one.
    checklist = page.locator(f"#visit-{visit.pk} .roster-checklist")
    items = checklist.locator("button[aria-pressed]").count()
    assert items >= 2  # hepatitis B screening, immunoglobulins, ..., the infection check
    for ticked in range(1, items + 1):
        checklist.locator("button[aria-pressed='false']").first.click()
        expect(checklist.locator("button[aria-pressed='true']")).to_have_count(ticked)
    assert "Nina Nurse" in checklist.inner_text()

    row.get_by_role("button", name="Start infusion").click()
    page.locator(f"#visit-{visit.pk} .roster-status").filter(has_text="Infusing").wait_for()
    row = page.locator(f"#visit-{visit.pk}")
    # Ocrevus 300 mg: 30 mL/h, up by 30 every 30 minutes, from the moment the infusion started.
    assert re.search(r"Next: 60 mL/h at 10:3\d", row.locator(".roster-rate-next").inner_text())

    page.locator(f"#visit-{visit.pk}-reaction").click()
    form = page.locator(f'[data-reaction-form="{visit.pk}"]')
    form.wait_for()
    form.locator(f"#reaction-{visit.pk}-onset").fill("10:00")
    form.locator(f"#reaction-{visit.pk}-grade").select_option("2")
    form.get_by_label("Rash", exact=True).check()
    form.get_by_label("Itching", exact=True).check()
    form.get_by_label("Rate reduced", exact=True).check()
    form.locator(f"#reaction-{visit.pk}-outcome").select_option("resolved")
    form.locator(f"#reaction-{visit.pk}-notes").fill("Rate halved; settled in 15 minutes.")
    form.get_by_role("button", name="Record reaction").click()

    page.locator("#roster-body .alert-success").filter(has_text="infusion reaction (grade 2) was recorded").wait_for()
    card = page.locator(f'#visit-{visit.pk} [data-reactions="{visit.pk}"]')
    card.wait_for()
    text = card.inner_text()
    assert "Grade 2" in text
    assert "Rash, Itching" in text
    assert "Rate reduced" in text
    screenshot("roster-reaction")

    reaction = InfusionReaction.objects.get(appointment=visit)
    assert (reaction.grade, reaction.symptoms, reaction.actions, reaction.outcome) == (
        2,
        ["rash", "itching"],
        ["rate_reduced"],
        "resolved",
    )

    page.goto(f"{live_server.url}{reverse('patients:detail', args=[visit.patient_id])}")
    reactions = page.locator(f"#course-{visit.course_id}-reactions")
    text = reactions.inner_text()
    assert "Grade 2" in text
    assert "Rash, Itching" in text
    assert "Rate reduced" in text
    assert "Rate halved; settled in 15 minutes." in text
    screenshot("patient-reaction")
