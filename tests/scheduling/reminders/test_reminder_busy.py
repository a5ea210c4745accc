"""A send that meets its row held by someone else says "busy" and is tried again shortly.

Two real PostgreSQL connections: the test's and a thread's holding a lock, so the rows are
committed (`transaction=True`).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from scheduling import tasks
from scheduling.models import Reminder
from scheduling.reminders import dispatcher, sender
from tests.helpers import book, local, make_course

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = Reminder.Status


@pytest.fixture
def claimed(clinic_a) -> Reminder:
    """A reminder the minute scan has claimed, its send not started."""
    day = timezone.localdate(timezone=clinic_a.tz) + timedelta(days=10)
    book(make_course(clinic_a), local(clinic_a, day, 10))
    row = Reminder.objects.earliest("due_at")
    assert dispatcher.reminders_dispatch_due(now=row.due_at, limit=10, enqueue=lambda _pk: None) == 1
    return row


def held_elsewhere(statement: str, params: list):
    """Run `statement` in another connection and keep its transaction open until released."""
    held, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, params)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return release, thread


def test_a_row_locked_by_a_booking_change_is_busy_then_sent(claimed):
    release, thread = held_elsewhere("SELECT id FROM scheduling_reminder WHERE id = %s FOR UPDATE", [claimed.pk])
    try:
        assert sender.reminder_deliver(reminder_id=claimed.pk) == sender.BUSY
        claimed.refresh_from_db()
        assert (claimed.status, claimed.attempts) == (Status.SENDING, 0)
    finally:
        release.set()
        thread.join()
    assert sender.reminder_deliver(reminder_id=claimed.pk) == sender.SENT
    assert len(mail.outbox) == 1


def test_a_row_another_attempt_is_sending_is_busy_and_not_sent_twice(claimed):
    key = sender._attempt_lock_key(claimed.pk)
    release, thread = held_elsewhere("SELECT pg_advisory_xact_lock(%s)", [key])
    try:
        assert sender.reminder_deliver(reminder_id=claimed.pk) == sender.BUSY
    finally:
        release.set()
        thread.join()
    assert mail.outbox == []


def test_the_send_task_tries_a_busy_row_again_a_few_times_then_leaves_it_to_the_scan(claimed, monkeypatch):
    calls = []

    def busy(*, reminder_id):
        calls.append(reminder_id)
        return sender.BUSY

    monkeypatch.setattr(sender, "reminder_deliver", busy)
    # Run in this process: each retry runs at once instead of after its countdown.
    assert tasks.reminder_send.apply(kwargs={"reminder_id": claimed.pk}).get() == sender.BUSY
    assert calls == [claimed.pk] * (tasks.BUSY_RETRIES + 1)
