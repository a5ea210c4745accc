"""Reminders end to end: a real Celery worker on Redis sends to a real SMTP server (aiosmtpd).

The worker is a separate `celery -A config worker` process on the test database, so the
rows must be committed (`transaction=True`). Time moves forward by passing `now=` to the
minute scan; the worker itself runs on the real clock, so the appointments are booked a
few days ahead of today.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from clinic.models import Drug, Regimen
from scheduling import tasks
from scheduling.models import Reminder
from scheduling.reminders import dispatcher, outbox
from tests.conftest import DEMO_PASSWORD, redis_url
from tests.helpers import book, free_port, give, local, make_course

try:
    from scheduling.booking.services import booking_create
except ImportError:  # booking services not there yet: the row and its sync, as booking writes them
    booking_create = None

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROOT = Path(__file__).resolve().parents[3]
Status = Reminder.Status


# --- a real SMTP server ----------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; it can hold one DATA until released."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.hold_next = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        if self.hold_next.is_set():
            self.hold_next.clear()
            self.holding.set()
            # Never accepted: the sender is killed while it waits for this answer.
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 30) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    mailbox.release.set()
    controller.stop()


# --- a real Celery worker --------------------------------------------------------------------


class Worker:
    """`celery -A config worker` on the test database, Redis db of REDIS_URL and the given SMTP port."""

    def __init__(self, smtp_port: int):
        self.smtp_port = smtp_port
        self.process: subprocess.Popen | None = None
        self.log: list[str] = []

    def _env(self) -> dict:
        database = connection.settings_dict
        env = dict(os.environ)
        env.update(
            DEBUG="1",
            DATABASE_URL=f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}",
            REDIS_URL=redis_url(),
            EMAIL_URL=f"smtp://127.0.0.1:{self.smtp_port}",
            EMAIL_TIMEOUT="10",
            SITE_URL="https://chairside.example.org",
            CELERY_TASK_ALWAYS_EAGER="0",
        )
        return env

    def start(self) -> Worker:
        self.log = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "2"]
            + [
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"reminders-{time.time_ns()}@test",
            ],
            cwd=ROOT,
            env=self._env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        ready = threading.Event()

        def read():
            for line in self.process.stdout:
                self.log.append(line)
                if " ready." in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(60), "the Celery worker did not start:\n" + "".join(self.log)
        return self

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        """SIGKILL the whole worker: no warm shutdown, no acknowledgement, nothing written."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker(smtp_server):
    redis.Redis.from_url(redis_url()).flushdb()  # this test run's own Redis database: no stale tasks
    controller, _mailbox = smtp_server
    started = Worker(controller.port)
    yield started
    started.stop()


def wait_until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def status_of(row: Reminder) -> str:
    return Reminder.objects.values_list("status", flat=True).get(pk=row.pk)


# --- the booking -----------------------------------------------------------------------------


def next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def booked_visit(clinic, front_desk, *, days_ahead: int = 10):
    """An Ocrevus course whose first dose is booked `days_ahead` (or the next weekday) at 10:00 local."""
    day = next_weekday(timezone.localdate(timezone=clinic.tz) + timedelta(days=days_ahead))
    course = make_course(clinic, "ocrevus", start=day, first_name="Robin", email="robin@patients.example.org")
    starts_at = local(clinic, day.year, day.month, day.day, 10, 0)
    if booking_create is not None:
        return booking_create(course=course, chair=clinic.chairs.first(), starts_at=starts_at, booked_by=front_desk)
    return book(course, starts_at, minutes=330)


def scan_at(moment: datetime) -> int:
    """The minute scan as beat runs it, with the clock moved to `moment`."""
    return dispatcher.reminders_dispatch_due(now=moment, limit=100, enqueue=tasks.reminder_send_later)


# --- the tests -------------------------------------------------------------------------------


def test_a_booking_brings_exactly_its_two_emails_with_a_calendar_file(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    appointment = booked_visit(clinic_a, front_desk)
    rows = list(Reminder.objects.filter(appointment=appointment).order_by("due_at"))
    assert len(rows) == 2

    # Nothing is due yet.
    assert scan_at(timezone.now()) == 0
    # A minute after the 7-day reminder's local 09:00.
    assert scan_at(rows[0].due_at + timedelta(minutes=1)) == 1
    assert len(mailbox.wait_for(1)) == 1
    assert wait_until(lambda: status_of(rows[0]) == Status.SENT)
    # Later that week, nothing; then the 1-day reminder.
    assert scan_at(rows[0].due_at + timedelta(days=3)) == 0
    assert scan_at(rows[1].due_at + timedelta(minutes=1)) == 1
    assert len(mailbox.wait_for(2)) == 2
    assert wait_until(lambda: status_of(rows[1]) == Status.SENT)
    # After the visit, nothing more.
    assert scan_at(appointment.ends_at + timedelta(days=30)) == 0
    time.sleep(1)
    assert len(mailbox.messages) == 2

    forbidden = [name.lower() for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name)]
    forbidden += [regimen.name.lower() for regimen in Regimen.objects.all()] + [" mg", "multiple sclerosis"]
    local_start = appointment.starts_at.astimezone(clinic_a.tz)
    for message in mailbox.messages:
        assert message["To"] == "robin@patients.example.org"
        assert (
            message["Subject"]
            == f"Your appointment at {clinic_a.name}: {local_start:%A} {local_start.day} {local_start:%B %Y} at 10:00"
        )
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "10:00" in text and clinic_a.address in text and clinic_a.phone in text
        assert "https://chairside.example.org/scheduling/reminders/unsubscribe/" in text
        whole = (message["Subject"] + text + html).lower()
        assert not [word for word in forbidden if word in whole]
        ics = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
        assert len(ics) == 1
        calendar = Calendar.from_ical(ics[0].get_content())
        (event,) = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == appointment.starts_at
        assert event.decoded("dtend") == appointment.ends_at
        assert not [word for word in forbidden if word in calendar.to_ical().decode().lower()]


def test_a_worker_process_killed_mid_send_does_not_lose_the_reminder(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    row = Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).earliest("due_at")

    mailbox.hold_next.set()
    assert scan_at(row.due_at + timedelta(minutes=1)) == 1
    assert mailbox.holding.wait(30), "the worker never reached the SMTP server"
    # The pool process sending it dies before the server answered; acks_late and
    # reject_on_worker_lost hand the task to another pool process.
    for pid in worker.children():
        os.kill(pid, signal.SIGKILL)

    assert len(mailbox.wait_for(1, timeout=60)) == 1
    assert wait_until(lambda: status_of(row) == Status.SENT)
    mailbox.release.set()
    row.refresh_from_db()
    assert row.attempts == 2 and row.sent_at is not None
    time.sleep(1)
    assert len(mailbox.messages) == 1


def test_a_whole_worker_killed_mid_send_is_claimed_again_by_the_scan(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    row = Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).earliest("due_at")

    mailbox.hold_next.set()
    moment = row.due_at + timedelta(minutes=1)
    assert scan_at(moment) == 1
    assert mailbox.holding.wait(30)
    worker.kill()  # the broker keeps the unacknowledged task for its visibility timeout (an hour)
    mailbox.release.set()
    assert status_of(row) == Status.SENDING

    worker.start()
    claimed_at = Reminder.objects.get(pk=row.pk).claimed_at  # the dead worker's claim, on the real clock
    assert scan_at(claimed_at + timedelta(minutes=5)) == 0  # not yet taken for dead
    assert scan_at(claimed_at + outbox.SENDING_TIMEOUT + timedelta(minutes=1)) == 1
    assert len(mailbox.wait_for(1)) == 1
    assert wait_until(lambda: status_of(row) == Status.SENT)

    # The old task comes back from the broker at last: the row is sent, nothing goes out.
    tasks.reminder_send.delay(reminder_id=row.pk)
    tasks.reminder_send.delay(reminder_id=row.pk)
    assert not wait_until(lambda: len(mailbox.messages) > 1, timeout=5)
    assert "reminder sent" in "".join(worker.log)


def test_the_same_row_enqueued_twice_sends_one_email(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    rows = list(Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).order_by("due_at"))
    assert scan_at(rows[-1].due_at + timedelta(minutes=1)) == 2
    for row in rows:
        tasks.reminder_send.delay(reminder_id=row.pk)
        tasks.reminder_send.delay(reminder_id=row.pk)

    assert wait_until(lambda: all(status_of(row) == Status.SENT for row in rows))
    time.sleep(2)
    assert len(mailbox.messages) == 2


def test_smtp_down_means_retries_then_failed_and_shown_to_staff(clinic_a, front_desk, manager, smtp_server, client):
    worker = Worker(free_port()).start()  # nothing listens on that port
    try:
        row = Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).earliest("due_at")
        moment = row.due_at
        for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
            moment += outbox.RETRY_BACKOFF * 2**attempt
            assert scan_at(moment) == 1
            assert wait_until(lambda: status_of(row) != Status.SENDING)
            row.refresh_from_db()
            assert row.attempts == attempt
            assert "ConnectionRefusedError" in row.last_error
        assert row.status == Status.FAILED
        assert scan_at(moment + timedelta(hours=1)) == 0
    finally:
        worker.stop()

    client.login(username="max", password=DEMO_PASSWORD)
    page = client.get(reverse("scheduling:reminders_failed"))
    assert page.status_code == 200
    assert "Robin" in page.content.decode() and "ConnectionRefusedError" in page.content.decode()


def test_the_beat_tasks_plan_and_send_on_the_worker(clinic_a, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    today = timezone.localdate(timezone=clinic_a.tz)
    # A Tysabri dose given 25 days ago: the next is due in 3 days and is not booked.
    planned = make_course(clinic_a, "tysabri", start=today - timedelta(days=25))
    give(planned, today - timedelta(days=25))
    # A visit missed yesterday: the rebook reminder is due at once.
    missed = make_course(clinic_a, "tysabri", start=today - timedelta(days=1), first_name="Sam")
    yesterday = today - timedelta(days=1)
    book(missed, local(clinic_a, yesterday.year, yesterday.month, yesterday.day, 10, 0), status="no_show")

    tasks.reminders_plan.delay()
    assert wait_until(lambda: Reminder.objects.filter(course=planned, kind=Reminder.Kind.DOSE_DUE_SOON).exists())
    tasks.reminders_dispatch_due.delay()
    assert len(mailbox.wait_for(1)) >= 1
    subjects = [message["Subject"] for message in mailbox.messages]
    assert f"We missed you at {clinic_a.name}" in subjects
    assert wait_until(lambda: Reminder.objects.get(course=missed).status == Status.SENT)
