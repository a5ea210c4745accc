"""Benchmark the nurses' roster page: 40 chairs, 150 visits, in a throwaway PostgreSQL database.

    bench/roster                      # or: python -m bench.roster
    BENCH_ROUNDS=50 bench/roster

Creates `chairside_bench_roster_<pid>` on the PostgreSQL server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/), migrates it, fills one clinic day, then renders the
roster page as a nurse through Django's test client: it prints the queries per page and the
median render time (target: under 100 ms), and drops the database whatever happens.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta

from bench import migrated_django, throwaway_database

CHAIRS = 40
VISITS = 150
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
DAY = date(2027, 3, 2)  # a Tuesday
TARGET_MS = 100


def _fill(clinic_name: str):
    """One clinic of 40 chairs and a day of 150 visits over five regimens, with dose histories."""
    from django.contrib.auth.models import Group, User

    from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours, Regimen, StaffProfile
    from clinic.roles import NURSE
    from patients.models import Patient, TreatmentCourse
    from scheduling.models import Appointment, NurseAssignment

    clinic = Clinic.objects.create(name=clinic_name, time_zone="Europe/London", patients_per_nurse=4)
    for weekday in range(5):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens="08:00", closes="18:00")
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=10)
    chairs = [Chair(clinic=clinic, name=f"Chair {number}", position=number) for number in range(1, CHAIRS + 1)]
    chairs = Chair.objects.bulk_create(chairs)
    nurse_group = Group.objects.get(name=NURSE)
    nurses = []
    for number in range(10):
        nurse = User.objects.create_user(username=f"bench-nurse-{number}", first_name=f"Nurse {number}")
        nurse.groups.add(nurse_group)
        StaffProfile.objects.create(user=nurse).clinics.add(clinic)
        nurses.append(nurse)
    NurseAssignment.objects.bulk_create(
        NurseAssignment(clinic=clinic, day=DAY, chair=chair, nurse=nurses[index % len(nurses)])
        for index, chair in enumerate(chairs)
    )
    regimens = list(Regimen.objects.filter(code__in=["ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab"]))
    tz = clinic.tz
    statuses = [
        Appointment.Status.COMPLETED,
        Appointment.Status.OBSERVATION,
        Appointment.Status.INFUSING,
        Appointment.Status.ARRIVED,
        Appointment.Status.BOOKED,
    ]
    for number in range(VISITS):
        regimen = regimens[number % len(regimens)]
        patient = Patient.objects.create(
            clinic=clinic,
            mrn=f"B{number:06d}",
            first_name=f"Patient{number}",
            last_name="Bench",
            date_of_birth=date(1980, 1, 1),
        )
        first = DAY - timedelta(days=200 + number)
        course = TreatmentCourse.objects.create(
            patient=patient, regimen=regimen, start_date=first, authorization_expires_on=DAY + timedelta(days=60)
        )
        chair = chairs[number % CHAIRS]
        given_at = datetime.combine(first, datetime.min.time(), tzinfo=tz) + timedelta(hours=9)
        Appointment.objects.create(
            clinic=clinic,
            chair=chair,
            patient=patient,
            course=course,
            dose_number=1,
            starts_at=given_at,
            ends_at=given_at + timedelta(hours=2),
            premed_minutes=30,
            infusion_minutes=60,
            observation_minutes=30,
            status=Appointment.Status.COMPLETED,
            infusion_reaction=number % 9 == 0,
        )
        starts_at = datetime.combine(DAY, datetime.min.time(), tzinfo=tz) + timedelta(
            hours=8, minutes=135 * (number // CHAIRS)
        )
        Appointment.objects.create(
            clinic=clinic,
            chair=chair,
            patient=patient,
            course=course,
            dose_number=2,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=135),
            premed_minutes=15,
            infusion_minutes=90,
            observation_minutes=30,
            status=statuses[number % len(statuses)],
        )
    return clinic, nurses[0]


def _measure(clinic, nurse) -> tuple[int, list[float]]:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(nurse)
    url = reverse("scheduling:roster")
    params = {"clinic": clinic.pk, "day": DAY.isoformat()}
    for _ in range(3):  # warm the template loader, the URL resolver and the session
        client.get(url, params)
    queries = []
    with connection.execute_wrapper(lambda execute, sql, *args: queries.append(sql) or execute(sql, *args)):
        response = client.get(url, params)
    if response.status_code != 200 or response.content.count(b'class="roster-visit ') != VISITS:
        sys.exit(f"The roster page did not show the {VISITS} visits (status {response.status_code}).")
    timings, cpu = [], []
    for _ in range(ROUNDS):
        started, started_cpu = time.perf_counter(), time.process_time()
        client.get(url, params)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return len(queries), timings, cpu


def main() -> int:
    with throwaway_database("bench/roster"):
        migrated_django()
        from django.conf import settings

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        clinic, nurse = _fill("Bench Infusion Centre")
        queries, timings, cpu = _measure(clinic, nurse)
        median = statistics.median(timings)
        print(f"roster page: {CHAIRS} chairs, {VISITS} visits, {ROUNDS} renders")
        print(f"queries per page: {queries}")
        print(
            f"median render: {median:.1f} ms (min {min(timings):.1f}, max {max(timings):.1f}; target < {TARGET_MS} ms)"
        )
        # On a busy machine the wall clock includes waiting for a CPU; the process's own time does not.
        print(f"median CPU time of this process per render: {statistics.median(cpu):.1f} ms")
        return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
