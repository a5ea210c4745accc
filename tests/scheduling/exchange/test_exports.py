"""Exports: one clinic, one period, the right columns, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.services import patient_create
from scheduling.csv_cells import safe_cell
from scheduling.doses import clinic_today
from scheduling.exports import selectors
from scheduling.models import DataTransfer
from tests.helpers import book_directly, local, make_course

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def _export(client, clinic, subject: str, start, end):
    return client.get(
        reverse("scheduling:export_csv"),
        {"clinic": clinic.pk, "subject": subject, "start": start.isoformat(), "end": end.isoformat()},
    )


def test_the_appointments_export_holds_the_clinics_visits_of_the_period(client, clinic_a, clinic_b, manager):
    today = clinic_today(clinic_a)
    inside = book_directly(
        course=make_course(clinic_a, "ocrevus", start=today, mrn="RX1", first_name="Alice", last_name="Brown"),
        starts_at=local(clinic_a, today + timedelta(days=2), 9, 30),
    )
    book_directly(
        course=make_course(clinic_a, "ocrevus", start=today), starts_at=local(clinic_a, today + timedelta(days=9), 9)
    )
    book_directly(
        course=make_course(clinic_b, "ocrevus", start=today, mrn="RXB"),
        starts_at=local(clinic_b, today + timedelta(days=2), 9),
    )
    client.force_login(manager)

    rows = _csv(_export(client, clinic_a, "appointments", today, today + timedelta(days=7)))

    assert rows[0][:6] == ["appointment", "day", "starts", "ends", "chair", "mrn"]
    assert len(rows) == 2
    assert rows[1][:11] == [
        str(inside.pk),
        (today + timedelta(days=2)).isoformat(),
        "09:30",
        inside.ends_at.astimezone(clinic_a.tz).strftime("%H:%M"),
        inside.chair.name,
        "RX1",
        "Alice Brown",
        "Ocrevus",
        "ocrevus",
        "1",
        "Booked",
    ]
    transfer = DataTransfer.objects.get()
    assert (transfer.kind, transfer.subject, transfer.counts["rows"], transfer.by) == (
        "export",
        "appointments",
        1,
        manager,
    )


def test_a_manager_cannot_export_another_clinic(client, clinic_a, clinic_b, manager):
    client.force_login(manager)
    today = clinic_today(clinic_a)

    response = _export(client, clinic_b, "appointments", today, today)

    assert response.status_code == 400
    assert not DataTransfer.objects.exists()


def test_a_cell_that_would_run_as_a_formula_is_written_as_text(client, clinic_a, manager):
    today = clinic_today(clinic_a)
    patient = patient_create(
        clinic=clinic_a,
        mrn="+RX1",
        first_name='=HYPERLINK("http://x")',
        last_name="@Brown",
        date_of_birth=today - timedelta(days=9000),
    )
    course = make_course(clinic_a, "ocrevus", start=today)
    course.patient = patient
    course.save()
    book_directly(course=course, starts_at=local(clinic_a, today + timedelta(days=1), 9))
    client.force_login(manager)

    row = _csv(_export(client, clinic_a, "appointments", today, today + timedelta(days=3)))[1]

    assert row[5] == "'+RX1"
    assert row[6] == '\'=HYPERLINK("http://x") @Brown'
    assert safe_cell("-3.5") == "-3.5" and safe_cell("-1+2") == "'-1+2" and safe_cell("@x") == "'@x"


def test_the_audit_export_lists_the_clinics_entries_of_the_period_only(client, clinic_a, clinic_b, manager):
    today = clinic_today(clinic_a)
    patient_create(
        clinic=clinic_a, mrn="RXA", first_name="Ann", last_name="Ash", date_of_birth=today - timedelta(days=9000)
    )
    patient_create(
        clinic=clinic_b, mrn="RXB", first_name="Bea", last_name="Birch", date_of_birth=today - timedelta(days=9000)
    )
    client.force_login(manager)

    rows = _csv(_export(client, clinic_a, "audit", today - timedelta(days=1), today + timedelta(days=1)))
    earlier = _csv(_export(client, clinic_a, "audit", today - timedelta(days=30), today - timedelta(days=2)))

    assert rows[0] == ["at", "by", "via", "address", "action", "what", "record", "changes"]
    text = "\n".join(",".join(row) for row in rows)
    assert "RXA" in text and "Ann" in text
    assert "RXB" not in text and "Bea" not in text
    assert len(earlier) == 1


def test_the_audit_export_reads_the_log_once_however_many_entries_it_writes(clinic_a, django_assert_num_queries):
    today = clinic_today(clinic_a)
    born = today - timedelta(days=9000)
    patients = [patient_create(clinic=clinic_a, mrn="RX0", first_name="Ann", last_name="Ash", date_of_birth=born)]

    def export():
        return list(selectors.audit_rows(clinic_a, today - timedelta(days=1), today + timedelta(days=1)))

    export()  # the content types are cached from here on
    with CaptureQueriesContext(connection) as few:
        export()
    for number in range(1, 20):
        patients.append(
            patient_create(clinic=clinic_a, mrn=f"RX{number}", first_name="Ann", last_name="Ash", date_of_birth=born)
        )
    with django_assert_num_queries(len(few.captured_queries)):
        rows = export()

    assert sum('FROM "auditlog_logentry"' in query["sql"] for query in few.captured_queries) == 1
    created = [row[6] for row in rows if row[4] == "Created" and row[5] == "Patient"]
    assert created == [str(patient.pk) for patient in patients]


def test_the_utilisation_export_gives_the_utilisation_figures_of_the_period(client, clinic_a, manager):
    today = clinic_today(clinic_a)
    client.force_login(manager)

    rows = _csv(_export(client, clinic_a, "utilisation", today - timedelta(days=13), today - timedelta(days=1)))

    assert rows[0] == ["figure", "group", "count", "of", "value", "unit"]
    assert {row[0] for row in rows[1:]} >= {"scheduled utilisation", "actual utilisation"}


def test_a_period_ending_before_it_starts_is_refused_with_a_sentence(client, clinic_a, manager):
    today = clinic_today(clinic_a)
    client.force_login(manager)

    response = _export(client, clinic_a, "appointments", today, today - timedelta(days=1))

    assert response.status_code == 400
    assert "The last day is before the first day. Pick a later last day." in response.content.decode()
