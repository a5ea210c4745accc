"""A manager opens the forecast and the utilisation pages in Chromium: screenshots kept, and axe-core
finds no serious or critical problem on either."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import log_in
from tests.browser.test_accessibility import _axe_installed, serious_violations  # noqa: F401 - the fixture
from tests.helpers import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_manager_reads_the_forecast_chart_and_its_table(page, live_server, busy_clinic, screenshot):
    clinic, _due = busy_clinic
    log_in(page, live_server, "max", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:capacity_forecast')}?clinic={clinic.pk}")
    assert page.locator("svg#forecast-weeks rect").count() > 0
    assert page.get_by_role("img", name="Chair hours and peak nurse load needed per week").is_visible()
    assert page.locator("table[data-forecast-days] tbody tr").count() == 42
    screenshot("capacity-forecast")

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


def test_the_manager_reads_the_utilisation_charts_and_their_tables(page, live_server, busy_clinic, screenshot):
    clinic, _due = busy_clinic
    log_in(page, live_server, "max", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:capacity_utilisation')}?clinic={clinic.pk}")
    for chart in ("utilisation", "cycle-times", "rates", "first-infusion"):
        assert page.locator(f"svg#{chart}").is_visible()
    screenshot("capacity-utilisation")

    violations = serious_violations(page)
    assert not violations, "\n".join(violations)
