"""Each utilisation figure's definition, on hand-built appointments with recorded times.

Northside (2 chairs, 08:00-18:00 Monday to Friday) in the week of Monday 1 February 2027:
5 open days x 10 h x 2 chairs = 6,000 open chair minutes.

- A, Ocrevus dose 1 (course from 1 Feb): booked Mon 09:00-13:00, in chair 09:20 (late),
  completed 13:30 (overrun): 240 planned, 250 actual.
- B, Tysabri dose 2 (course from 25 Jan, dose 1 given then): booked Tue 10:00-12:00, in
  chair 10:05, completed 11:50: 120 planned, 105 actual; given 20 days before its target.
- C, no-show Mon 14:00-16:00 (120 scheduled).
- D, cancelled 21 h before its start on Wed 09:00 (late); E, cancelled 3 days before Thu 09:00.
- F, Lemtrada dose 1 (course from 2 Feb) completed Tue 14:00-16:00, no times recorded.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.models import Regimen
from clinic.roles import MANAGER
from scheduling.capacity.utilisation import clinic_utilisation
from scheduling.models import Appointment, AppointmentEvent
from tests.helpers import book_directly, give, local, make_clinic, make_course, make_staff

pytestmark = pytest.mark.django_db

Status = Appointment.Status
MONDAY, SUNDAY = date(2027, 2, 1), date(2027, 2, 7)


def _cancelled(course, starts_at, cancelled_at):
    visit = book_directly(course=course, starts_at=starts_at, minutes=120, status=Status.CANCELLED)
    event = AppointmentEvent.objects.create(appointment=visit, action=AppointmentEvent.Action.CANCELLED)
    AppointmentEvent.objects.filter(pk=event.pk).update(at=cancelled_at)
    return visit


@pytest.fixture
def week():
    clinic = make_clinic("Northside Infusion Centre", chairs=2)
    at = lambda day, *clock: local(clinic, date(2027, 2, day), *clock)  # noqa: E731
    ocrevus = make_course(clinic, "ocrevus", start=MONDAY)
    book_directly(
        course=ocrevus, starts_at=at(1, 9), minutes=240, status=Status.COMPLETED,
        in_chair_at=at(1, 9, 20), completed_at=at(1, 13, 30),
    )  # fmt: skip
    tysabri = make_course(clinic, "tysabri", start=date(2027, 1, 25))
    give(tysabri, date(2027, 1, 25))
    book_directly(
        course=tysabri, starts_at=at(2, 10), dose_number=2, minutes=120, status=Status.COMPLETED,
        in_chair_at=at(2, 10, 5), completed_at=at(2, 11, 50),
    )  # fmt: skip
    missed = make_course(clinic, "ocrevus", start=MONDAY)
    book_directly(course=missed, starts_at=at(1, 14), minutes=120, status=Status.NO_SHOW)
    _cancelled(missed, at(3, 9), at(2, 12))
    _cancelled(missed, at(4, 9), at(1, 9))
    lemtrada = make_course(clinic, "lemtrada", start=date(2027, 2, 2))
    book_directly(course=lemtrada, starts_at=at(2, 14), minutes=120, status=Status.COMPLETED)
    return clinic


def _rates(result):
    return {rate.key: (rate.count, rate.of) for rate in result.rates}


def test_scheduled_and_actual_utilisation_are_shares_of_open_chair_time(week):
    result = clinic_utilisation(week, start=MONDAY, end=SUNDAY, granularity="week")
    [bucket] = result.buckets
    assert bucket.open_minutes == 6000
    # A 240 + B 120 + C (no-show) 120 + F 120; the cancellations hold nothing.
    assert (bucket.scheduled_minutes, bucket.scheduled_percent) == (600, 10)
    # In chair to completed: A 250 + B 105; F has no times and is counted apart.
    assert bucket.actual_minutes == 355
    assert result.missing_times == 1


def test_utilisation_by_day_puts_each_visit_on_its_local_day(week):
    result = clinic_utilisation(week, start=MONDAY, end=SUNDAY, granularity="day")
    scheduled = {bucket.start: bucket.scheduled_minutes for bucket in result.buckets}
    assert scheduled[MONDAY] == 360 and scheduled[date(2027, 2, 2)] == 240
    assert [bucket.open_minutes for bucket in result.buckets] == [1200] * 5 + [0, 0]


def test_cycle_time_compares_planned_and_actual_chair_time_by_regimen(week):
    result = clinic_utilisation(week, start=MONDAY, end=SUNDAY)
    cycles = {
        cycle.regimen.split()[0]: (cycle.visits, cycle.planned_mean, cycle.actual_mean) for cycle in result.cycle_times
    }
    assert cycles == {"Ocrevus": (1, 240, 250), "Tysabri": (1, 120, 105)}


def test_late_starts_overruns_no_shows_and_late_cancellations(week):
    rates = _rates(clinic_utilisation(week, start=MONDAY, end=SUNDAY))
    assert rates["late_starts"] == (1, 2)  # A in chair 20 min late; B 5 min is on time
    assert rates["overruns"] == (1, 2)  # A completed 30 min after its end
    assert rates["no_shows"] == (1, 4)  # C, of A, B, F completed and C
    assert rates["late_cancellations"] == (1, 6)  # D, 21 h before; E was 3 days before


def test_the_share_of_doses_given_inside_their_window(week):
    rates = _rates(clinic_utilisation(week, start=MONDAY, end=SUNDAY))
    # A and F on their start dates; B's dose 2 twenty days before its target (22 Feb).
    assert rates["in_window"] == (2, 3)


def test_days_from_course_start_to_first_infusion(week):
    result = clinic_utilisation(week, start=MONDAY, end=SUNDAY)
    # A and F on their start date; Tysabri's first dose was given before the period.
    assert sorted(result.first_infusion_days) == [0, 0]
    assert result.first_infusion_bins[0] == ("On or before the start date", 2)


def test_a_drug_filter_keeps_that_drugs_visits_only(week):
    from clinic.models import Drug

    result = clinic_utilisation(week, start=MONDAY, end=SUNDAY, drug=Drug.objects.get(code="tysabri"))
    assert result.visits == 1
    assert _rates(result)["in_window"] == (0, 1)


@pytest.fixture
def signed_in(client, week):
    travel = time_machine.travel(datetime(2027, 2, 10, 9, tzinfo=week.tz), tick=False)
    travel.start()
    client.force_login(make_staff("max", MANAGER, week, is_staff=True))
    yield client
    travel.stop()


def test_the_page_shows_each_chart_with_its_table_and_definition(signed_in, week):
    response = signed_in.get(reverse("scheduling:capacity_utilisation"), {"start": "2027-02-01", "end": "2027-02-07"})
    assert response.status_code == 200
    html = response.content.decode()
    for chart in ("utilisation", "cycle-times", "rates", "first-infusion"):
        assert f'id="{chart}"' in html and f'id="{chart}-desc"' in html
    assert "data-utilisation" in html and "data-cycle-times" in html and "data-rates" in html
    assert "Cancelled less than 24 hours before the booked start" in html
    assert "style=" not in html.split("<main", 1)[1]


def test_the_page_defaults_to_the_eight_weeks_before_today(signed_in):
    result = signed_in.get(reverse("scheduling:capacity_utilisation")).context["utilisation"]
    assert (result.start, result.end) == (date(2027, 2, 9) - timedelta(weeks=8) + timedelta(days=1), date(2027, 2, 9))


def test_the_utilisation_csv_has_a_header_and_a_row_per_figure(signed_in, week):
    response = signed_in.get(
        reverse("scheduling:capacity_utilisation_csv"), {"start": "2027-02-01", "end": "2027-02-07", "by": "week"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["figure", "group", "count", "of", "value", "unit"]
    assert ["scheduled utilisation", "2027-02-01", "600", "6000", "10.0", "%"] in rows
    assert ["late cancellations", "all", "1", "6", "16.7", "%"] in rows
    assert ["doses given inside their window", "all", "2", "3", "66.7", "%"] in rows


def test_a_regimen_name_a_spreadsheet_would_run_comes_out_of_the_csv_as_text(signed_in, week):
    Regimen.objects.filter(code="ocrevus").update(name='=HYPERLINK("http://x","Ocrevus")')
    response = signed_in.get(
        reverse("scheduling:capacity_utilisation_csv"), {"start": "2027-02-01", "end": "2027-02-07", "by": "week"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    groups = {row[1] for row in rows if row[0] == "planned chair time"}
    assert '\'=HYPERLINK("http://x","Ocrevus")' in groups
    assert not any(cell.startswith("=") for row in rows for cell in row)
