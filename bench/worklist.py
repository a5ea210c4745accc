"""Benchmark the worklist read from the stored next-dose state, and the hourly planner over it.

    bench/worklist                    # or: python -m bench.worklist
    BENCH_COURSES=20000 bench/worklist

Creates a throwaway database on the PostgreSQL server of DATABASE_URL, migrates it and
bulk-inserts 50 clinics (in five time zones), one patient and one active course per
course wanted (100,000 by default) over the seeded regimens, with a dose history that puts
about 5% of them due within six weeks. The stored next-dose state is then built with
`dose_states_refresh()` (timed: it is what `dosing_state --repair` runs).

It measures, for a front-desk user of 10 clinics and a manager of all 50:
- the first page of the worklist and a filtered page (one drug, status overdue): the number
  of queries, at 10,000 courses and again at the full count (it must not change), and the
  median time of `BENCH_ROUNDS` renders (default 20) of the page (target under 150 ms);
- the hourly reminder planner over the same data (target under 20 s).

Exits 1 when a target is missed or the query counts differ.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta

from bench import migrated_django, throwaway_database

COURSES = int(os.environ.get("BENCH_COURSES", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
FIRST_STEP = 10_000
CLINICS = 50
TIME_ZONES = ["Europe/London", "America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin"]
BATCH = 5000
PAGE_TARGET_MS = 150
PLANNER_TARGET_S = 20


def _clinics():
    from datetime import time as clock

    from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours

    clinics = []
    for number in range(CLINICS):
        clinic = Clinic.objects.create(
            name=f"Bench clinic {number:02d}",
            time_zone=TIME_ZONES[number % len(TIME_ZONES)],
            # The benchmark times the page, not the sign-in: its manager signs in with a password.
            require_mfa_for_managers=False,
        )
        for weekday in range(5):
            OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=clock(8), closes=clock(18))
            NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=4)
        Chair.objects.bulk_create([Chair(clinic=clinic, name=f"Chair {n}", position=n) for n in range(1, 11)])
        clinics.append(clinic)
    return clinics


def _visit(course, chairs, index: int, day: date, dose_number: int, status: str):
    from scheduling.models import Appointment

    # Each clinic's visits on its ten chairs in turn, one minute each: no two overlap.
    starts_at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=(index // 10) % 1440)
    return Appointment(
        clinic=course.patient.clinic,
        chair=chairs[index % 10],
        patient=course.patient,
        course=course,
        dose_number=dose_number,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=1),
        infusion_minutes=1,
        status=status,
    )


def _populate(clinics, start: int, stop: int, rng: random.Random, today: date) -> None:
    """Courses `start`..`stop`, like a real network's: about 5% due within six weeks and unbooked.

    - 5%: Tysabri or Tyruko, dose 1 given 0 to 40 days ago, nothing booked (on the worklist);
    - 60%: Tysabri or Tyruko, dose 1 given 0 to 27 days ago and dose 2 booked four weeks on;
    - 35%: Ocrevus, doses 1 and 2 given 30 to 120 days ago (maintenance months away).
    """
    from clinic.models import Chair, Regimen
    from patients.models import Patient, TreatmentCourse
    from scheduling.doses import dose_states_refresh
    from scheduling.models import Appointment

    regimens = {code: Regimen.objects.get(code=code) for code in ("tysabri", "ocrevus", "tyruko")}
    chairs = {clinic.pk: list(Chair.objects.filter(clinic=clinic).order_by("position")) for clinic in clinics}
    completed, booked = Appointment.Status.COMPLETED, Appointment.Status.BOOKED
    for batch_start in range(start, stop, BATCH):
        numbers = range(batch_start, min(batch_start + BATCH, stop))
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    clinic=clinics[n % CLINICS],
                    mrn=f"B{n:07d}",
                    first_name="Pat",
                    last_name=f"Bench{n:07d}",
                    date_of_birth=date(1980, 1, 1),
                    email=f"bench{n}@example.org",
                    reminder_consent=True,
                )
                for n in numbers
            ]
        )
        kinds, courses = [], []
        for n, patient in zip(numbers, patients, strict=True):
            draw = rng.random()
            kind = "due" if draw < 0.05 else "booked" if draw < 0.65 else "maintenance"
            if kind == "maintenance":
                code, first = "ocrevus", today - timedelta(days=rng.randint(30, 120))
            else:
                code = "tysabri" if n % 2 else "tyruko"
                first = today - timedelta(days=rng.randint(0, 40 if kind == "due" else 27))
            kinds.append(kind)
            courses.append(TreatmentCourse(patient=patient, regimen=regimens[code], start_date=first))
        courses = TreatmentCourse.objects.bulk_create(courses)
        visits = []
        for n, course, kind in zip(numbers, courses, kinds, strict=True):
            own = chairs[course.patient.clinic_id]
            index = n // CLINICS
            visits.append(_visit(course, own, index, course.start_date, 1, completed))
            if kind == "booked":
                visits.append(_visit(course, own, index, course.start_date + timedelta(days=28), 2, booked))
            elif kind == "maintenance":
                visits.append(_visit(course, own, index, course.start_date + timedelta(days=14), 2, completed))
        Appointment.objects.bulk_create(visits)
        # Bulk writes send no signal: the stored next doses are brought in step here.
        dose_states_refresh([course.pk for course in courses])
    # A table loaded in bulk has no planner statistics until autovacuum gets to it; a running
    # clinic's tables have them, so measure with them.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _users(clinics):
    from django.contrib.auth.models import Group, User

    from clinic.models import StaffProfile
    from clinic.roles import FRONT_DESK, MANAGER

    front = User.objects.create_user("bench-front", password="x")  # noqa: S106
    front.groups.add(Group.objects.get(name=FRONT_DESK))
    StaffProfile.objects.create(user=front).clinics.set(clinics[:10])
    manager = User.objects.create_user("bench-manager", password="x", is_staff=True)  # noqa: S106
    manager.groups.add(Group.objects.get(name=MANAGER))
    StaffProfile.objects.create(user=manager).clinics.set(clinics)
    return front, manager


def _measure(client, url: str, params: dict) -> tuple[int, float, int]:
    from django.db import connection

    client.get(url, params)  # warm the session and permission caches
    # Counted by an execute wrapper: Django empties its own query log when a request starts.
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        response = client.get(url, params)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        client.get(url, params)
        times.append((time.perf_counter() - started) * 1000)
    return len(queries), statistics.median(times), response.context["page"].paginator.count


def main() -> int:
    # The page is rendered by Django's test client, which calls itself "testserver".
    os.environ["ALLOWED_HOSTS"] = "testserver"
    with throwaway_database("bench/worklist"):
        migrated_django()
        from django.test import Client
        from django.test.utils import setup_test_environment

        setup_test_environment()  # the test client then hands back each page's context
        from django.utils import timezone

        from scheduling.reminders.planner import reminders_plan

        rng = random.Random(2026)  # noqa: S311 - benchmark data
        today = timezone.now().date()
        clinics = _clinics()
        front, manager = _users(clinics)
        client = Client()
        pages = {
            "first page (front desk, 10 clinics)": (front, {}),
            "first page (manager, 50 clinics)": (manager, {}),
            "filtered: Tysabri, overdue (manager)": (manager, {"drug": "tysabri", "status": "overdue"}),
        }
        failed = False
        counts: dict[str, list[int]] = {name: [] for name in pages}
        done = 0
        for step in sorted({min(FIRST_STEP, COURSES), COURSES}):
            started = time.perf_counter()
            _populate(clinics, done, step, rng, today)
            done = step
            print(f"{step:,} active courses (populated and states refreshed in {time.perf_counter() - started:.1f} s)")
            for name, (user, params) in pages.items():
                client.force_login(user)
                queries, median, rows = _measure(client, "/scheduling/worklist/", params)
                counts[name].append(queries)
                print(f"  {name}: {rows:,} rows, {queries} queries, median {median:.1f} ms over {ROUNDS} renders")
                if step == COURSES and median > PAGE_TARGET_MS:
                    failed = True
        for name, seen in counts.items():
            if len(set(seen)) > 1:
                print(f"  query count changed with the data for {name}: {seen}")
                failed = True
        started = time.perf_counter()
        made = reminders_plan(now=timezone.now())
        planner = time.perf_counter() - started
        print(f"hourly planner over {COURSES:,} courses: {planner:.1f} s, {made:,} reminders written")
        failed = failed or planner > PLANNER_TARGET_S
        started = time.perf_counter()
        from scheduling.doses import dose_states_refresh

        dose_states_refresh()
        print(f"dose_states_refresh() of every course (dosing_state --repair): {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
