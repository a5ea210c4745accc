"""Configuration that cannot corrupt the schedule: refused where it is saved, or shown and confirmed first.

A regimen phase must give its doses chair time. A clinic's new time zone moves the local
time of every visit booked there, so the admin shows what would move and refuses until the
manager confirms; once saved, the reminders follow, as they do for a new reminder hour or
new reminder days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import import_module
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from clinic.models import Chair, Regimen, RegimenPhase
from clinic.roles import FORMULARY
from scheduling.booking.services import BookingError, booking_create, booking_create_series
from scheduling.models import Reminder
from tests.accounts.support import log_in_with_two_steps
from tests.helpers import admin_form_data, book, local, make_course, make_staff

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)
HELSINKI = ZoneInfo("Europe/Helsinki")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(datetime(2027, 2, 15, 12, 0, tzinfo=UTC), tick=False):
        yield


def _inline_prefix(response, model) -> str:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise AssertionError(f"No inline for {model}")


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _without_the_infusion_check():
    """Drop the database check inside the test's transaction: a row written before it existed."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE clinic_regimenphase DROP CONSTRAINT phase_infusion_minutes_positive")


# --- Chair time of a regimen phase -------------------------------------------------------------


def test_a_phase_without_infusion_minutes_is_refused_with_a_sentence():
    phase = Regimen.objects.get(code="tysabri").phases.get()
    phase.infusion_minutes = 0

    with pytest.raises(ValidationError) as refused:
        phase.full_clean()

    assert refused.value.message_dict["infusion_minutes"] == [
        "Give the infusion minutes, more than 0: a dose with no infusion time cannot be booked."
    ]


def test_a_phase_with_no_chair_time_at_all_says_so():
    phase = Regimen.objects.get(code="tysabri").phases.get()
    phase.premed_minutes = phase.infusion_minutes = phase.observation_minutes = 0

    with pytest.raises(ValidationError) as refused:
        phase.full_clean()

    assert refused.value.message_dict["infusion_minutes"] == [
        "This phase gives its doses no chair time: premedication, infusion and observation are all 0 minutes. "
        "Give the infusion minutes (more than 0) so its doses can be booked."
    ]


def test_a_longer_first_infusion_or_a_shorter_option_of_0_minutes_is_refused():
    phase = Regimen.objects.get(code="ocrevus").phases.get(position=2)
    phase.first_infusion_minutes = 0
    phase.short_infusion_minutes = 0

    with pytest.raises(ValidationError) as refused:
        phase.full_clean()

    assert (
        "Leave this empty when the first infusion is not longer"
        in refused.value.message_dict["first_infusion_minutes"][0]
    )
    assert "more than 0" in refused.value.message_dict["short_infusion_minutes"][0]


def test_the_database_refuses_a_phase_without_infusion_minutes_however_it_is_written():
    phase = Regimen.objects.get(code="tysabri").phases.get()

    with pytest.raises(IntegrityError, match="phase_infusion_minutes_positive"), transaction.atomic():
        RegimenPhase.objects.filter(pk=phase.pk).update(infusion_minutes=0)


def test_every_seeded_phase_gives_its_doses_chair_time():
    phases = list(RegimenPhase.objects.all())
    assert phases
    for phase in phases:
        phase.full_clean()
        assert phase.infusion_minutes > 0, phase


def test_the_regimen_admin_shows_why_a_phase_without_infusion_minutes_is_refused(client):
    tysabri = Regimen.objects.get(code="tysabri")
    log_in_with_two_steps(client, make_staff("fran", FORMULARY, is_staff=True))
    url = reverse("admin:clinic_regimen_change", args=[tysabri.pk])
    page = client.get(url)
    data = admin_form_data(page)
    data[f"{_inline_prefix(page, RegimenPhase)}-0-infusion_minutes"] = "0"

    response = client.post(url, data)

    assert response.status_code == 200
    assert "Give the infusion minutes, more than 0: a dose with no infusion time cannot be booked." in (
        response.content.decode()
    )
    assert tysabri.phases.get().infusion_minutes == 60


@pytest.mark.postgres
def test_the_migration_names_the_phases_to_fix_before_it_adds_the_check():
    _without_the_infusion_check()
    RegimenPhase.objects.filter(regimen__code="tysabri").update(infusion_minutes=0)
    migration = import_module("clinic.migrations.0004_phase_infusion_minutes_positive")

    with pytest.raises(RuntimeError) as refused:
        migration.refuse_phases_without_infusion_minutes(django_apps, None)

    message = str(refused.value)
    assert "These regimen phases have 0 infusion minutes, so their doses cannot be booked:" in message
    assert "Tysabri" in message
    assert "Give each phase its infusion minutes (Clinic settings, Regimens), then run the migration again." in message


@pytest.mark.postgres
def test_booking_a_dose_of_a_regimen_without_chair_time_asks_for_a_manager_instead_of_failing(clinic_a, front_desk):
    _without_the_infusion_check()
    RegimenPhase.objects.filter(regimen__code="tysabri").update(
        premed_minutes=0, infusion_minutes=0, observation_minutes=0, first_infusion_minutes=None
    )
    course = make_course(clinic_a, "tysabri", start=MONDAY)
    chair = Chair.objects.filter(clinic=clinic_a).first()

    with pytest.raises(BookingError) as refused:
        booking_create(course=course, chair=chair, starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk)

    assert refused.value.code == "regimen_unusable"
    assert refused.value.message.endswith(
        "so it cannot be booked. Ask your formulary manager to fix the regimen's chair times in Clinic settings."
    )


@pytest.mark.postgres
def test_booking_a_series_of_a_regimen_without_chair_time_asks_for_a_manager_instead_of_failing(clinic_a, front_desk):
    _without_the_infusion_check()
    RegimenPhase.objects.filter(regimen__code="lemtrada").update(infusion_minutes=0)
    course = make_course(clinic_a, "lemtrada", start=MONDAY)
    chair = Chair.objects.filter(clinic=clinic_a).first()

    with pytest.raises(BookingError, match="Ask your formulary manager to fix the regimen's chair times"):
        booking_create_series(course=course, chair=chair, starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk)


# --- The clinic's time zone, reminder hour and reminder days ----------------------------------


@pytest.fixture
def visits(clinic_a):
    """Two booked visits on Monday 1 March 2027, London time: 09:00-11:00 and 16:00-18:00, reminders planned."""
    morning = make_course(clinic_a, "tysabri", start=MONDAY, last_name="Lovelace")
    afternoon = make_course(clinic_a, "tysabri", start=MONDAY, last_name="Hopper")
    return (
        book(morning, local(clinic_a, MONDAY, 9), minutes=120),
        book(afternoon, local(clinic_a, MONDAY, 16), minutes=120),
    )


def _clinic_form(client, clinic, **changes):
    url = reverse("admin:clinic_clinic_change", args=[clinic.pk])
    data = admin_form_data(client.get(url))
    data.update(changes)
    return url, data


def _pending_due_times(appointment) -> list[datetime]:
    return list(
        Reminder.objects.filter(appointment=appointment, status=Reminder.Status.PENDING)
        .order_by("due_at")
        .values_list("due_at", flat=True)
    )


def test_a_time_zone_change_with_booked_visits_shows_what_it_would_do_and_is_refused(client, manager, clinic_a, visits):
    morning, _afternoon = visits
    reminders_before = _pending_due_times(morning)
    client.force_login(manager)
    url, data = _clinic_form(client, clinic_a, time_zone="Europe/Helsinki")

    response = client.post(url, data)

    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Changing the time zone from Europe/London to Europe/Helsinki moves the local time of 2 booked visits "
        "from Mon 1 Mar 2027 on: each stays at the same moment, so 09:00 becomes 11:00"
    ) in html
    assert "Mon 1 Mar 2027, 09:00 becomes 11:00 (Chair 1)" in html
    assert "Mon 1 Mar 2027, 16:00 becomes 18:00 (Chair 1), outside the opening hours" in html
    assert "1 booked visit would fall outside the opening hours: Mon 1 Mar 2027, 18:00–20:00 (Chair 1)." in html
    assert "Tick this box to change the time zone of 2 booked visits, or put the old time zone back." in html
    # The visits are named by date and time only.
    assert "Lovelace" not in html and "Hopper" not in html
    clinic_a.refresh_from_db()
    assert clinic_a.time_zone == "Europe/London"
    assert _pending_due_times(morning) == reminders_before


def test_a_confirmed_time_zone_change_re_plans_the_reminders_and_names_visits_outside_the_new_hours(
    client, manager, clinic_a, visits
):
    morning, afternoon = visits
    assert _pending_due_times(morning) == [
        datetime(2027, 2, 22, 9, 0, tzinfo=LONDON),
        datetime(2027, 2, 28, 9, 0, tzinfo=LONDON),
    ]
    client.force_login(manager)
    url, data = _clinic_form(client, clinic_a, time_zone="Europe/Helsinki", confirm_time_zone_change="on")

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    clinic_a.refresh_from_db()
    assert clinic_a.time_zone == "Europe/Helsinki"
    # Still 09:00 on the clinic's clock, seven days and one day before the visit's local day.
    for appointment in (morning, afternoon):
        assert _pending_due_times(appointment) == [
            datetime(2027, 2, 22, 9, 0, tzinfo=HELSINKI),
            datetime(2027, 2, 28, 9, 0, tzinfo=HELSINKI),
        ]
    shown = _messages(response)
    assert "The reminders of 2 booked visits were re-planned for the new time zone." in shown
    assert (
        "Outside the opening hours now (1 booked visit); move or cancel them: Mon 1 Mar 2027, 18:00–20:00 (Chair 1)."
    ) in shown


def test_a_time_zone_change_with_no_booked_visits_is_saved_without_asking(client, manager, clinic_a):
    client.force_login(manager)
    url, data = _clinic_form(client, clinic_a, time_zone="America/New_York")

    response = client.post(url, data)

    assert response.status_code == 302
    clinic_a.refresh_from_db()
    assert clinic_a.time_zone == "America/New_York"


def test_a_new_reminder_hour_moves_the_pending_reminders(client, manager, clinic_a, visits):
    morning, _afternoon = visits
    client.force_login(manager)
    url, data = _clinic_form(client, clinic_a, reminder_local_time="10:30")

    response = client.post(url, data)

    assert response.status_code == 302
    assert _pending_due_times(morning) == [
        datetime(2027, 2, 22, 10, 30, tzinfo=LONDON),
        datetime(2027, 2, 28, 10, 30, tzinfo=LONDON),
    ]
    assert "The reminders of 2 booked visits were re-planned for the new reminder hour." in _messages(response)


def test_new_reminder_days_replace_the_pending_reminders(client, manager, clinic_a, visits):
    morning, _afternoon = visits
    client.force_login(manager)
    url, data = _clinic_form(client, clinic_a, reminder_days_before="3")

    response = client.post(url, data)

    assert response.status_code == 302
    assert _pending_due_times(morning) == [datetime(2027, 2, 26, 9, 0, tzinfo=LONDON)]
    cancelled = Reminder.objects.filter(appointment=morning, status=Reminder.Status.CANCELLED).count()
    assert cancelled == 2


def test_a_new_clinic_is_added_without_a_confirm_box(client, manager):
    client.force_login(manager)
    page = client.get(reverse("admin:clinic_clinic_add"))

    assert page.status_code == 200
    assert 'name="time_zone"' in page.content.decode()
    assert 'name="confirm_time_zone_change"' not in page.content.decode()
