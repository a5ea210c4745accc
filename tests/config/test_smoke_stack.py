"""The production stack, for real, without Docker.

This starts the very commands the compose services run (read from docker-compose.yml, so
they cannot drift): the one-shot migration, gunicorn, the Celery worker and the one Celery
beat, with production settings (DEBUG off, a secret key, secure cookies, HSTS, WhiteNoise)
against a fresh throwaway PostgreSQL database, Redis on its own database number and an
SMTP server run by the test. There is no TLS here, so requests say they came through the
TLS proxy (X-Forwarded-Proto: https), as the proxy in front of Chairside does.

A manager logs in over HTTP and books a dose over HTTP; the clinic reminds patients on the
day before, at a time of day a few seconds ahead, so the reminder falls due during the test
and beat's scan hands it to the worker, which sends it to the SMTP server. Then every
process is stopped by its process id.

It fails without the worker or beat: the runs `without-beat` and `without-worker` prove the
reminder then stays pending and no email arrives. By hand, `SMOKE_SKIP=beat` (or `worker`)
makes the full-stack run fail the same way.

Redis: SMOKE_REDIS_URL, or REDIS_URL's server on database 15, with a queue of the run's own.
"""

from __future__ import annotations

import email
import email.policy
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse
from zoneinfo import ZoneInfo

import psycopg2
import pytest
import redis
from aiosmtpd.controller import Controller

from tests.config.support import ROOT, production_environment, stack_commands
from tests.helpers import DEMO_PASSWORD

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SCAN_EVERY_SECONDS = 2
# Seconds between creating the clinic and its reminder hour: time to start the processes,
# log in and book (a reminder whose hour has passed at booking time is never created).
REMINDER_LEAD_SECONDS = 60
# Once the stack answers, the reminder hour moves to this many seconds ahead (time to book).
REMINDER_MARGIN_SECONDS = 8
CLINIC_TIME_ZONE = "Europe/London"
PATIENT = {"first_name": "Harriet", "last_name": "Quennell", "mrn": "SMOKE-4711", "email": "hq@patients.example.org"}


# --- Services of the run ----------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Inbox:
    """aiosmtpd handler: keeps every message it is given."""

    def __init__(self):
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "data": envelope.content.decode("utf-8", "replace"),
            }
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def fresh_database():
    """A new, empty PostgreSQL database on the server of DATABASE_URL, dropped afterwards."""
    server = urlparse(os.environ["DATABASE_URL"])
    name = f"chairside_smoke_{secrets.token_hex(4)}"
    admin = psycopg2.connect(urlunparse(server._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(server._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def smoke_broker():
    """Redis on its own database number, and a queue of this run's own, removed afterwards.

    SMOKE_REDIS_URL, or REDIS_URL's server on database 15. The queue name keeps two runs on
    one machine (or stale jobs of other tests) apart without emptying anyone's database.
    """
    url = os.environ.get("SMOKE_REDIS_URL") or urlunparse(urlparse(os.environ["REDIS_URL"])._replace(path="/15"))
    queue = f"chairside-smoke-{secrets.token_hex(4)}"
    try:
        yield url, queue
    finally:
        client = redis.Redis.from_url(url)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()


# --- The processes -----------------------------------------------------------------------------


def _argv(command: list[str]) -> list[str]:
    """A compose command with its program taken from this virtualenv, as in the image."""
    program, *arguments = command
    executable = sys.executable if program == "python" else str(Path(sys.executable).with_name(program))
    return [executable, *arguments]


class Stack:
    def __init__(self, environment: dict[str, str], logs: Path):
        self.environment = environment
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}

    def run(self, name: str, command: list[str], *, timeout: float = 180) -> subprocess.CompletedProcess:
        result = subprocess.run(
            _argv(command), cwd=ROOT, env=self.environment, capture_output=True, text=True, timeout=timeout
        )
        (self.logs / f"{name}.log").write_text(result.stdout + result.stderr)
        assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
        return result

    def start(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        # Its own process group, so stopping it also proves no child is left behind.
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and the compose command
            _argv(command), cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT, process_group=0
        )
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def all_logs(self) -> str:
        return "\n".join(f"----- {path.name}\n{path.read_text()}" for path in sorted(self.logs.glob("*.log")))

    def wait_for_log(self, name: str, text: str, *, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log(name):
                return
            assert self.processes[name].poll() is None, f"{name} exited early:\n{self.log(name)}"
            time.sleep(0.2)
        pytest.fail(f"{name} did not log {text!r} within {timeout:.0f}s:\n{self.log(name)}")

    def stop(self) -> dict[str, int]:
        """SIGTERM each process by its id, wait for a clean exit; SIGKILL its group only if it hangs."""
        for process in self.processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = process.wait(timeout=10)
                codes[name] = f"killed after hanging ({codes[name]})"
        return codes

    def leftover_groups(self) -> list[str]:
        """Process groups of the stack that still have a member (a child left running)."""
        left = []
        for name, process in self.processes.items():
            try:
                os.killpg(process.pid, 0)
                left.append(name)
            except ProcessLookupError:
                pass
        return left


# --- A browser that keeps secure cookies behind the TLS proxy ----------------------------------


class Browser:
    """HTTP as it reaches gunicorn from the TLS proxy: X-Forwarded-Proto https, secure cookies kept."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https", "User-Agent": "chairside-smoke"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers |= {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": self.origin,
                "Referer": f"{self.origin}{path}",
            }
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(header)
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        connection.close()
        return response.status, dict(response.headers.items()), text

    def get(self, path: str) -> tuple[int, dict, str]:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> tuple[int, dict, str]:
        return self.request("POST", path, form)

    def csrf_token(self, html: str) -> str:
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert match, "the page has no CSRF token"
        return match[1]


# --- Demo data, created the way an administrator would: manage.py shell -----------------------

_SEED = """
import json
from datetime import date, datetime, time, timedelta
from django.contrib.auth.models import Group, User
from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours, Regimen, StaffProfile
from clinic.roles import MANAGER
from patients.models import Patient, TreatmentCourse

seed = json.loads({seed!r})
remind_at = datetime.fromisoformat(seed["remind_at"])
clinic = Clinic.objects.create(
    name="Smoke Test Infusion Centre", time_zone=seed["time_zone"], address="1 Test Street",
    phone="020 7946 0999", email="clinic@example.org",
    reminder_days_before="1", reminder_local_time=remind_at.time(),
    # This run is about booking and the reminder pipeline; two-step sign-in has its own tests.
    require_mfa_for_managers=False,
)
for weekday in range(7):
    OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(7, 0), closes=time(19, 0))
    NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=2)
chairs = [Chair.objects.create(clinic=clinic, name=f"Chair {{n}}", position=n) for n in (1, 2)]
manager = User.objects.create_user(
    username="smoke-manager", password=seed["password"], first_name="Max", is_staff=True
)
manager.groups.add(Group.objects.get(name=MANAGER))
StaffProfile.objects.create(user=manager).clinics.set([clinic])
patient = Patient.objects.create(
    clinic=clinic, mrn=seed["patient"]["mrn"], first_name=seed["patient"]["first_name"],
    last_name=seed["patient"]["last_name"], date_of_birth=date(1980, 5, 17),
    email=seed["patient"]["email"], reminder_consent=True,
)
visit_day = remind_at.date() + timedelta(days=1)
course = TreatmentCourse.objects.create(
    patient=patient, regimen=Regimen.objects.get(code="ocrevus"), start_date=visit_day, created_by=manager
)
print(json.dumps({{
    "clinic": clinic.pk, "chair": chairs[0].pk, "patient": patient.pk, "course": course.pk,
    "manager": manager.pk, "visit_day": visit_day.isoformat(),
}}))
"""


def seed_demo_data(stack: Stack, *, remind_at: datetime) -> dict:
    seed = {
        "remind_at": remind_at.isoformat(),
        "time_zone": CLINIC_TIME_ZONE,
        "password": DEMO_PASSWORD,
        "patient": PATIENT,
    }
    result = stack.run("seed", ["python", "manage.py", "shell", "-c", _SEED.format(seed=json.dumps(seed))])
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Steps -------------------------------------------------------------------------------------


def bring_reminder_hour_forward(database_url: str, data: dict, remind_at: datetime) -> None:
    """Move the clinic's reminder hour to a few seconds from now, on the same local day.

    The hour set when the clinic was created leaves room for slow start-ups; once the stack
    answers, waiting for it is wasted time.
    """
    sooner = (datetime.now(UTC) + timedelta(seconds=REMINDER_MARGIN_SECONDS)).astimezone(remind_at.tzinfo)
    if sooner.date() == remind_at.date() and sooner < remind_at:
        with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
            cursor.execute(
                "UPDATE clinic_clinic SET reminder_local_time = %s WHERE id = %s", [sooner.time(), data["clinic"]]
            )
        connection.close()


def log_in(browser: Browser) -> None:
    status, headers, html = browser.get("/accounts/login/?next=/")
    assert status == 200, html
    status, headers, html = browser.post(
        "/accounts/login/?next=/",
        {"username": "smoke-manager", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": browser.csrf_token(html)},
    )
    assert status == 302, f"login refused ({status}):\n{html}"
    assert headers["Location"] == "/"
    session_cookie = next(header for header in browser.set_cookie_headers if header.startswith("sessionid="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
    status, _, html = browser.get("/")
    assert status == 200


def book_over_http(browser: Browser, data: dict) -> None:
    """As the front desk does: the course's suggestions for the visit day, the earliest one, confirm, book."""
    day = data["visit_day"]
    status, _, html = browser.get(f"/scheduling/book/{data['course']}/?start={day}&end={day}")
    assert status == 200, f"the booking page answered {status}:\n{html}"
    earliest = re.search(r'data-suggestion="earliest".*?href="([^"]+)"', html, re.DOTALL)
    assert earliest, f"no slot suggested on {day}:\n{html}"
    confirm_url = unescape(earliest[1])
    status, _, html = browser.get(confirm_url)
    assert status == 200, f"the confirm page answered {status}:\n{html}"
    form = {
        name: unescape(value) for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html)
    }
    assert {"csrfmiddlewaretoken", "chair", "starts_at"} <= form.keys(), form
    if 'name="series" value="on"' in html:
        form["series"] = "on"  # Ocrevus starts with two half doses; the front desk books both
    status, headers, html = browser.post(urlparse(confirm_url).path, form)
    assert status == 302, f"the booking was refused ({status}):\n{html}"
    assert headers["Location"].startswith("/scheduling/week/")


def database_rows(database_url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    connection.close()
    return rows


def reminder_rows(database_url: str) -> list[tuple]:
    return database_rows(
        database_url,
        "SELECT id, status, due_at FROM scheduling_reminder WHERE kind = 'appointment_upcoming' ORDER BY due_at",
    )


def reminder_status(database_url: str, reminder_id: int) -> str:
    return database_rows(database_url, "SELECT status FROM scheduling_reminder WHERE id = %s", (reminder_id,))[0][0]


def wait_for_email(inbox: _Inbox, *, until: datetime, count: int = 1) -> list[dict]:
    while datetime.now(UTC) < until and len(inbox.messages) < count:
        time.sleep(0.5)
    return list(inbox.messages)


@pytest.mark.parametrize("skipped", [None, "beat", "worker"], ids=["full-stack", "without-beat", "without-worker"])
def test_the_compose_commands_serve_a_booking_and_send_its_reminder(
    skipped, tmp_path, fresh_database, smoke_broker, smtp_server
):
    # By hand, SMOKE_SKIP=beat (or worker) leaves that process out of the full-stack run, which
    # must then fail: no reminder email arrives.
    missing = skipped or os.environ.get("SMOKE_SKIP") or None
    controller, inbox = smtp_server
    redis_url, queue = smoke_broker
    port = _free_port()
    environment = production_environment(
        tmp_path,
        DATABASE_URL=fresh_database,
        REDIS_URL=redis_url,
        CELERY_QUEUE=queue,
        EMAIL_URL=f"smtp://127.0.0.1:{controller.port}",
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{port}",
        SITE_URL=f"https://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        CELERY_WORKER_CONCURRENCY="2",
        REMINDERS_DISPATCH_EVERY_SECONDS=str(SCAN_EVERY_SECONDS),
        STATIC_ROOT=str(tmp_path / "static"),
        FORWARDED_ALLOW_IPS="127.0.0.1",
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack(environment, logs)
    commands = stack_commands()

    # The image's build step, then the one-shot migrate service.
    stack.run("collectstatic", ["python", "manage.py", "collectstatic", "--noinput"])
    stack.run("migrate", commands["migrate"])
    remind_at = (datetime.now(UTC) + timedelta(seconds=REMINDER_LEAD_SECONDS)).astimezone(ZoneInfo(CLINIC_TIME_ZONE))
    data = seed_demo_data(stack, remind_at=remind_at)

    try:
        for name in ("web", "worker", "beat"):
            if name != missing:
                stack.start(name, commands[name])
        browser = Browser(port)
        stack.wait_for_log("web", "Booting worker")
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _, body = browser.get("/health/")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"web never became healthy:\n{stack.log('web')}"
            time.sleep(0.3)
        assert json.loads(body) == {"status": "ok", "database": "ok", "broker": "ok"}
        if missing != "worker":
            stack.wait_for_log("worker", " ready.")

        log_in(browser)
        bring_reminder_hour_forward(fresh_database, data, remind_at)
        book_over_http(browser, data)

        appointments = database_rows(fresh_database, "SELECT id FROM scheduling_appointment WHERE status = 'booked'")
        reminders = reminder_rows(fresh_database)
        assert len(appointments) >= 1
        assert len(reminders) == len(appointments), f"one reminder per appointment, found {reminders}"
        assert all(status == "pending" for _, status, _ in reminders)
        reminder_id, _, due_at = reminders[0]
        assert due_at > datetime.now(UTC), "the reminder hour passed before the booking; raise REMINDER_LEAD_SECONDS"

        if skipped:
            messages = wait_for_email(inbox, until=due_at + timedelta(seconds=6 * SCAN_EVERY_SECONDS + 8))
            assert messages == [], f"an email arrived without {skipped}"
            assert reminder_status(fresh_database, reminder_id) == "pending", f"without {skipped} nothing may claim it"
            # The same reminder goes out as soon as the missing process starts: nothing else was wrong.
            stack.start(skipped, commands[skipped])
        # The booking's confirmation, due at once, and the visit's reminder at its hour.
        messages = wait_for_email(inbox, until=max(datetime.now(UTC), due_at) + timedelta(seconds=60), count=2)
        assert len(messages) == 2, f"no confirmation and reminder email arrived\n{stack.all_logs()}"
        subjects = [
            str(email.message_from_string(message["data"], policy=email.policy.default)["Subject"])
            for message in messages
        ]
        assert sum(subject.startswith("Booked: your") for subject in subjects) == 1, subjects
        for message in messages:
            assert message["to"] == [PATIENT["email"]]
            assert "Smoke Test Infusion Centre" in message["data"]
            assert "Ocrevus" not in message["data"], "a reminder email never names the drug"
        time.sleep(3 * SCAN_EVERY_SECONDS)  # later scans must not send them again
        assert len(inbox.messages) == 2
        assert reminder_status(fresh_database, reminder_id) == "sent"
        assert all(status == "pending" for _, status, _ in reminder_rows(fresh_database)[1:]), "later visits wait"
    finally:
        exit_codes = stack.stop()

    assert all(code == 0 for code in exit_codes.values()), f"{exit_codes}\n{stack.all_logs()}"
    assert stack.leftover_groups() == [], "a process of the stack outlived its parent"

    # The logs: one key=value line per event, the path without its query string, no patient data.
    web_log = stack.log("web")
    assert 'path=\\"/accounts/login/\\" status=200' in web_log
    assert "next=" not in web_log
    for line in web_log.splitlines():
        assert line.startswith("time="), line
    every_log = stack.all_logs()
    for secret in (PATIENT["last_name"], PATIENT["mrn"], PATIENT["email"], DEMO_PASSWORD):
        assert secret not in every_log, f"{secret!r} reached a log"
