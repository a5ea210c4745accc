"""A change of the clinic's clock carries every pending reminder along, and the roster shows what no longer fits.

The admin's side (the preview, the confirm box, the messages) is in
tests/clinic/test_clinic_configuration.py; here: the dose and lab reminders the planner made,
a reminder hour moved to a time already past today, and the visits left outside the hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from clinic.models import Clinic, Closure, OpeningHours
from scheduling.models import Reminder
from scheduling.reminders.planner import reminders_plan
from scheduling.roster.selectors import roster_for_day
from tests.helpers import admin_form_data, book, give, local, make_course

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
HELSINKI = ZoneInfo("Europe/Helsinki")
NOW = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)  # Monday, noon in London
TODAY = date(2027, 2, 15)
Kind = Reminder.Kind
Status = Reminder.Status


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _save_clinic(client, clinic, **changes):
    url = reverse("admin:clinic_clinic_change", args=[clinic.pk])
    data = admin_form_data(client.get(url))
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    return response


@pytest.fixture
def dose_due_soon(clinic_a):
    """A Tysabri patient whose next dose falls due in two days: the planner writes "please book" for tomorrow 09:00."""
    course = make_course(clinic_a, "tysabri", start=TODAY - timedelta(days=26))
    give(course, TODAY - timedelta(days=26))
    reminders_plan(now=NOW)
    row = Reminder.objects.get(course=course, kind=Kind.DOSE_DUE_SOON)
    assert row.due_at == datetime(2027, 2, 16, 9, 0, tzinfo=LONDON)
    return row


def test_a_time_zone_change_moves_the_pending_dose_reminders_to_the_reminder_hour_in_the_new_zone(
    client, manager, clinic_a, dose_due_soon
):
    client.force_login(manager)

    _save_clinic(client, clinic_a, time_zone="Europe/Helsinki", confirm_time_zone_change="on")

    dose_due_soon.refresh_from_db()
    assert dose_due_soon.status == Status.PENDING
    assert dose_due_soon.due_at == datetime(2027, 2, 16, 9, 0, tzinfo=HELSINKI)
    # The next planner run finds it where it is and writes no second one.
    reminders_plan(now=NOW + timedelta(hours=1))
    assert Reminder.objects.filter(course=dose_due_soon.course, kind=Kind.DOSE_DUE_SOON).count() == 1


def test_a_new_reminder_hour_moves_the_pending_dose_reminders(client, manager, clinic_a, dose_due_soon):
    client.force_login(manager)

    _save_clinic(client, clinic_a, reminder_local_time="10:30")

    dose_due_soon.refresh_from_db()
    assert dose_due_soon.due_at == datetime(2027, 2, 16, 10, 30, tzinfo=LONDON)


def test_a_reminder_hour_moved_to_a_time_already_past_today_sends_today_s_reminders_at_once(client, manager, clinic_a):
    clinic_a.reminder_local_time = time(17, 30)
    clinic_a.save()
    visit = book(make_course(clinic_a, "tysabri", start=TODAY), local(clinic_a, TODAY + timedelta(days=1), 9))
    day_before = Reminder.objects.get(appointment=visit, status=Status.PENDING)
    assert day_before.due_at == datetime(2027, 2, 15, 17, 30, tzinfo=LONDON)
    course = make_course(clinic_a, "tysabri", start=TODAY - timedelta(days=26))
    give(course, TODAY - timedelta(days=26))
    reminders_plan(now=NOW)
    please_book = Reminder.objects.get(course=course, kind=Kind.DOSE_DUE_SOON)
    assert please_book.due_at == datetime(2027, 2, 15, 17, 30, tzinfo=LONDON)
    client.force_login(manager)

    _save_clinic(client, clinic_a, reminder_local_time="10:00")

    # 10:00 has passed: both go out now instead of never.
    day_before.refresh_from_db()
    please_book.refresh_from_db()
    assert (day_before.status, day_before.due_at) == (Status.PENDING, NOW)
    assert (please_book.status, please_book.due_at) == (Status.PENDING, NOW)


def test_a_reminder_waiting_for_a_retry_keeps_its_retry_time_when_the_hour_changes(client, manager, clinic_a):
    with time_machine.travel(NOW - timedelta(hours=6), tick=False):  # booked at 06:00, before the 09:00 reminder
        visit = book(make_course(clinic_a, "tysabri", start=TODAY), local(clinic_a, TODAY + timedelta(days=1), 15))
    row = Reminder.objects.get(appointment=visit, status=Status.PENDING, due_at__lt=NOW)
    retry_at = NOW + timedelta(minutes=15)
    Reminder.objects.filter(pk=row.pk).update(attempts=3, due_at=retry_at, last_error="SMTP refused")
    client.force_login(manager)

    _save_clinic(client, clinic_a, reminder_local_time="08:00")

    row.refresh_from_db()
    assert (row.status, row.attempts, row.due_at) == (Status.PENDING, 3, retry_at)


# --- The roster names the visits the new clock leaves outside the hours ----------------------


MONDAY = date(2027, 3, 1)


def _outside(roster):
    return {visit.pk: flag for visit in roster.visits for flag in visit.flags if flag.code == "outside_hours"}


def test_after_a_time_zone_change_the_roster_flags_the_visits_outside_the_new_hours(client, manager, clinic_a):
    morning = book(make_course(clinic_a, "tysabri", start=MONDAY), local(clinic_a, MONDAY, 9), minutes=120)
    evening = book(make_course(clinic_a, "tysabri", start=MONDAY), local(clinic_a, MONDAY, 16), minutes=120)
    assert _outside(roster_for_day(clinic=clinic_a, day=MONDAY)) == {}
    client.force_login(manager)

    _save_clinic(client, clinic_a, time_zone="Europe/Helsinki", confirm_time_zone_change="on")

    roster = roster_for_day(clinic=Clinic.objects.get(pk=clinic_a.pk), day=MONDAY)
    flagged = _outside(roster)
    assert set(flagged) == {evening.pk}
    assert flagged[evening.pk].detail == "The clinic is open 08:00–18:00 on this day: move or cancel the visit."
    assert "1 booked visit outside the opening hours: 18:00 (Chair 1). Move or cancel them." in roster.warnings
    assert morning.pk not in flagged
    page = client.get(reverse("scheduling:roster") + "?day=2027-03-01")
    assert "Outside opening hours" in page.content.decode()


def test_the_roster_flags_booked_visits_on_a_day_closed_or_shortened_after_booking(clinic_a):
    visit = book(make_course(clinic_a, "tysabri", start=MONDAY), local(clinic_a, MONDAY, 15), minutes=120)
    OpeningHours.objects.filter(clinic=clinic_a, weekday=0).update(closes=time(16, 0))

    (flag,) = _outside(roster_for_day(clinic=clinic_a, day=MONDAY)).values()
    assert flag.detail == "The clinic is open 08:00–16:00 on this day: move or cancel the visit."

    Closure.objects.create(clinic=clinic_a, starts_on=MONDAY, ends_on=MONDAY, reason="Staff training")
    (flag,) = _outside(roster_for_day(clinic=clinic_a, day=MONDAY)).values()
    assert flag.detail == "The clinic is closed on this day (Staff training): move or cancel the visit."
    assert visit.pk in _outside(roster_for_day(clinic=clinic_a, day=MONDAY))
