"""Benchmark the front desk under load: concurrent sessions booking, series-booking, cancelling and moving.

    bench/frontdesk                      # or: python -m bench.frontdesk
    BENCH_SECONDS=60 BENCH_SESSIONS=8 bench/frontdesk

Creates `chairside_bench_frontdesk_<pid>` on the PostgreSQL server of DATABASE_URL, migrates
it and seeds one clinic (16 chairs, open every day, four nurses on weekdays and two at the
weekend) with 1,500 patients on Tysabri, Tyruko, Ocrevus, Briumvi and Lemtrada, then starts
gunicorn with the web service's command from docker-compose.yml and production settings
(DEBUG off, secure cookies behind the TLS proxy, WhiteNoise over collected static files).
Redis (REDIS_URL, default redis://127.0.0.1:6379/0) is only configured: the pages measured
never queue a task.

`BENCH_SESSIONS` front-desk members of staff (8 by default) each log in through the login
page, then for `BENCH_SECONDS` (60) book a dose from the suggestions, book a whole series
(Ocrevus, Briumvi, Lemtrada), cancel or move a booked visit, through the real pages with
their CSRF tokens and without pausing. Sessions share the booked visits, so two of them can
cancel and move the same visit at once, and pick among the first suggestions, so they race
for the same slots.

It prints the attempts and outcomes of each action, the throughput, the p50/p95/p99 latency
of the requests and the number of 5xx answers, then checks the database: no two active
appointments overlap in a chair or for a patient, and at no moment are more patients in
chairs, or more infusions started in a 15-minute slot, than the nurses on duty allow.
Exits 1 on any 5xx or unexpected answer, any breach, or a p99 of 1 s or more over the
requests after logging in (the log-in is timed apart: its password hash is slow by design).
"""

from __future__ import annotations

import http.client
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse

from bench import migrated_django, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
SESSIONS = int(os.environ.get("BENCH_SESSIONS", "8"))
PATIENTS = 1500
CHAIRS = 16
P99_TARGET_S = 1.0
PASSWORD = secrets.token_urlsafe(16)
# (regimen, share of the patients): the first two book one dose at a time, the others start with a series.
REGIMENS = [("tysabri", 0.35), ("tyruko", 0.15), ("ocrevus", 0.25), ("briumvi", 0.15), ("lemtrada", 0.10)]
SINGLE_DOSE = {"tysabri", "tyruko"}
# (action, weight) once some visits are booked; before that every session books.
ACTIONS = [("book", 40), ("series", 15), ("cancel", 20), ("move", 25)]
SUGGESTIONS_PICKED_FROM = 30


# --- The clinic ---------------------------------------------------------------------------------


def _seed() -> tuple[int, list[str], dict[str, list[int]]]:
    """One clinic, its front desk and its patients; returns the clinic, the usernames, the courses by kind."""
    from django.contrib.auth.models import Group, User

    from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours, Regimen, StaffProfile
    from clinic.roles import FRONT_DESK
    from patients.models import Patient, TreatmentCourse
    from scheduling.doses import dose_states_refresh

    clinic = Clinic.objects.create(
        name="Bench Infusion Centre", time_zone="Europe/London", patients_per_nurse=4, starts_per_nurse=1
    )
    for weekday in range(7):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time_of_day(8), closes=time_of_day(18))
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=4 if weekday < 5 else 2)
    Chair.objects.bulk_create(Chair(clinic=clinic, name=f"Chair {n}", position=n) for n in range(1, CHAIRS + 1))
    group = Group.objects.get(name=FRONT_DESK)
    usernames = []
    for number in range(SESSIONS):
        user = User.objects.create_user(username=f"bench-desk-{number}", password=PASSWORD, first_name="Desk")
        user.groups.add(group)
        StaffProfile.objects.create(user=user).clinics.add(clinic)
        usernames.append(user.username)
    regimens = {regimen.code: regimen for regimen in Regimen.objects.filter(code__in=[code for code, _ in REGIMENS])}
    today = datetime.now(clinic.tz).date()
    rng = random.Random(17)
    patients = Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            mrn=f"FD{number:06d}",
            first_name=f"Patient{number}",
            last_name="Bench",
            date_of_birth=date(1975, 1, 1) + timedelta(days=number),
            email=f"fd{number}@patients.example.org",
            reminder_consent=True,
        )
        for number in range(PATIENTS)
    )
    codes = rng.choices([code for code, _ in REGIMENS], weights=[share for _, share in REGIMENS], k=PATIENTS)
    courses = TreatmentCourse.objects.bulk_create(
        TreatmentCourse(
            patient=patient,
            regimen=regimens[code],
            start_date=today + timedelta(days=rng.randint(1, 28)),
            authorization_expires_on=today + timedelta(days=365),
        )
        for patient, code in zip(patients, codes, strict=True)
    )
    dose_states_refresh([course.pk for course in courses])  # a bulk write sends no signal
    by_kind = {
        "single": [course.pk for course, code in zip(courses, codes, strict=True) if code in SINGLE_DOSE],
        "series": [course.pk for course, code in zip(courses, codes, strict=True) if code not in SINGLE_DOSE],
    }
    return clinic.pk, usernames, by_kind


# --- gunicorn, as the compose web service runs it ------------------------------------------------


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _web_command() -> list[str]:
    import yaml

    program, *arguments = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"]
    return [str(Path(sys.executable).with_name(program)), *arguments]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _production_environment(workdir: Path, port: int) -> dict[str, str]:
    development_only = ("DEBUG", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_ALLOW_ASYNC_UNSAFE")
    environment = {key: value for key, value in os.environ.items() if key not in development_only}
    environment.update(_env_example())
    environment.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=os.environ["DATABASE_URL"],
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        CELERY_QUEUE=f"chairside-bench-{secrets.token_hex(4)}",
        EMAIL_URL="smtp://127.0.0.1:25",
        ALLOWED_HOSTS="127.0.0.1",
        CSRF_TRUSTED_ORIGINS=f"https://127.0.0.1:{port}",
        SITE_URL=f"https://127.0.0.1:{port}",
        HOST="127.0.0.1",
        PORT=str(port),
        FORWARDED_ALLOW_IPS="127.0.0.1",
        STATIC_ROOT=str(workdir / "static"),
        CHAIRSIDE_VAR_DIR=str(workdir / "var"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return environment


class Gunicorn:
    def __init__(self, environment: dict[str, str], log: Path):
        self.environment = environment
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, port: int) -> None:
        subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", "collectstatic", "--noinput"],
            cwd=ROOT,
            env=self.environment,
            check=True,
            capture_output=True,
        )
        with self.log.open("w") as output:
            self.process = subprocess.Popen(  # noqa: S603 - the compose command, from this virtualenv
                _web_command(), cwd=ROOT, env=self.environment, stdout=output, stderr=subprocess.STDOUT, process_group=0
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited early:\n{self.log.read_text()}")
            try:
                status, _, _ = Browser(port).get("/health/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        sys.exit(f"gunicorn never answered /health/:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# --- A front-desk session -------------------------------------------------------------------------


class Browser:
    """HTTP as gunicorn gets it from the TLS proxy: X-Forwarded-Proto https, its secure cookies kept."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https", "User-Agent": "chairside-bench"}
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
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection that gunicorn closed (idle, or a worker recycled): open a new one.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
            self.connection = None
        return response.status, dict(response.headers.items()), text

    def get(self, path: str) -> tuple[int, dict, str]:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> tuple[int, dict, str]:
        return self.request("POST", path, form)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        raise Unexpected("the page has no CSRF token")
    return match[1]


def _hidden_inputs(html: str) -> dict[str, str]:
    return {
        name: unescape(value) for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html)
    }


def _slot_links(html: str, path: str) -> list[str]:
    return [unescape(link) for link in re.findall(rf'href="({re.escape(path)}\?chair=[^"]+)"', html)]


class Unexpected(Exception):
    """An answer a front-desk person would not expect: a wrong status, a page without its form."""


@dataclass
class Results:
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: Counter = field(default_factory=Counter)
    outcomes: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def timed(self, action: str, browser: Browser, method: str, path: str, form: dict | None = None):
        started = time.perf_counter()
        status, headers, html = browser.request(method, path, form)
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[action].append(elapsed)
            if status >= 500:
                self.server_errors.append(f"{status} {method} {urlparse(path).path}")
        if status >= 500:
            raise Unexpected(f"{status} from {method} {urlparse(path).path}")
        return status, headers, html

    def outcome(self, action: str, result: str) -> None:
        with self.lock:
            self.attempts[action] += 1
            self.outcomes[action][result] += 1


@dataclass
class Shared:
    """What the sessions share: courses still to book, and the visits booked (any session may change them)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    single: list[int] = field(default_factory=list)
    series: list[int] = field(default_factory=list)
    booked: list[tuple[int, int, bool]] = field(default_factory=list)  # (appointment, course, single dose)

    def take_course(self, kind: str, rng: random.Random) -> int | None:
        with self.lock:
            pool = self.single if kind == "book" else self.series
            return pool.pop(rng.randrange(len(pool))) if pool else None

    def give_back(self, kind: str, course: int) -> None:
        with self.lock:
            (self.single if kind == "book" else self.series).append(course)

    def add_booked(self, appointment: int, course: int, single: bool) -> None:
        with self.lock:
            self.booked.append((appointment, course, single))

    def pick_booked(self, rng: random.Random) -> tuple[int, int, bool] | None:
        with self.lock:
            return rng.choice(self.booked) if self.booked else None

    def forget(self, appointment: int) -> None:
        with self.lock:
            self.booked = [row for row in self.booked if row[0] != appointment]


def _log_in(browser: Browser, username: str, results: Results) -> None:
    status, _, html = results.timed("log in", browser, "GET", "/accounts/login/")
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": _csrf(html)}
    status, headers, _ = results.timed("log in", browser, "POST", "/accounts/login/", form)
    if status != 302:
        raise Unexpected(f"log in answered {status}")
    results.outcome("log in", "ok")


def _book(browser: Browser, kind: str, shared: Shared, results: Results, rng: random.Random) -> None:
    course = shared.take_course(kind, rng)
    if course is None:
        results.outcome(kind, "no course left")
        return
    status, _, html = results.timed(kind, browser, "GET", f"/scheduling/book/{course}/")
    if status != 200:
        raise Unexpected(f"the booking page answered {status}")
    confirm_path = f"/scheduling/book/{course}/confirm/"
    links = _slot_links(html, confirm_path)
    if not links:
        results.outcome(kind, "no slot suggested")
        return
    link = rng.choice(links[:SUGGESTIONS_PICKED_FROM])
    status, _, html = results.timed(kind, browser, "GET", link)
    if status != 200:
        raise Unexpected(f"the confirm page answered {status}")
    form = _hidden_inputs(html)
    if "chair" not in form:
        shared.give_back(kind, course)
        results.outcome(kind, "refused")  # the slot was taken since the suggestions were shown
        return
    if 'name="series" value="on"' in html:
        form["series"] = "on"
    status, headers, html = results.timed(kind, browser, "POST", confirm_path, form)
    if status == 302:
        appointment = re.search(r"highlight=(\d+)", headers.get("Location", ""))
        if appointment:
            shared.add_booked(int(appointment[1]), course, kind == "book")
        results.outcome(kind, "ok")
    elif status == 409:
        shared.give_back(kind, course)
        results.outcome(kind, "refused")
    else:
        raise Unexpected(f"booking answered {status}")


def _cancel(browser: Browser, shared: Shared, results: Results, rng: random.Random) -> None:
    picked = shared.pick_booked(rng)
    if picked is None:
        results.outcome("cancel", "nothing booked")
        return
    appointment, course, single = picked
    path = f"/scheduling/appointments/{appointment}/cancel/"
    status, _, html = results.timed("cancel", browser, "GET", path)
    if status != 200:
        raise Unexpected(f"the cancel page answered {status}")
    form = {"csrfmiddlewaretoken": _csrf(html), "reason": "The patient rang to cancel."}
    status, _, _ = results.timed("cancel", browser, "POST", path, form)
    if status in (302, 409):
        shared.forget(appointment)  # cancelled now, or already cancelled or started: nothing more to do to it
        if status == 302 and single:
            shared.give_back("book", course)
        results.outcome("cancel", "ok" if status == 302 else "refused")
    else:
        raise Unexpected(f"cancelling answered {status}")


def _move(browser: Browser, shared: Shared, results: Results, rng: random.Random) -> None:
    picked = shared.pick_booked(rng)
    if picked is None:
        results.outcome("move", "nothing booked")
        return
    appointment = picked[0]
    path = f"/scheduling/appointments/{appointment}/reschedule/"
    status, _, html = results.timed("move", browser, "GET", path)
    if status != 200:
        raise Unexpected(f"the reschedule page answered {status}")
    links = _slot_links(html, path)
    if not links:
        results.outcome("move", "no slot suggested")
        return
    status, _, html = results.timed("move", browser, "GET", rng.choice(links[:SUGGESTIONS_PICKED_FROM]))
    form = _hidden_inputs(html)
    if status != 200 or "chair" not in form:
        results.outcome("move", "refused")
        return
    form["reason"] = "The patient asked for another time."
    status, _, _ = results.timed("move", browser, "POST", path, form)
    if status in (302, 409):
        results.outcome("move", "ok" if status == 302 else "refused")
    else:
        raise Unexpected(f"moving answered {status}")


def _session(port: int, username: str, number: int, shared: Shared, results: Results, until: float) -> None:
    rng = random.Random(number)
    browser = Browser(port)
    try:
        _log_in(browser, username, results)
    except Unexpected as problem:
        with results.lock:
            results.unexpected.append(f"log in: {problem}")
        return
    names, weights = zip(*ACTIONS, strict=True)
    while time.monotonic() < until:
        action = rng.choices(names, weights=weights)[0] if len(shared.booked) >= 10 else "book"
        try:
            if action in ("book", "series"):
                _book(browser, action, shared, results, rng)
            elif action == "cancel":
                _cancel(browser, shared, results, rng)
            else:
                _move(browser, shared, results, rng)
        except Unexpected as problem:
            results.outcome(action, "error")
            with results.lock:
                results.unexpected.append(f"{action}: {problem}")


# --- After the run: the rules, rechecked from the rows ----------------------------------------------


def _breaches(clinic_id: int) -> list[str]:
    """Chair and patient overlaps, and moments past the nurse rules, among the active appointments."""
    from django.db import connection

    from clinic.models import Clinic, NurseStaffing
    from scheduling.models import Appointment

    problems = []
    active = tuple(Appointment.ACTIVE_STATUSES)
    with connection.cursor() as cursor:
        for column in ("chair_id", "patient_id"):
            cursor.execute(
                f"""
                SELECT count(*) FROM scheduling_appointment a JOIN scheduling_appointment b
                  ON a.{column} = b.{column} AND a.id < b.id
                 AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
                WHERE a.status IN %s AND b.status IN %s
                """,  # noqa: S608 - the column is one of two names above
                [active, active],
            )
            overlaps = cursor.fetchone()[0]
            if overlaps:
                problems.append(f"{overlaps} pairs of active appointments overlap on the same {column[:-3]}")
    clinic = Clinic.objects.get(pk=clinic_id)
    nurses = dict(NurseStaffing.objects.filter(clinic=clinic).values_list("weekday", "nurses"))
    by_day: dict[date, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for starts_at, ends_at, premed in (
        Appointment.objects.active().filter(clinic=clinic).values_list("starts_at", "ends_at", "premed_minutes")
    ):
        by_day[starts_at.astimezone(clinic.tz).date()].append((starts_at, ends_at, premed))
    for day, visits in sorted(by_day.items()):
        on_duty = nurses.get(day.weekday(), 0)
        # The most patients in chairs at once is reached at some visit's start.
        peak = max(sum(1 for s, e, _ in visits if s <= moment < e) for moment, _, _ in visits)
        if peak > on_duty * clinic.patients_per_nurse:
            allowed = on_duty * clinic.patients_per_nurse
            problems.append(f"{day}: {peak} patients in chairs at once, {on_duty} nurses allow {allowed}")
        starts = Counter(int((s + timedelta(minutes=premed)).timestamp() // 900) for s, _, premed in visits)
        busiest = max(starts.values())
        if busiest > on_duty * clinic.starts_per_nurse:
            problems.append(f"{day}: {busiest} infusions start in one 15-minute slot, {on_duty} nurses on duty")
    return problems


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else 0.0


def _report(results: Results, seconds: float) -> float:
    """Print the figures; return the p99 of the front desk's requests (the log-in, a password hash by design, apart)."""
    every = [value for action, values in results.latencies.items() if action != "log in" for value in values]
    print(f"front desk: {SESSIONS} sessions for {seconds:.0f} s against gunicorn on PostgreSQL")
    print(f"{'action':<10} {'attempts':>8}  outcomes")
    for action in ("log in", "book", "series", "cancel", "move"):
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(results.outcomes[action].items()))
        print(f"{action:<10} {results.attempts[action]:>8}  {outcomes}")
    actions = sum(count for action, count in results.attempts.items() if action != "log in")
    print(
        f"throughput: {actions / seconds:.1f} actions/s, {len(every) / seconds:.1f} requests/s "
        f"({actions} actions, {len(every)} requests after logging in)"
    )
    print(f"{'latency':<10} {'p50':>8} {'p95':>8} {'p99':>8}   (per request, ms)")
    for action in ("log in", "book", "series", "cancel", "move"):
        values = results.latencies[action]
        if values:
            cells = " ".join(f"{_percentile(values, share) * 1000:>8.0f}" for share in (0.5, 0.95, 0.99))
            print(f"{action:<10} {cells}")
    p99 = _percentile(every, 0.99)
    cells = " ".join(f"{_percentile(every, share) * 1000:>8.0f}" for share in (0.5, 0.95, 0.99))
    print(f"{'all':<10} {cells}   (every request after logging in; max {max(every, default=0) * 1000:.0f})")
    print(f"5xx answers: {len(results.server_errors)}")
    for line in results.server_errors[:20]:
        print(f"  {line}")
    if results.unexpected:
        print(f"unexpected answers: {len(results.unexpected)}")
        for line in results.unexpected[:20]:
            print(f"  {line}")
    return p99


def main() -> int:
    with throwaway_database("bench/frontdesk"), tempfile.TemporaryDirectory(prefix="chairside-bench-") as workdir:
        migrated_django()
        clinic_id, usernames, courses = _seed()
        port = _free_port()
        log = Path(workdir) / "gunicorn.log"
        web = Gunicorn(_production_environment(Path(workdir), port), log)
        try:
            web.start(port)
            shared = Shared(single=courses["single"], series=courses["series"])
            results = Results()
            started, started_cpu, started_load = time.monotonic(), time.process_time(), os.getloadavg()[0]
            until = started + SECONDS
            sessions = [
                threading.Thread(target=_session, args=(port, username, number, shared, results, until))
                for number, username in enumerate(usernames)
            ]
            for session in sessions:
                session.start()
            for session in sessions:
                session.join()
            elapsed = time.monotonic() - started
            client_cpu = time.process_time() - started_cpu
        finally:
            web.stop()
        p99 = _report(results, elapsed)
        # The sessions share the machine with gunicorn and PostgreSQL: say how busy it was.
        print(
            f"machine: {os.cpu_count()} CPUs, load average {started_load:.2f} before the run and "
            f"{os.getloadavg()[0]:.2f} after; the sessions themselves used {client_cpu:.1f} s of CPU"
        )
        breaches = _breaches(clinic_id)
        from scheduling.models import Appointment

        active = Appointment.objects.active().filter(clinic_id=clinic_id).count()
        print(f"database: {active} active appointments; double bookings and nurse-rule breaches: {len(breaches)}")
        for line in breaches:
            print(f"  {line}")
        if results.server_errors:
            print("gunicorn's log of the errors:")
            print("\n".join(line for line in log.read_text().splitlines() if "level=ERROR" in line)[-4000:])
        failed = bool(results.server_errors or results.unexpected or breaches or p99 >= P99_TARGET_S)
        print(f"p99 {p99 * 1000:.0f} ms (target < {P99_TARGET_S * 1000:.0f} ms): {'FAIL' if failed else 'ok'}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
