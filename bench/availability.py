"""Benchmark the availability search: 40 chairs, 10 nurses, 4 weeks about 80% booked.

    bench/availability                   # or: python -m bench.availability
    BENCH_ROUNDS=50 bench/availability

Creates `chairside_bench_availability_<pid>` on the PostgreSQL server of DATABASE_URL
(default postgres://postgres@127.0.0.1:5432/), migrates it, books the clinic's first two
weeks, counts the queries of a 4-week search, books the last two weeks (about 2,000
appointments in all) and counts again: the number must not change and stay at most 6 for the
search, 8 for a course's next dose (its doses and regimen read first).
Then it prints the median time of a 4-week search for a 4-hour dose (target under 50 ms)
and of one day's search across all 40 chairs (target under 10 ms), and drops the database
whatever happens.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from functools import partial

from bench import migrated_django, throwaway_database

CHAIRS = 40
NURSES = 10
WEEKS = 4
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
MONDAY = date(2027, 3, 1)
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)  # the search runs as if a month before the window
SEARCH_TARGET_MS = 50
DAY_TARGET_MS = 10
MAX_QUERIES = 6
COURSE_MAX_QUERIES = 8  # the course's visits, its regimen, phases and monitoring rules, then the search
VISIT_MINUTES = (90, 120, 180, 240, 300, 420)  # from a Tysabri infusion to a Lemtrada day
FILL_SHARES = (0.5, 0.9, 1.0, 1.0, 1.0)  # chair-days from half to fully booked: about 80% overall


def _clinic():
    from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours

    clinic = Clinic.objects.create(
        name="Bench Infusion Centre", time_zone="Europe/London", patients_per_nurse=4, starts_per_nurse=1
    )
    for weekday in range(5):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens="08:00", closes="18:00")
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=NURSES)
    Chair.objects.bulk_create(
        Chair(clinic=clinic, name=f"Chair {number}", position=number) for number in range(1, CHAIRS + 1)
    )
    return clinic


def _book(clinic, days: list[date], seed: int) -> int:
    """Fill each chair-day to about 80% with visits of 2 to 6 hours, staggered so starts spread out."""
    from clinic.models import Chair, Regimen
    from patients.models import Patient, TreatmentCourse
    from scheduling.models import Appointment

    rng = random.Random(seed)
    regimen = Regimen.objects.get(code="ocrevus")
    chairs = list(Chair.objects.filter(clinic=clinic))
    tz = clinic.tz
    plan = []
    for day in days:
        opens = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(hours=8)
        for index, chair in enumerate(chairs):
            # Visits back to back from a staggered first start (at most 5 chairs start per quarter
            # hour), with this chair-day's free time left as one block at a random place.
            cursor = (index % 8) * 15
            budget = min(rng.choice(FILL_SHARES) * 600, 600 - cursor)
            visits = []
            while budget >= min(VISIT_MINUTES):
                minutes = rng.choice([m for m in VISIT_MINUTES if m <= budget])
                visits.append(minutes)
                budget -= minutes
            free = 600 - cursor - sum(visits)
            gap_before = rng.randrange(len(visits) + 1)
            for position, minutes in enumerate(visits):
                if position == gap_before:
                    cursor += free // 15 * 15
                plan.append((chair, opens + timedelta(minutes=cursor), minutes))
                cursor += minutes
    patients = Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            mrn=f"B{seed}-{number:06d}",
            first_name=f"Patient{number}",
            last_name="Bench",
            date_of_birth=date(1980, 1, 1),
        )
        for number in range(len(plan))
    )
    courses = TreatmentCourse.objects.bulk_create(
        TreatmentCourse(patient=patient, regimen=regimen, start_date=MONDAY - timedelta(days=400))
        for patient in patients
    )
    Appointment.objects.bulk_create(
        Appointment(
            clinic=clinic,
            chair=chair,
            patient=course.patient,
            course=course,
            dose_number=3,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            premed_minutes=30 if minutes >= 120 else 0,
            infusion_minutes=minutes - 90 if minutes >= 120 else minutes,
            observation_minutes=60 if minutes >= 120 else 0,
        )
        for (chair, starts_at, minutes), course in zip(plan, courses, strict=True)
    )
    return len(plan)


def _count_queries(function) -> int:
    from django.db import connection

    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        function()
    return len(queries)


def _median_ms(function, rounds: int = ROUNDS) -> tuple[float, float, float]:
    function()  # warm
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), min(timings), max(timings)


def main() -> int:
    with throwaway_database("bench/availability"):
        migrated_django()

        from clinic.dosing import ChairTime
        from patients.models import Patient, TreatmentCourse
        from scheduling.availability.search import find_slots, find_slots_for_course
        from scheduling.models import Appointment

        clinic = _clinic()
        open_days = [MONDAY + timedelta(days=offset) for offset in range(WEEKS * 7) if offset % 7 < 5]
        last_day = MONDAY + timedelta(days=WEEKS * 7 - 1)
        patient = Patient.objects.create(
            clinic=clinic, mrn="SEARCH", first_name="Search", last_name="Bench", date_of_birth=date(1980, 1, 1)
        )
        # Ocrevus dose 1: 30 min premedication, 150 min infusion, 60 min observation (4 hours).
        created = TreatmentCourse.objects.create(patient=patient, regimen_id=_ocrevus_id(), start_date=MONDAY)
        course = TreatmentCourse.objects.select_related("patient__clinic", "regimen").get(pk=created.pk)
        four_hours = ChairTime(premed_minutes=30, infusion_minutes=180, observation_minutes=30)

        def four_weeks():
            return find_slots(
                clinic=clinic, chair_time=four_hours, start=MONDAY, end=last_day, patient_id=patient.pk, now=NOW
            )

        def one_day():
            return find_slots(
                clinic=clinic, chair_time=four_hours, start=MONDAY, end=MONDAY, patient_id=patient.pk, now=NOW
            )

        def course_search(course=course):
            return find_slots_for_course(course, start=MONDAY, end=last_day, now=NOW, today=NOW.date())

        def fresh_course():
            # A course as a page loads it: the regimen's phases not yet read.
            return TreatmentCourse.objects.select_related("patient__clinic", "regimen").get(pk=course.pk)

        counts = []
        half = len(open_days) // 2
        for days, seed in ((open_days[:half], 1), (open_days[half:], 2)):
            _book(clinic, days, seed)
            booked = Appointment.objects.filter(clinic=clinic).count()
            loaded = fresh_course()
            counts.append((booked, _count_queries(four_weeks), _count_queries(partial(course_search, loaded))))

        result = four_weeks()
        chair_minutes = sum(
            (ends - starts).total_seconds() / 60
            for starts, ends in Appointment.objects.filter(clinic=clinic).values_list("starts_at", "ends_at")
        )
        occupancy = chair_minutes / (len(open_days) * CHAIRS * 600)
        search_ms = _median_ms(four_weeks)
        day_ms = _median_ms(one_day)
        course_ms = _median_ms(course_search)

        print(f"availability search: {CHAIRS} chairs, {NURSES} nurses, {WEEKS} weeks ({len(open_days)} open days)")
        for booked, queries, course_queries in counts:
            print(
                f"  with {booked:>5} appointments: {queries} queries for a 4-week search, "
                f"{course_queries} for a course's next dose (dosing rules included)"
            )
        print(f"  chair time booked: {occupancy:.0%}; free slots found for a 4-hour dose: {len(result.slots)}")
        print(
            f"4-week search, 4-hour dose: median {search_ms[0]:.1f} ms "
            f"(min {search_ms[1]:.1f}, max {search_ms[2]:.1f}; target < {SEARCH_TARGET_MS} ms)"
        )
        print(
            f"one day, all {CHAIRS} chairs: median {day_ms[0]:.2f} ms "
            f"(min {day_ms[1]:.2f}, max {day_ms[2]:.2f}; target < {DAY_TARGET_MS} ms)"
        )
        print(f"4-week search for a course's next dose: median {course_ms[0]:.1f} ms")
        fixed = len({queries for _, queries, _ in counts}) == 1 and len({q for _, _, q in counts}) == 1
        within = all(
            queries <= MAX_QUERIES and course_queries <= COURSE_MAX_QUERIES for _, queries, course_queries in counts
        )
        print(
            f"query count fixed: {'yes' if fixed else 'NO'}; at most {MAX_QUERIES} "
            f"({COURSE_MAX_QUERIES} for a course): {'yes' if within else 'NO'}"
        )
        ok = fixed and within and search_ms[0] < SEARCH_TARGET_MS and day_ms[0] < DAY_TARGET_MS
        return 0 if ok else 1


def _ocrevus_id() -> int:
    from clinic.models import Regimen

    return Regimen.objects.get(code="ocrevus").pk


if __name__ == "__main__":
    sys.exit(main())
