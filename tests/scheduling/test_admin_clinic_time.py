"""The admin shows appointment and reminder times on the clinic's own clock, 24-hour, as the app does."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from clinic import dates
from scheduling.models import Reminder
from tests.accounts.support import log_in_with_two_steps
from tests.helpers import book, local, make_clinic, make_course, make_staff

pytestmark = pytest.mark.django_db


def test_appointment_and_reminder_times_read_in_the_clinic_s_zone(client):
    clinic = make_clinic("Hudson Infusion Suite", time_zone="America/New_York")
    manager = make_staff("hana", "Clinic manager", clinic, is_staff=True)
    visit = book(make_course(clinic, "tysabri"), local(clinic, date(2030, 3, 4), 15, 30), minutes=120)
    reminder = Reminder.objects.filter(appointment=visit).order_by("due_at").first()
    log_in_with_two_steps(client, manager)

    appointments = client.get(reverse("admin:scheduling_appointment_changelist")).content.decode()
    one = client.get(reverse("admin:scheduling_appointment_change", args=[visit.pk])).content.decode()
    reminders = client.get(reverse("admin:scheduling_reminder_changelist")).content.decode()

    assert "Mon 4 Mar 2030, 15:30 (America/New_York)" in appointments
    assert "Mon 4 Mar 2030, 17:30 (America/New_York)" in one
    local_due = reminder.due_at.astimezone(clinic.tz)
    assert f"{dates.weekday_day(local_due)}, 09:00 (America/New_York)" in reminders
    assert " p.m." not in appointments and " a.m." not in reminders
