"""Import files written as a clinic's IT would write them."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from scheduling.imports.columns import NAMES


def rows_csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=NAMES)
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in NAMES})
    return out.getvalue().encode()


def patient_rows(mrn: str, *, first="Alice", last="Brown", born="1984-03-08", regimen="ocrevus", start: date, doses=()):
    base = {"mrn": mrn, "first_name": first, "last_name": last, "date_of_birth": born}
    if regimen:
        base |= {"regimen": regimen, "course_start": start.isoformat()}
    if not doses:
        return [base]
    return [base | {"dose_given_on": day.isoformat()} for day in doses]


def ocrevus_initiated(mrn: str, today: date, **fields) -> list[dict]:
    """Two Ocrevus initiation doses 14 days apart, about two months ago."""
    start = today - timedelta(days=60)
    while start.weekday() > 3:
        start -= timedelta(days=1)
    return patient_rows(mrn, start=start, doses=(start, start + timedelta(days=14)), **fields)
