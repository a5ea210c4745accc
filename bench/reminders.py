"""Benchmark the reminder planner and the minute scan: 100,000 patients, 200,000 appointments.

    bench/reminders                   # or: python -m bench.reminders
    BENCH_PATIENTS=20000 bench/reminders

Creates `chairside_bench_reminders_<pid>` on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/), migrates it and bulk-inserts ten clinics in five time
zones, one course per patient over the seven seeded regimens, each patient's dose history
(a completed appointment, for half of them two) and, for the other half, a booked visit
in the next 60 days with its two upcoming-visit reminder rows, and computes every course's
stored next dose (`DoseState`, which the planner reads). Then, each in a fresh process so
its peak memory is its own:

- the hourly planner (`reminders_plan`) over every course, as the task runs it;
- the minute scan (`reminders_dispatch_due`) in rounds of 500 until nothing is due, each
  claimed row enqueued to an in-memory broker that is emptied after every round.

It prints the time, the rows written and the peak resident memory of each (and of the
process before it started, for comparison), and drops the database whatever happens.
Target: the planner in under 60 s.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

from bench import admin_connection, server_url, with_database

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "100000"))
CLINICS = 10
CHAIRS = 20
SLOTS_PER_DAY = 5  # two-hour visits from 08:00
TIME_ZONES = ["Europe/London", "America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin"]
REGIMENS = ["ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab", "ocrevus-zunovo", "tyruko"]
BATCH = 5000
PLANNER_TARGET_S = 60


def _server_url() -> str:
    return server_url("bench/reminders")


_with_database = with_database
_admin_connection = admin_connection


def _setup_django() -> None:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["CONN_MAX_AGE"] = "0"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()


def _peak_rss_mb() -> float:
    """Peak resident memory of this process.

    VmHWM belongs to this program's own address space; getrusage's ru_maxrss would carry
    over the parent's peak across fork and exec on Linux.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


# --- the data --------------------------------------------------------------------------------


class _Chairs:
    """Hands out chair slots so no chair holds two visits at once (the exclusion constraint)."""

    def __init__(self, clinic, chairs):
        self.clinic = clinic
        self.chairs = chairs
        self.used: dict[date, int] = {}

    def slot(self, day: date) -> tuple[int, datetime]:
        while self.used.get(day, 0) >= CHAIRS * SLOTS_PER_DAY:
            day += timedelta(days=1)
        index = self.used.get(day, 0)
        self.used[day] = index + 1
        chair = self.chairs[index % CHAIRS]
        starts_at = datetime(day.year, day.month, day.day, 8 + 2 * (index // CHAIRS), tzinfo=self.clinic.tz)
        return chair, starts_at


def _fill(now: datetime) -> dict:
    from clinic.models import Chair, Clinic, Regimen
    from patients.models import Patient, TreatmentCourse
    from scheduling.doses import dose_states_refresh
    from scheduling.models import Appointment, Reminder
    from scheduling.reminders.times import local_moment

    rng = random.Random(20261121)
    clinics = []
    for number in range(CLINICS):
        clinic = Clinic.objects.create(
            name=f"Bench clinic {number}",
            time_zone=TIME_ZONES[number % len(TIME_ZONES)],
            address=f"{number} Bench Road",
            phone="020 7946 0000",
        )
        chairs = Chair.objects.bulk_create(
            Chair(clinic=clinic, name=f"Chair {chair}", position=chair) for chair in range(CHAIRS)
        )
        clinic.refresh_from_db()
        clinics.append(_Chairs(clinic, chairs))
    regimens = {regimen.code: regimen for regimen in Regimen.objects.filter(code__in=REGIMENS)}
    counts = {"patients": 0, "courses": 0, "appointments": 0, "reminders": 0}

    for first in range(0, PATIENTS, BATCH):
        numbers = range(first, min(first + BATCH, PATIENTS))
        patients = Patient.objects.bulk_create(
            Patient(
                clinic=clinics[number % CLINICS].clinic,
                mrn=f"B{number:07d}",
                first_name=f"Patient{number}",
                last_name="Bench",
                date_of_birth=date(1980, 1, 1),
                email=f"patient{number}@bench.example.org",
                reminder_consent=number % 10 != 0,  # one in ten has not agreed to reminders
            )
            for number in numbers
        )
        courses = TreatmentCourse.objects.bulk_create(
            TreatmentCourse(
                patient=patient,
                regimen=regimens[REGIMENS[number % len(REGIMENS)]],
                start_date=(now - timedelta(days=rng.randint(200, 600))).date(),
            )
            for number, patient in zip(numbers, patients, strict=True)
        )
        appointments, upcoming = [], []
        for number, patient, course in zip(numbers, patients, courses, strict=True):
            chairs = clinics[number % CLINICS]
            today = now.astimezone(chairs.clinic.tz).date()
            given_day = today - timedelta(days=rng.randint(1, 250))
            if number % 2:
                # Two doses given: the earlier one 4 weeks to 6 months before.
                earlier = given_day - timedelta(days=rng.randint(28, 180))
                days = [(earlier, Appointment.Status.COMPLETED), (given_day, Appointment.Status.COMPLETED)]
            else:
                # One dose given, the next booked within 60 days.
                days = [
                    (given_day, Appointment.Status.COMPLETED),
                    (today + timedelta(days=rng.randint(1, 60)), Appointment.Status.BOOKED),
                ]
            for dose_number, (day, status) in enumerate(days, start=1):
                chair, starts_at = chairs.slot(day)
                appointments.append(
                    Appointment(
                        clinic=chairs.clinic,
                        chair=chair,
                        patient=patient,
                        course=course,
                        dose_number=dose_number,
                        starts_at=starts_at,
                        ends_at=starts_at + timedelta(hours=2),
                        premed_minutes=30,
                        infusion_minutes=60,
                        observation_minutes=30,
                        status=status,
                    )
                )
        appointments = Appointment.objects.bulk_create(appointments)
        for appointment in appointments:
            if appointment.status != Appointment.Status.BOOKED or not appointment.patient.reminder_consent:
                continue
            clinic = appointment.clinic
            start_day = appointment.starts_at.astimezone(clinic.tz).date()
            for days_before in clinic.reminder_offsets:
                upcoming.append(
                    Reminder(
                        clinic=clinic,
                        patient_id=appointment.patient_id,
                        appointment=appointment,
                        course_id=appointment.course_id,
                        kind=Reminder.Kind.APPOINTMENT_UPCOMING,
                        key=Reminder.upcoming_key(appointment, days_before),
                        due_at=local_moment(clinic, start_day - timedelta(days=days_before)),
                    )
                )
        Reminder.objects.bulk_create(upcoming)
        counts["patients"] += len(patients)
        counts["courses"] += len(courses)
        counts["appointments"] += len(appointments)
        counts["reminders"] += len(upcoming)
    # bulk_create sends no signals: the stored next doses are computed once, as after a migration.
    counts["dose_states"] = dose_states_refresh()
    return counts


# --- the measured phases (each in its own process) -------------------------------------------


def _phase(name: str, now: datetime) -> dict:
    from django.db import connection
    from django.db.models import Count

    from scheduling import tasks
    from scheduling.models import Reminder
    from scheduling.reminders import dispatcher, planner

    connection.ensure_connection()
    before = _peak_rss_mb()
    if name == "plan":
        started = time.perf_counter()
        made = planner.reminders_plan(now=now)
        seconds = time.perf_counter() - started
        by_kind = dict(
            Reminder.objects.exclude(kind=Reminder.Kind.APPOINTMENT_UPCOMING)
            .values("kind")
            .annotate(rows=Count("id"))
            .values_list("kind", "rows")
        )
        return {
            "seconds": seconds,
            "rows": made,
            "by_kind": by_kind,
            "rss_before_mb": before,
            "rss_peak_mb": _peak_rss_mb(),
        }

    from kombu.transport.memory import Channel

    from config.celery import app

    app.conf.broker_url = "memory://"
    app.conf.broker_transport_options = {}
    due = Reminder.objects.filter(status=Reminder.Status.PENDING, due_at__lte=now).count()
    rounds, claimed, enqueued, slowest = 0, 0, 0, 0.0
    started = time.perf_counter()
    while True:
        round_started = time.perf_counter()
        count = dispatcher.reminders_dispatch_due(now=now, limit=500, enqueue=tasks.reminder_send_later)
        slowest = max(slowest, time.perf_counter() - round_started)
        # Sends travel on their own queue (CELERY_TASK_ROUTES), apart from the scan's.
        queue = Channel.queues.get(app.conf.task_routes["scheduling.tasks.reminder_send"]["queue"])
        if queue is not None:
            enqueued += queue.qsize()
            while not queue.empty():  # a worker would take them; here they are only counted
                queue.get_nowait()
        rounds += 1
        claimed += count
        if count < 500:
            break
    seconds = time.perf_counter() - started
    idle_started = time.perf_counter()
    # The next minute: nothing left to claim.
    dispatcher.reminders_dispatch_due(now=now, limit=500, enqueue=tasks.reminder_send_later)
    idle = time.perf_counter() - idle_started
    return {
        "seconds": seconds,
        "due": due,
        "claimed": claimed,
        "enqueued": enqueued,
        "rounds": rounds,
        "slowest_round_s": slowest,
        "idle_scan_s": idle,
        "rss_before_mb": before,
        "rss_peak_mb": _peak_rss_mb(),
    }


def _run_phase(name: str, now: datetime) -> dict:
    result = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", "bench.reminders", "--phase", name, now.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--phase":
        _setup_django()
        print(json.dumps(_phase(sys.argv[2], datetime.fromisoformat(sys.argv[3]))))
        return 0

    server = _server_url()
    name = f"chairside_bench_reminders_{os.getpid()}"
    admin = _admin_connection(server)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ["DATABASE_URL"] = _with_database(server, name)
        os.environ["CHAIRSIDE_VAR_DIR"] = tempfile.mkdtemp(prefix="chairside-bench-")
        _setup_django()
        from django.core.management import call_command
        from django.db import connection, connections

        call_command("migrate", verbosity=0, interactive=False)
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        counts = _fill(now)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        connections.close_all()
        print(
            f"filled in {time.perf_counter() - started:.0f} s: {counts['patients']:,} patients, "
            f"{counts['courses']:,} courses, {counts['appointments']:,} appointments, "
            f"{counts['reminders']:,} upcoming-visit reminders, {counts['dose_states']:,} stored next doses; {CLINICS} clinics in {len(TIME_ZONES)} time zones"
        )
        plan = _run_phase("plan", now)
        print(
            f"planner: {plan['seconds']:.1f} s over {counts['courses']:,} courses (target < {PLANNER_TARGET_S} s); "
            f"{plan['rows']:,} reminders written {plan['by_kind']}; "
            f"peak memory {plan['rss_peak_mb']:.0f} MB (process before it: {plan['rss_before_mb']:.0f} MB)"
        )
        again = _run_phase("plan", now)
        print(f"planner again (nothing new, idempotent): {again['seconds']:.1f} s, {again['rows']} rows written")
        scan = _run_phase("scan", now)
        print(
            f"minute scan: {scan['claimed']:,} of {scan['due']:,} due rows claimed and {scan['enqueued']:,} tasks "
            f"enqueued in {scan['rounds']} rounds of 500, {scan['seconds']:.1f} s "
            f"(slowest round {scan['slowest_round_s'] * 1000:.0f} ms; a scan with nothing due "
            f"{scan['idle_scan_s'] * 1000:.0f} ms); peak memory {scan['rss_peak_mb']:.0f} MB "
            f"(process before it: {scan['rss_before_mb']:.0f} MB)"
        )
        return 0 if plan["seconds"] < PLANNER_TARGET_S else 1
    finally:
        from django.db import connections

        connections.close_all()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
