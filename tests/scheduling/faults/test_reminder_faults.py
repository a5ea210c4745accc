"""Reminders on a bad day: hung and refusing mail servers, killed workers, a flushed queue, two beats.

Each test runs the real parts: a `celery -A config worker` process on Redis, PostgreSQL, and
an SMTP server (aiosmtpd, or a socket that accepts and never answers). Each checks the
promises that must survive the fault: no reminder lost, nothing sent after a cancellation
was saved, no second copy beyond the windows the README names, and no person at the desk
kept waiting by a mail server.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from django.utils import timezone

from scheduling import tasks
from scheduling.booking.services import booking_cancel, booking_create, booking_reschedule
from scheduling.models import Reminder
from scheduling.reminders import dispatcher, outbox, planner
from tests.conftest import redis_url
from tests.helpers import book, free_port, give, local, make_course
from tests.scheduling.reminders.support import (
    HungSMTPServer,
    Mailbox,
    Worker,
    booked_visit,
    next_weekday,
    scan_at,
    status_of,
    visit_day,
    wait_until,
)

pytestmark = [
    pytest.mark.fault,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

Status = Reminder.Status

# What a person at the desk may wait for a booking change, whatever the mail server does.
ANSWER_WITHIN_SECONDS = 2


@pytest.fixture
def empty_queue():
    """This test run's own Redis database, without stale tasks."""
    redis.Redis.from_url(redis_url()).flushdb()


@pytest.fixture
def hung_smtp(empty_queue):
    server = HungSMTPServer().start()
    yield server
    server.stop()


def timed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def in_threads(*actions, stagger: float = 0) -> list[tuple[float, BaseException | None]]:
    """Run the actions each in its own thread and database connection: (seconds taken, error) of each.

    They start together, or `stagger` seconds apart in the order given.
    """
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            time.sleep(index * stagger)
            started = time.monotonic()
            try:
                action()
            except BaseException as error:  # reported to the test below
                results[index] = (time.monotonic() - started, error)
            else:
                results[index] = (time.monotonic() - started, None)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, action)) for index, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def attempt_finished(row: Reminder) -> bool:
    return Reminder.objects.filter(pk=row.pk, send_started_at__isnull=True).exclude(status=Status.SENDING).exists()


# --- (a) A hung mail server never holds up the front desk ------------------------------------


def _upcoming_reminder_after_its_confirmation(appointment) -> Reminder:
    """The visit's first "coming up" reminder, with the booking's confirmation already gone out."""
    Reminder.objects.filter(appointment=appointment, kind=Reminder.Kind.BOOKING_CONFIRMED).update(
        status=Status.SENT, sent_at=timezone.now()
    )
    return Reminder.objects.filter(appointment=appointment, kind=Reminder.Kind.APPOINTMENT_UPCOMING).earliest("due_at")


def test_a_cancel_answers_at_once_while_its_reminder_hangs_on_the_mail_server(clinic_a, front_desk, hung_smtp):
    worker = Worker(hung_smtp.port).start()
    try:
        appointment = booked_visit(clinic_a, front_desk)
        row = _upcoming_reminder_after_its_confirmation(appointment)
        assert scan_at(row.due_at + timedelta(minutes=1)) == 1
        assert hung_smtp.connected.wait(30), "the worker never reached the mail server"
        assert status_of(row) == Status.SENDING

        elapsed = timed(lambda: booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell."))
        print(f"cancel answered in {elapsed:.3f} s while a send hung on the mail server")

        assert elapsed < ANSWER_WITHIN_SECONDS, f"the cancel waited {elapsed:.1f} s for the mail server"
        # The send gives up when no greeting comes (EMAIL_TIMEOUT) and finds the row cancelled.
        assert wait_until(lambda: attempt_finished(row), timeout=30), worker.text()
        row.refresh_from_db()
        assert (row.status, row.sent_at, row.last_error) == (Status.CANCELLED, None, "The appointment was cancelled.")
        # Only the notice of the cancellation is still to go.
        left = Reminder.objects.filter(appointment=appointment).exclude(status__in=(Status.CANCELLED, Status.SENT))
        assert list(left.values_list("kind", flat=True)) == [Reminder.Kind.APPOINTMENT_CANCELLED]
        assert "reminder cancelled while sending" in worker.text()
    finally:
        worker.stop()


def test_a_move_and_a_booking_that_day_answer_at_once_while_a_reminder_hangs(clinic_a, front_desk, hung_smtp):
    worker = Worker(hung_smtp.port).start()
    try:
        appointment = booked_visit(clinic_a, front_desk)
        row = _upcoming_reminder_after_its_confirmation(appointment)
        chairs = list(clinic_a.chairs.order_by("position"))
        new_day = next_weekday(appointment.starts_at.astimezone(clinic_a.tz).date() + timedelta(days=1))
        other = make_course(clinic_a, "ocrevus", start=new_day, first_name="Sam", email="sam@patients.example.org")
        assert scan_at(row.due_at + timedelta(minutes=1)) == 1
        assert hung_smtp.connected.wait(30), "the worker never reached the mail server"

        # The move holds the new day's booking lock while it cancels the old reminders; the
        # other booking, a moment later, needs that same lock.
        results = in_threads(
            lambda: booking_reschedule(
                appointment=appointment, chair=chairs[0], starts_at=local(clinic_a, new_day, 10), by=front_desk
            ),
            lambda: booking_create(
                course=other, chair=chairs[1], starts_at=local(clinic_a, new_day, 8), booked_by=front_desk
            ),
            stagger=0.5,
        )
        print("move and booking answered in " + ", ".join(f"{elapsed:.3f} s" for elapsed, _ in results))

        for (elapsed, error), what in zip(results, ("move", "booking"), strict=True):
            assert error is None, f"the {what} failed: {error!r}"
            assert elapsed < ANSWER_WITHIN_SECONDS, f"the {what} waited {elapsed:.1f} s for the mail server"
        assert wait_until(lambda: attempt_finished(row), timeout=30), worker.text()
        row.refresh_from_db()
        assert (row.status, row.sent_at, row.last_error) == (Status.CANCELLED, None, "The appointment was moved.")
        # Nothing lost: the new time and the new booking have their reminders waiting.
        appointment.refresh_from_db()
        waiting = Reminder.objects.filter(status=Status.PENDING)
        assert sorted(waiting.filter(appointment=appointment).values_list("kind", flat=True)) == [
            Reminder.Kind.APPOINTMENT_MOVED,
            Reminder.Kind.APPOINTMENT_UPCOMING,
            Reminder.Kind.APPOINTMENT_UPCOMING,
        ]
        assert sorted(waiting.filter(course=other).values_list("kind", flat=True)) == [
            Reminder.Kind.APPOINTMENT_UPCOMING,
            Reminder.Kind.APPOINTMENT_UPCOMING,
            Reminder.Kind.BOOKING_CONFIRMED,
        ]
    finally:
        worker.stop()


# --- (b) An outage longer than the old five attempts heals by itself -------------------------


def test_a_mail_server_refusing_for_45_minutes_still_gets_the_reminder_once_it_answers(
    clinic_a, front_desk, empty_queue
):
    port = free_port()  # nothing listens there yet: every connection is refused
    worker = Worker(port).start()
    controller = None
    try:
        appointment = booked_visit(clinic_a, front_desk)
        row = Reminder.objects.filter(appointment=appointment).earliest("due_at")
        Reminder.objects.filter(pk=row.pk).update(due_at=timezone.now())  # due now, on the worker's clock too
        row.refresh_from_db()

        # Attempts at 0, 1, 3, 7, 15, 30 and 45 minutes (the scan's clock moved on; the backoff
        # counts from each failure the worker recorded): two more than the five there used to be.
        moment = row.due_at
        for attempt in range(1, 8):
            assert scan_at(moment) == 1
            assert wait_until(lambda: status_of(row) != Status.SENDING), worker.text()
            row.refresh_from_db()
            assert (row.status, row.attempts) == (Status.PENDING, attempt), row.last_error
            assert row.last_error.startswith(("ConnectionRefusedError", "SMTPServerDisconnected"))
            wait = outbox.retry_wait(row.attempts)
            assert scan_at(row.claimed_at + wait - timedelta(seconds=5)) == 0  # still waiting
            moment = row.claimed_at + wait + timedelta(seconds=1)
        assert outbox.retry_wait(row.attempts) == timedelta(minutes=15)

        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        assert scan_at(moment) == 1
        assert len(mailbox.wait_for(1)) == 1
        assert wait_until(lambda: status_of(row) == Status.SENT)
        row.refresh_from_db()
        assert (row.attempts, row.last_error) == (8, "")
        time.sleep(1)
        assert mailbox.reminder_ids() == [row.pk]
    finally:
        worker.stop()
        if controller:
            controller.stop()


# --- (c) A worker killed mid-send ------------------------------------------------------------


def test_a_worker_process_killed_mid_send_does_not_lose_the_reminder(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    row = Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).earliest("due_at")

    mailbox.hold_next.set()
    assert scan_at(row.due_at + timedelta(minutes=1)) == 1
    assert mailbox.holding.wait(30), "the worker never reached the SMTP server"
    # The pool process sending it dies before the server answered. Its database connection
    # goes with it, and the attempt lock with that; acks_late and reject_on_worker_lost hand
    # the task to another pool process, which sees the attempt died and sends.
    for pid in worker.children():
        os.kill(pid, signal.SIGKILL)

    assert len(mailbox.wait_for(1, timeout=60)) == 1
    assert wait_until(lambda: status_of(row) == Status.SENT)
    mailbox.release.set()
    row.refresh_from_db()
    assert (row.attempts, row.lost_attempts, row.send_started_at) == (2, 0, None) and row.sent_at is not None
    time.sleep(1)
    assert mailbox.reminder_ids() == [row.pk]


def test_a_whole_worker_killed_mid_send_is_claimed_again_by_the_scan(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    row = Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).earliest("due_at")

    mailbox.hold_next.set()
    assert scan_at(row.due_at + timedelta(minutes=1)) == 1
    assert mailbox.holding.wait(30)
    worker.kill()  # the broker keeps the unacknowledged task for its visibility timeout (35 minutes)
    mailbox.release.set()
    assert status_of(row) == Status.SENDING

    worker.start()
    claimed_at = Reminder.objects.get(pk=row.pk).claimed_at  # the dead worker's claim, on the real clock
    assert scan_at(claimed_at + timedelta(minutes=2)) == 0  # not yet taken for dead
    assert scan_at(claimed_at + outbox.SENDING_TIMEOUT + timedelta(seconds=30)) == 1
    assert len(mailbox.wait_for(1)) == 1
    assert wait_until(lambda: status_of(row) == Status.SENT)
    row.refresh_from_db()
    assert (row.attempts, row.lost_attempts) == (2, 0)

    # The old task comes back from the broker at last: the row is sent, nothing goes out.
    tasks.reminder_send.delay(reminder_id=row.pk)
    tasks.reminder_send.delay(reminder_id=row.pk)
    assert not wait_until(lambda: len(mailbox.messages) > 1, timeout=5)
    assert mailbox.reminder_ids() == [row.pk]


# --- A busy row is retried shortly, not taken for a dead worker ------------------------------


def test_a_row_held_by_a_booking_change_is_sent_seconds_later(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    row = Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).earliest("due_at")
    assert scan_at(row.due_at + timedelta(minutes=1)) == 1
    held, release = threading.Event(), threading.Event()

    def booking_change_in_progress():
        try:
            with transaction.atomic():
                list(Reminder.objects.select_for_update().filter(pk=row.pk))
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=booking_change_in_progress)
    holder.start()
    assert held.wait(10)
    started = time.monotonic()
    tasks.reminder_send.delay(reminder_id=row.pk)  # the scan's own task may have gone first; either finds it held
    assert wait_until(lambda: "Retry in 5s" in worker.text(), timeout=20), worker.text()
    release.set()
    holder.join(10)

    assert len(mailbox.wait_for(1, timeout=30)) == 1
    assert wait_until(lambda: status_of(row) == Status.SENT)
    assert time.monotonic() - started < 30  # seconds, not the scan's re-claim minutes later
    time.sleep(2)
    assert mailbox.reminder_ids() == [row.pk]


def test_a_second_delivery_during_a_send_waits_for_it_and_sends_nothing(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    mailbox.accept_held = True
    worker.start()
    row = Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).earliest("due_at")

    mailbox.hold_next.set()
    assert scan_at(row.due_at + timedelta(minutes=1)) == 1
    assert mailbox.holding.wait(30)
    tasks.reminder_send.delay(reminder_id=row.pk)  # a redelivery, or a re-claim, while the first is sending
    assert wait_until(lambda: "Retry in 5s" in worker.text(), timeout=20), worker.text()
    mailbox.release.set()

    assert wait_until(lambda: status_of(row) == Status.SENT)
    time.sleep(7)  # the second delivery comes back and finds the row sent
    assert mailbox.reminder_ids() == [row.pk]
    row.refresh_from_db()
    assert row.attempts == 1


# --- (d) The queue flushed mid-flight ---------------------------------------------------------


def test_a_flushed_queue_loses_no_reminder_the_scan_claims_them_again(clinic_a, smtp_server, worker):
    _controller, mailbox = smtp_server
    mailbox.accept_held = True
    worker.start()
    day = visit_day(clinic_a)
    for number in range(4):
        book(make_course(clinic_a, first_name=f"Patient{number}"), local(clinic_a, day, 8 + 2 * number))
    rows = list(Reminder.objects.filter(kind=Reminder.Kind.APPOINTMENT_UPCOMING).order_by("due_at", "pk"))[:4]
    first_due = rows[0].due_at
    assert {row.due_at for row in rows} == {first_due}  # the four 7-day reminders, due together

    mailbox.hold_next.set()
    assert scan_at(first_due + timedelta(minutes=1)) == 4
    assert mailbox.holding.wait(30)
    redis.Redis.from_url(redis_url()).flushdb()  # every queued and unacknowledged task is gone
    mailbox.release.set()  # the send in flight completes

    # Whatever was still queued stays 'sending' with no task; the scan claims it again.
    assert wait_until(lambda: not Reminder.objects.filter(send_started_at__isnull=False).exists())
    time.sleep(1)
    lost = Reminder.objects.filter(status=Status.SENDING)
    latest_claim = max([row.claimed_at for row in lost] or [timezone.now()])
    assert scan_at(latest_claim + outbox.SENDING_TIMEOUT + timedelta(minutes=1)) == lost.count()
    assert wait_until(lambda: all(status_of(row) == Status.SENT for row in rows), timeout=30), worker.text()
    time.sleep(1)
    assert sorted(mailbox.reminder_ids()) == sorted(row.pk for row in rows)


# --- (e) Two beats: two scans at once -------------------------------------------------------


def test_two_scans_at_once_claim_each_row_once_and_send_it_once(clinic_a, smtp_server, worker):
    _controller, mailbox = smtp_server
    day = visit_day(clinic_a, days_ahead=12)
    for number in range(10):
        book(
            make_course(clinic_a, first_name=f"Patient{number}"),
            local(clinic_a, day + timedelta(days=number // 3), 8 + 3 * (number % 3)),
        )
    due = list(Reminder.objects.filter(status=Status.PENDING).values_list("pk", flat=True))
    assert len(due) == 20
    moment = Reminder.objects.latest("due_at").due_at + timedelta(minutes=1)
    claims: tuple[list[int], list[int]] = ([], [])

    def scan(claimed: list[int]):
        def enqueue(reminder_id: int) -> None:
            claimed.append(reminder_id)
            tasks.reminder_send_later(reminder_id)

        while dispatcher.reminders_dispatch_due(now=moment, limit=3, enqueue=enqueue):
            pass

    results = in_threads(lambda: scan(claims[0]), lambda: scan(claims[1]))
    assert [error for _, error in results] == [None, None]

    assert not set(claims[0]) & set(claims[1]), "a row was claimed by both scans"
    assert sorted(claims[0] + claims[1]) == sorted(due)
    worker.start()  # after the scans: a send in progress would look stuck to a scan this far ahead
    assert len(mailbox.wait_for(20)) == 20
    assert wait_until(lambda: Reminder.objects.filter(status=Status.SENT).count() == 20)
    time.sleep(1)
    assert sorted(mailbox.reminder_ids()) == sorted(due)


def test_two_planner_runs_at_once_create_each_reminder_once(clinic_a):
    today = timezone.localdate(timezone=clinic_a.tz)
    courses = []
    for number in range(6):
        course = make_course(clinic_a, "tysabri", start=today - timedelta(days=25), first_name=f"Patient{number}")
        give(course, today - timedelta(days=25))
        courses.append(course)
    now = timezone.now()

    results = in_threads(lambda: planner.reminders_plan(now=now), lambda: planner.reminders_plan(now=now))
    assert [error for _, error in results] == [None, None]
    rows = Reminder.objects.filter(kind=Reminder.Kind.DOSE_DUE_SOON)
    assert sorted(rows.values_list("course_id", flat=True)) == sorted(course.pk for course in courses)
