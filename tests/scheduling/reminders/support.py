"""What the reminder pipeline and fault tests share: real SMTP servers, a real Celery worker, bookings.

The worker is a separate `celery -A config worker` process on the test database, so the
rows must be committed (`transaction=True`). Time moves forward by passing `now=` to the
minute scan; the worker itself runs on the real clock, so the appointments are booked a
few days ahead of today.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
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
from django.utils import timezone

from scheduling import tasks
from scheduling.booking.services import booking_create
from scheduling.models import Reminder
from scheduling.reminders import dispatcher
from tests.conftest import redis_url
from tests.helpers import free_port, local, make_course

ROOT = Path(__file__).resolve().parents[3]
Status = Reminder.Status


# --- SMTP servers ------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; it can hold one DATA until released.

    A held message is refused (451) when released, or accepted with `accept_held`.
    """

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.hold_next = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.accept_held = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.hold_next.is_set():
            self.hold_next.clear()
            self.holding.set()
            # The sender waits for this answer; a test kills it, flushes its queue, or cancels meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
            if not self.accept_held:
                return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 30) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages

    def reminder_ids(self) -> list[int]:
        """The reminder row of each message received, in order (the X-Chairside-Reminder header)."""
        return [int(message["X-Chairside-Reminder"]) for message in self.messages]


class HungSMTPServer:
    """A TCP server that accepts connections and never says a word: the SMTP greeting never comes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.connected = threading.Event()
        self._stopped = False

    def start(self) -> HungSMTPServer:
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _address = self.sock.accept()
            except OSError:
                return
            self.accepted.append(client)  # held open, never answered
            self.connected.set()

    def stop(self) -> None:
        self._stopped = True
        for client in self.accepted:
            client.close()
        self.sock.close()


# --- A real Celery worker ----------------------------------------------------------------------


class Worker:
    """`celery -A config worker` on the test database, the Redis db of REDIS_URL and the given SMTP port."""

    def __init__(self, smtp_port: int, *, queues: list[str] | None = None, **environment: str):
        self.smtp_port = smtp_port
        self.queues = queues
        self.environment = environment
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
            SITE_URL="https://chairside.example.org",
            CELERY_TASK_ALWAYS_EAGER="0",
        )
        env.pop("EMAIL_TIMEOUT", None)  # the setting's own default, as in production
        env.update(self.environment)
        return env

    def start(self) -> Worker:
        self.log = []
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "2"]
        command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        command += ["--hostname", f"reminders-{time.time_ns()}@test"]
        if self.queues:
            command += ["-Q", ",".join(self.queues)]
        self.process = subprocess.Popen(
            command,
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

    def text(self) -> str:
        return "".join(self.log)


# --- Waiting and looking -----------------------------------------------------------------------


def wait_until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def status_of(row: Reminder) -> str:
    return Reminder.objects.values_list("status", flat=True).get(pk=row.pk)


# --- Bookings and the scan ---------------------------------------------------------------------


def next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def visit_day(clinic, *, days_ahead: int = 10) -> date:
    return next_weekday(timezone.localdate(timezone=clinic.tz) + timedelta(days=days_ahead))


def booked_visit(clinic, front_desk, *, days_ahead: int = 10, hour: int = 10, chair=None, first_name: str = "Robin"):
    """An Ocrevus course whose first dose is booked `days_ahead` (or the next weekday) at `hour`:00 local."""
    day = visit_day(clinic, days_ahead=days_ahead)
    course = make_course(
        clinic, "ocrevus", start=day, first_name=first_name, email=f"{first_name.lower()}@patients.example.org"
    )
    return booking_create(
        course=course,
        chair=chair or clinic.chairs.order_by("position").first(),
        starts_at=local(clinic, day.year, day.month, day.day, hour, 0),
        booked_by=front_desk,
    )


def scan_at(moment: datetime, *, limit: int = 100) -> int:
    """The minute scan as beat runs it, with the clock moved to `moment`."""
    return dispatcher.reminders_dispatch_due(now=moment, limit=limit, enqueue=tasks.reminder_send_later)


# --- Fixtures (imported by the conftest of each folder that uses them) -------------------------


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port, and the mailbox of what it accepted."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    mailbox.release.set()
    controller.stop()


@pytest.fixture
def worker(smtp_server):
    """A worker on the SMTP server above, not started yet; Redis emptied of stale tasks first."""
    redis.Redis.from_url(redis_url()).flushdb()  # this test run's own Redis database
    controller, _mailbox = smtp_server
    started = Worker(controller.port)
    yield started
    started.stop()
