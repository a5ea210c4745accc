"""Failure spikes: the alert line the minute scan logs once per clinic per hour."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from scheduling.models import Reminder
from scheduling.reminders import alerts
from tests.helpers import book, local, make_course

Status = Reminder.Status


@pytest.fixture
def traveller():
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False) as machine:
        yield machine


def failing(clinic, count: int, *, status=Status.PENDING) -> None:
    """`count` reminders of the clinic whose last attempt failed just now."""
    for number in range(count):
        book(make_course(clinic), local(clinic, 2027, 3, 17 + number, 10, 30))
    rows = Reminder.objects.filter(clinic=clinic, status=Status.PENDING, attempts=0).order_by("pk")[:count]
    for row in rows:
        row.status, row.attempts, row.last_error = status, 3, "ConnectionRefusedError: [Errno 111]"
        row.save(update_fields=["status", "attempts", "last_error", "updated_at"])


def alert_lines(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "scheduling.reminders.alerts" and record.levelno == logging.ERROR
    ]


@pytest.mark.django_db
def test_a_clinic_whose_reminders_keep_failing_is_alerted_once_an_hour(clinic_a, clinic_b, traveller, caplog):
    failing(clinic_a, 4)
    failing(clinic_a, 2, status=Status.FAILED)
    failing(clinic_b, alerts.ALERT_AT_FAILED - 1)
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)

    assert alerts.reminders_alert_failing(now=now) == 1
    assert alerts.reminders_alert_failing(now=now + timedelta(minutes=1)) == 0  # the next scans, same hour
    assert alerts.reminders_alert_failing(now=now + timedelta(minutes=59)) == 0
    assert alert_lines(caplog) == [f"reminders failing clinic={clinic_a.pk} failed_last_hour=6"]

    traveller.move_to(now + timedelta(minutes=61))
    failing(clinic_a, alerts.ALERT_AT_FAILED)  # still failing in the next hour
    assert alerts.reminders_alert_failing(now=now + timedelta(minutes=61)) == 1
    assert (
        alert_lines(caplog)[-1] == f"reminders failing clinic={clinic_a.pk} failed_last_hour={alerts.ALERT_AT_FAILED}"
    )


@pytest.mark.django_db
def test_failures_older_than_an_hour_and_reminders_sent_since_raise_no_alert(clinic_a, traveller, caplog):
    failing(clinic_a, alerts.ALERT_AT_FAILED)
    traveller.move_to(datetime(2027, 3, 1, 13, 1, tzinfo=UTC))
    assert alerts.reminders_alert_failing(now=datetime(2027, 3, 1, 13, 1, tzinfo=UTC)) == 0
    assert alert_lines(caplog) == []
