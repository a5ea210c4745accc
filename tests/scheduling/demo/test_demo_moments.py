"""`manage.py seed_demo` at several moments: a working day whatever the clock says, in each clinic's zone.

The demo is built once per moment (a weekday morning and 17:30 in New York, 17:30 in London,
a Saturday, a Sunday; `test_seed_demo` builds it at a weekday morning in London) with the
clock frozen there, and rolled back after that moment's tests. Each visit still to come is
booked through `booking_create` at every moment, which refuses any that breaks a rule; the
slower re-check of each one with `slot_problem` runs at `test_seed_demo`'s moment.
"""

from __future__ import annotations

import io

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from tests.scheduling.demo import checks

OTHER_MOMENTS = [name for name in checks.MOMENTS if name != "london-weekday-morning"]


# Each moment's tests run in one test worker (pytest-xdist), so each demo is built once.
@pytest.fixture(
    scope="module",
    params=[pytest.param(name, id=name, marks=pytest.mark.xdist_group(f"demo-{name}")) for name in OTHER_MOMENTS],
)
def moment(request, django_db_setup, django_db_blocker):
    """The demo built at one moment, with the clock kept there for the moment's tests."""
    with time_machine.travel(checks.MOMENTS[request.param], tick=False), django_db_blocker.unblock():
        with transaction.atomic():
            out = io.StringIO()
            call_command("seed_demo", stdout=out)
            yield out.getvalue()
            transaction.set_rollback(True)


@pytest.fixture
def output(moment, db):
    return moment


def test_the_next_two_weeks_are_70_to_85_percent_booked(output):
    checks.check_the_next_two_weeks_are_70_to_85_percent_booked(output)


def test_the_weeks_behind_are_busy_for_the_utilisation_figures(output):
    checks.check_the_weeks_behind_are_busy_for_the_utilisation_figures(output)


def test_the_busiest_day_has_two_to_three_visits_a_chair(output):
    checks.check_the_busiest_day_has_two_to_three_visits_a_chair(output)


def test_today_moves_along_with_the_clinic_s_clock(output):
    checks.check_today_moves_along_with_the_clinic_s_clock(output)


def test_the_roster_shows_one_late_and_one_running_over_while_the_day_is_under_way(output):
    checks.check_the_roster_shows_one_late_and_one_running_over_while_the_day_is_under_way(output)


def test_the_command_says_which_day_the_demo_shows(output):
    checks.check_the_command_says_which_day_the_demo_shows(output)


def test_the_worklist_has_overdue_and_due_doses_and_nothing_else_of_the_fill(output):
    checks.check_the_worklist_has_overdue_and_due_doses_and_nothing_else_of_the_fill(output)


def test_failed_reminders_with_their_errors_are_inside_the_retry_period(output):
    checks.check_failed_reminders_with_their_errors_are_inside_the_retry_period(output)


def test_authorizations_about_to_expire(output):
    checks.check_authorizations_about_to_expire(output)


def test_a_lemtrada_course_is_in_progress_or_begins_on_the_next_weekday(output):
    checks.check_a_lemtrada_course_is_in_progress_or_begins_on_the_next_weekday(output)


def test_every_demo_appointment_keeps_the_booking_and_nurse_rules(output):
    checks.check_every_demo_appointment_keeps_the_booking_and_nurse_rules(output)
