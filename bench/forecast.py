"""Benchmark the manager's capacity forecast: one clinic, 5,000 active courses, 26 weeks.

    bench/forecast                    # or: python -m bench.forecast
    BENCH_COURSES=10000 bench/forecast

Creates a throwaway database on the PostgreSQL server of DATABASE_URL, migrates it and
bulk-inserts one clinic (30 chairs, open 08:00-18:00 Monday to Friday, 6 nurses) with one
patient and one active course per course wanted (5,000 by default):

- 65%: Tysabri, dose 1 given 1 to 27 days ago; half of them with dose 2 booked four weeks on;
- 35%: Ocrevus, doses 1 and 2 given, dose 2 between 30 and 170 days ago (maintenance due
  inside the 26 weeks).

Planned Tysabri doses fall on weekends too and move to Mondays, so the forecast has flagged
days and looks for lighter days for their doses: the slow path is measured.

It renders the forecast page as its manager: the number of queries at a tenth of the courses
and at the full count (it must not change), and the median time of `BENCH_ROUNDS` renders
(default 5; target under 2 s). Exits 1 when the target is missed or the counts differ.
`BENCH_PROFILE=1` prints where one render spends its time.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, datetime, timedelta

from bench import migrated_django, throwaway_database

COURSES = int(os.environ.get("BENCH_COURSES", "5000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CHAIRS = 30
BATCH = 2500
TARGET_S = 2.0


def _clinic():
    from datetime import time as clock

    from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours

    clinic = Clinic.objects.create(name="Bench clinic", time_zone="Europe/London", require_mfa_for_managers=False)
    for weekday in range(5):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=clock(8), closes=clock(18))
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=6)
    Chair.objects.bulk_create([Chair(clinic=clinic, name=f"Chair {n}", position=n) for n in range(1, CHAIRS + 1)])
    return clinic


class _Chairs:
    """Hands out chair times that never overlap: five 2-hour slots per chair a day, then 1-minute ones."""

    def __init__(self, clinic, chairs):
        self.clinic, self.chairs, self.used = clinic, chairs, defaultdict(int)

    def take(self, day: date) -> tuple[object, datetime, int]:
        number = self.used[day]
        self.used[day] += 1
        chair = self.chairs[number % CHAIRS]
        if number < CHAIRS * 5:
            starts = datetime.combine(day, datetime.min.time(), tzinfo=self.clinic.tz) + timedelta(
                hours=8 + 2 * (number // CHAIRS)
            )
            return chair, starts, 120
        extra = number - CHAIRS * 5
        starts = datetime.combine(day, datetime.min.time(), tzinfo=self.clinic.tz) + timedelta(
            hours=18, minutes=extra // CHAIRS
        )
        return chair, starts, 1


def _visit(course, place, dose_number: int, status: str):
    from scheduling.models import Appointment

    chair, starts_at, minutes = place
    return Appointment(
        clinic=course.patient.clinic,
        chair=chair,
        patient=course.patient,
        course=course,
        dose_number=dose_number,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        premed_minutes=0,
        infusion_minutes=minutes,
        status=status,
    )


def _populate(clinic, chairs: _Chairs, start: int, stop: int, rng: random.Random, today: date) -> None:
    from clinic.models import Regimen
    from patients.models import Patient, TreatmentCourse
    from scheduling.doses import dose_states_refresh
    from scheduling.models import Appointment

    regimens = {code: Regimen.objects.get(code=code) for code in ("tysabri", "ocrevus")}
    completed, booked = Appointment.Status.COMPLETED, Appointment.Status.BOOKED
    for batch_start in range(start, stop, BATCH):
        numbers = range(batch_start, min(batch_start + BATCH, stop))
        patients = Patient.objects.bulk_create(
            [
                Patient(
                    clinic=clinic,
                    mrn=f"F{n:07d}",
                    first_name="Pat",
                    last_name=f"Forecast{n:07d}",
                    date_of_birth=date(1980, 1, 1),
                )
                for n in numbers
            ]
        )
        plans, courses = [], []
        for patient in patients:
            if rng.random() < 0.65:
                first = today - timedelta(days=rng.randint(1, 27))
                plans.append(("tysabri", first, rng.random() < 0.5))
                courses.append(TreatmentCourse(patient=patient, regimen=regimens["tysabri"], start_date=first))
            else:
                second = today - timedelta(days=rng.randint(30, 170))
                first = second - timedelta(days=14)
                plans.append(("ocrevus", first, False))
                courses.append(TreatmentCourse(patient=patient, regimen=regimens["ocrevus"], start_date=first))
        courses = TreatmentCourse.objects.bulk_create(courses)
        visits = []
        for course, (code, first, book_next) in zip(courses, plans, strict=True):
            visits.append(_visit(course, chairs.take(first), 1, completed))
            if code == "ocrevus":
                visits.append(_visit(course, chairs.take(first + timedelta(days=14)), 2, completed))
            elif book_next:
                visits.append(_visit(course, chairs.take(first + timedelta(days=28)), 2, booked))
        Appointment.objects.bulk_create(visits)
        dose_states_refresh([course.pk for course in courses])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(client, url: str, rounds: int) -> tuple[int, float, object]:
    from django.db import connection

    client.get(url)  # warm the session and permission caches
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        client.get(url)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    return len(queries), statistics.median(times), response.context["forecast"]


def forecast_render(*, courses: int = COURSES, rounds: int = ROUNDS) -> tuple[float, bool]:
    """On a migrated, empty database: build the clinic, render its forecast at a tenth of `courses` and at all of them.

    Prints each step; returns the median render at the full count (seconds) and whether the
    benchmark failed (the target missed, or the query count changed with the data).
    """
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    from clinic.models import Chair, StaffProfile
    from clinic.roles import MANAGER
    from scheduling.doses import clinic_today

    rng = random.Random(2026)  # noqa: S311 - benchmark data
    clinic = _clinic()
    today = clinic_today(clinic)
    chairs = _Chairs(clinic, list(Chair.objects.filter(clinic=clinic).order_by("position")))
    manager = User.objects.create_user("bench-manager", password="x", is_staff=True)  # noqa: S106
    manager.groups.add(Group.objects.get(name=MANAGER))
    StaffProfile.objects.create(user=manager).clinics.set([clinic])
    client = Client()
    client.force_login(manager)
    url = f"/scheduling/capacity/forecast/?clinic={clinic.pk}"
    failed = False
    counts = []
    done = 0
    median = 0.0
    for step in sorted({max(courses // 10, 1), courses}):
        started = time.perf_counter()
        _populate(clinic, chairs, done, step, rng, today)
        done = step
        print(f"{step:,} active courses (populated in {time.perf_counter() - started:.1f} s)")
        queries, median, forecast = _measure(client, url, rounds)
        counts.append(queries)
        print(
            f"  forecast page: {queries} queries, median {median * 1000:.0f} ms over {rounds} renders; "
            f"{len(forecast.flagged)} flagged days of {len(forecast.days)}, "
            f"{sum(len(day.movable) for day in forecast.flagged):,} movable doses named"
        )
        if step == courses and median >= TARGET_S:
            failed = True
    if len(set(counts)) > 1:
        print(f"  query count changed with the data: {counts}")
        failed = True
    return median, failed


def main() -> int:
    os.environ["ALLOWED_HOSTS"] = "testserver"
    with throwaway_database("bench/forecast"):
        migrated_django()
        _median, failed = forecast_render()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
