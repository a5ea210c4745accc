"""The capacity forecast on a small clinic whose numbers are worked by hand.

Northside, from Monday 1 March 2027: 2 chairs open 08:00-18:00 Monday to Friday (20 chair
hours a day, 100 a week), 1 nurse of 4 patients, 1 infusion start per 15 minutes.

- Tysabri from 1 Mar, dose 1 booked today 09:00 for 2 h; doses 2 to 7 every 4 weeks, 2 h each,
  from 29 Mar to 16 Aug (dose 8 on 13 Sep is past the 26th week, which ends on 29 Aug).
- Ocrevus from Wed 3 Mar: dose 1 on 3 Mar and dose 2 on 17 Mar, 4 h each (30 + 150 + 60);
  dose 3, six months after dose 1, falls on 3 Sep, past the horizon.
- Lemtrada from Wed 3 Mar: days 1 to 3 (3-5 Mar) 7 h each (60 + 240 + 120), days 4 and 5
  (Sat 6 and Sun 7 Mar, closed) 6 h each, counted on Monday 8 Mar.

So: Mon 1 Mar 2 h (10%); Wed 3 Mar 4 + 7 = 11 h (55%), two patients at once (50% of the nurse);
Thu and Fri 7 h (35%); Mon 8 Mar 12 h (60%); Wed 17 Mar 4 h (20%). Week 1: 27 h of 100.
With a threshold of 50%, 3 and 8 March are flagged.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import MANAGER
from scheduling.capacity import selectors
from scheduling.capacity.forecast import clinic_forecast
from scheduling.models import CapacityPolicy
from tests.helpers import book_directly, local, make_clinic, make_course, make_staff

pytestmark = pytest.mark.django_db

TODAY = date(2027, 3, 1)


@pytest.fixture
def small_clinic():
    clinic = make_clinic("Northside Infusion Centre", chairs=2, nurses=1)
    tysabri = make_course(clinic, "tysabri", start=TODAY)
    book_directly(course=tysabri, starts_at=local(clinic, TODAY, 9), minutes=120, observation=60)
    make_course(clinic, "ocrevus", start=date(2027, 3, 3))
    make_course(clinic, "lemtrada", start=date(2027, 3, 3))
    CapacityPolicy.objects.create(clinic=clinic, overload_percent=50)
    return clinic


def _day(forecast, day):
    return next(entry for entry in forecast.days if entry.day == day)


def test_the_forecast_counts_chair_hours_per_day_as_worked_by_hand(small_clinic):
    forecast = clinic_forecast(small_clinic, today=TODAY)

    needed = {entry.day: entry.needed_minutes for entry in forecast.days if entry.needed_minutes}
    assert needed == {
        date(2027, 3, 1): 120,
        date(2027, 3, 3): 660,
        date(2027, 3, 4): 420,
        date(2027, 3, 5): 420,
        date(2027, 3, 8): 720,
        date(2027, 3, 17): 240,
        date(2027, 3, 29): 120,
        date(2027, 4, 26): 120,
        date(2027, 5, 24): 120,
        date(2027, 6, 21): 120,
        date(2027, 7, 19): 120,
        date(2027, 8, 16): 120,
    }
    first = _day(forecast, TODAY)
    assert (first.booked_minutes, first.planned_minutes, first.chair_percent) == (120, 0, 10)
    wednesday = _day(forecast, date(2027, 3, 3))
    assert (wednesday.chair_percent, wednesday.peak_patients, wednesday.nurse_percent) == (55, 2, 50)
    assert _day(forecast, date(2027, 3, 8)).chair_percent == 60


def test_the_forecast_counts_chair_hours_per_week_against_open_hours_times_chairs(small_clinic):
    forecast = clinic_forecast(small_clinic, today=TODAY)

    assert len(forecast.weeks) == 26
    assert forecast.weeks[-1].monday == date(2027, 8, 23)
    first, second, third = forecast.weeks[:3]
    assert (first.chair_minutes, first.needed_minutes, first.chair_percent) == (6000, 1620, 27)
    assert (second.needed_minutes, third.needed_minutes) == (720, 240)
    assert (first.peak_patients, first.flagged_days, second.flagged_days) == (2, 1, 1)
    assert len(forecast.near_days) == 42


def test_days_over_the_threshold_are_flagged_with_the_doses_that_could_move_inside_their_windows(small_clinic):
    forecast = clinic_forecast(small_clinic, today=TODAY)

    assert [entry.day for entry in forecast.flagged] == [date(2027, 3, 3), date(2027, 3, 8)]
    wednesday = {(visit.drug, visit.dose_number): visit.alternatives for visit in forecast.flagged[0].movable}
    # Each window runs from the target date to 7 days after; Thu and Fri would go over 50%,
    # Mon 8 is flagged itself, so Tue 9 and Wed 10 are left.
    assert wednesday == {
        ("Ocrevus", 1): (date(2027, 3, 9), date(2027, 3, 10)),
        ("Lemtrada", 1): (date(2027, 3, 9), date(2027, 3, 10)),
    }
    monday = {(visit.drug, visit.dose_number): visit.alternatives for visit in forecast.flagged[1].movable}
    assert monday == {
        ("Lemtrada", 4): (date(2027, 3, 9), date(2027, 3, 10), date(2027, 3, 11)),
        ("Lemtrada", 5): (date(2027, 3, 9), date(2027, 3, 10), date(2027, 3, 11)),
    }


def test_a_clinic_without_a_policy_flags_days_over_85_percent(small_clinic):
    CapacityPolicy.objects.all().delete()
    forecast = clinic_forecast(small_clinic, today=TODAY)
    assert forecast.threshold == 85
    assert forecast.flagged == []


@pytest.fixture
def max_of_northside(small_clinic):
    return make_staff("max", MANAGER, small_clinic, is_staff=True)


def test_the_manager_sees_the_chart_and_the_table_behind_it(client, small_clinic, max_of_northside):
    with time_machine.travel(local(small_clinic, TODAY, 7), tick=False):
        client.force_login(max_of_northside)  # inside the travel: the session's idle clock starts then
        response = client.get(reverse("scheduling:capacity_forecast"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<svg class="chart" id="forecast-weeks"' in html and '<title id="forecast-weeks-title">' in html
    assert "data-forecast-weeks" in html and "data-forecast-days" in html
    assert 'class="chart-threshold"' in html
    assert "style=" not in html.split("<main", 1)[1]  # the CSP allows no inline style
    assert "could move to Tue 9 Mar, Wed 10 Mar" in html
    assert "chairside/capacity.css" in html


def test_the_forecast_csv_has_a_header_then_a_row_per_week_and_per_day(client, small_clinic, max_of_northside):
    with time_machine.travel(local(small_clinic, TODAY, 7), tick=False):
        client.force_login(max_of_northside)  # inside the travel: the session's idle clock starts then
        response = client.get(reverse("scheduling:capacity_forecast_csv"), {"clinic": small_clinic.pk})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["period", "start", "end", "open_chair_hours"]
    assert rows[1] == [
        "week",
        "2027-03-01",
        "2027-03-07",
        "100.0",
        "2.0",
        "25.0",
        "27.0",
        "27.0",
        "4",
        "2",
        "50.0",
        "1",
        "2",
    ]
    assert len(rows) == 1 + 26 + 42
    wednesday = next(row for row in rows if row[:2] == ["day", "2027-03-03"])
    assert wednesday[6:] == ["11.0", "55.0", "4", "2", "50.0", "yes", "2"]


def test_every_cell_of_the_forecast_csv_is_kept_from_running_as_a_formula(
    client, small_clinic, max_of_northside, monkeypatch
):
    # The forecast's own cells are dates and figures; a clinic's name in any of them must still be inert.
    monkeypatch.setattr(selectors, "forecast_rows", lambda forecast: [["week", "=Northside", "+1", "-3.5", "@SUM(A1)"]])
    with time_machine.travel(local(small_clinic, TODAY, 7), tick=False):
        client.force_login(max_of_northside)
        response = client.get(reverse("scheduling:capacity_forecast_csv"), {"clinic": small_clinic.pk})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == ["week", "'=Northside", "'+1", "-3.5", "'@SUM(A1)"]


def test_the_forecast_costs_the_same_queries_for_3_courses_or_30(client, small_clinic, max_of_northside):
    url = reverse("scheduling:capacity_forecast")
    with time_machine.travel(local(small_clinic, TODAY, 7), tick=False):
        client.force_login(max_of_northside)
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for number in range(27):
            make_course(
                small_clinic, ("ocrevus", "tysabri", "lemtrada")[number % 3], start=date(2027, 3, 2 + number % 20)
            )
        with CaptureQueriesContext(connection) as many:
            client.get(url)
    assert len(many) == len(few)
