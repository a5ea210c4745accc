"""Benchmark the patient import: a file of 500 patients with their dose histories.

    bench/import                      # or: python -m bench.import_patients
    BENCH_PATIENTS=2000 bench/import

Creates a throwaway database on the PostgreSQL server of DATABASE_URL, migrates it, makes one
clinic (16 chairs, open 08:00-18:00 Monday to Friday), and writes a CSV with the template's
columns: 500 patients by default, 60% on Tysabri every 4 weeks (3 to 12 doses given), 40% on
Ocrevus (the two initiation doses, then every 6 months: 2 to 5 doses given), about 3,500 rows.

It imports the file as `manage.py import_patients` does (`patients_import`), prints the time
(target under 10 s), then imports it again (nothing may change), then a copy with one bad
row (nothing may be imported). Exits 1 when the target is missed or a count is wrong.
"""

from __future__ import annotations

import csv
import io
import os
import random
import sys
import time
from datetime import date, timedelta

from bench import migrated_django, throwaway_database

PATIENTS = int(os.environ.get("BENCH_PATIENTS", "500"))
CHAIRS = 16
TARGET_S = 10.0


def _weekday(day: date) -> date:
    while day.weekday() > 4:
        day += timedelta(days=1)
    return day


def _file(rng: random.Random, today: date) -> tuple[bytes, int, int]:
    from clinic.dosing import add_months
    from scheduling.imports.columns import NAMES

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=NAMES)
    writer.writeheader()
    rows = doses = 0
    for n in range(PATIENTS):
        patient = {
            "mrn": f"IMP{n:06d}",
            "first_name": rng.choice(("Ann", "Ben", "Cara", "Dev", "Eli", "Fay")),
            "last_name": f"Import{n:06d}",
            "date_of_birth": date(1960 + n % 40, 1 + n % 12, 1 + n % 28).isoformat(),
            "email": f"imp{n:06d}@patients.example.org",
            "reminder_consent": rng.choice(("yes", "no")),
        }
        if n % 5 < 3:
            count = rng.randint(3, 12)
            start = _weekday(today - timedelta(days=28 * count + rng.randint(1, 20)))
            days = [_weekday(start + timedelta(days=28 * index)) for index in range(count)]
            regimen = "tysabri"
        else:
            count = rng.randint(2, 5)
            start = _weekday(add_months(today, -6 * (count - 1)) - timedelta(days=rng.randint(20, 60)))
            days = [start, _weekday(start + timedelta(days=14))] + [
                _weekday(add_months(start, 6 * index)) for index in range(1, count - 1)
            ]
            regimen = "ocrevus"
        for day in days:
            writer.writerow(
                patient | {"regimen": regimen, "course_start": start.isoformat(), "dose_given_on": day.isoformat()}
            )
            rows += 1
            doses += 1
    return out.getvalue().encode(), rows, doses


def main() -> int:
    with throwaway_database("bench/import"):
        migrated_django()
        from datetime import time as clock

        from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours
        from patients.models import Patient
        from scheduling.doses import clinic_today, dose_states_verify
        from scheduling.imports.reading import read_file
        from scheduling.imports.services import patients_import
        from scheduling.models import Appointment

        clinic = Clinic.objects.create(name="Bench clinic", time_zone="Europe/London", require_mfa_for_managers=False)
        for weekday in range(5):
            OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=clock(8), closes=clock(18))
            NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=4)
        Chair.objects.bulk_create([Chair(clinic=clinic, name=f"Chair {n}", position=n) for n in range(1, CHAIRS + 1)])
        today = clinic_today(clinic)
        content, rows, doses = _file(random.Random(2026), today)  # noqa: S311 - benchmark data
        print(f"file: {PATIENTS:,} patients, {rows:,} rows, {doses:,} doses given, {len(content) / 1024:.0f} KiB")
        failed = False

        started = time.perf_counter()
        result = patients_import(clinic=clinic, rows=read_file("bench.csv", content), by=None, file_name="bench.csv")
        elapsed = time.perf_counter() - started
        print(
            f"import: {elapsed:.2f} s (target under {TARGET_S:.0f} s): {result.patients_created:,} patients, "
            f"{result.courses_created:,} courses, {result.doses_created:,} doses given; {len(result.errors)} refusals"
        )
        failed |= elapsed >= TARGET_S or not result.imported or result.doses_created != doses
        counts = (Patient.objects.count(), Appointment.objects.count())

        started = time.perf_counter()
        again = patients_import(clinic=clinic, rows=read_file("bench.csv", content), by=None, file_name="bench.csv")
        print(
            f"the same file again: {time.perf_counter() - started:.2f} s: {again.patients_matched:,} patients and "
            f"{again.doses_matched:,} doses matched, {again.patients_created + again.doses_created} created"
        )
        failed |= (Patient.objects.count(), Appointment.objects.count()) != counts

        lines = content.decode().splitlines()
        lines[len(lines) // 2] = lines[len(lines) // 2].replace("tysabri", "tysabry").replace("ocrevus", "ocrevuss")
        bad = ("\n".join(lines) + "\n").encode()
        started = time.perf_counter()
        refused = patients_import(
            clinic=Clinic.objects.create(name="Second clinic", time_zone="Europe/London"),
            rows=read_file("bad.csv", bad),
            by=None,
            file_name="bad.csv",
        )
        print(
            f"a file with one bad row: {time.perf_counter() - started:.2f} s, nothing imported "
            f"({Patient.objects.count() - counts[0]} patients added): {refused.errors[0] if refused.errors else 'no refusal!'}"
        )
        failed |= len(refused.errors) != 1 or Patient.objects.count() != counts[0]
        differences = dose_states_verify()
        print(f"stored next doses disagreeing with the visits: {len(differences)}")
        failed |= bool(differences)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
