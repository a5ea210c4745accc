"""A manager levels a crowded day in Chromium: forecast, the flagged day, before and after, confirm, the roster.

Screenshots go to tests/artifacts/; axe-core finds no serious or critical problem on the pages.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.roles import MANAGER
from scheduling.models import Appointment, Reminder
from tests.browser.conftest import log_in
from tests.browser.test_accessibility import _axe_installed, serious_violations  # noqa: F401 - the fixture
from tests.helpers import DEMO_PASSWORD, book_directly, local, make_clinic, make_course, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def crowded_day():
    """One nurse, four Tysabri visits a quarter of an hour apart from 08:00 on a weekday next week."""
    clinic = make_clinic("Riverside Infusion Unit", chairs=8, nurses=1)
    make_staff("max", MANAGER, clinic, first_name="Max", is_staff=True)
    today = timezone.now().astimezone(clinic.tz).date()
    day = today + timedelta(days=7 - today.weekday() + 2)  # Wednesday next week
    visits = []
    for index in range(4):
        course = make_course(clinic, "tysabri", start=day - timedelta(days=5), first_name=f"Tess{index}")
        visits.append(
            book_directly(course=course, starts_at=local(clinic, day, 8, 15 * index), minutes=120, dose_number=1)
        )
    return clinic, day, visits


def test_the_manager_levels_a_flagged_day_and_the_roster_shows_the_new_times(
    page, live_server, crowded_day, screenshot
):
    clinic, day, visits = crowded_day
    log_in(page, live_server, "max", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:capacity_forecast')}?clinic={clinic.pk}")
    link = page.locator(f'a[data-level-day="{day.isoformat()}"]')
    assert link.is_visible()
    assert not serious_violations(page)
    link.click()
    page.wait_for_url(f"{live_server.url}{reverse('scheduling:levelling_day')}**")
    assert page.locator("[data-before-peak]").inner_text() == "4"
    assert int(page.locator("[data-after-peak]").inner_text()) < 4
    for chart in ("levelling-load", "levelling-before", "levelling-after"):
        assert page.locator(f"svg#{chart}").is_visible()
    rows = page.locator("table[data-levelling-moves] tbody tr")
    assert rows.count() >= 1
    new_times = [rows.nth(index).locator("td").nth(3).inner_text().split(",")[0][-5:] for index in range(rows.count())]
    screenshot("levelling-proposal")
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)

    page.get_by_role("button", name="Move these").click()
    page.wait_for_url(f"{live_server.url}{reverse('scheduling:roster')}**")
    assert page.get_by_text("moved; each patient gets a notice").is_visible()
    roster = page.content()
    for clock in new_times:
        assert clock in roster
    screenshot("levelling-roster-after")
    moved = [visit for visit in visits if Appointment.objects.get(pk=visit.pk).starts_at != visit.starts_at]
    assert len(moved) == len(new_times)
    assert Reminder.objects.filter(kind=Reminder.Kind.APPOINTMENT_MOVED).count() == len(moved)
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)
