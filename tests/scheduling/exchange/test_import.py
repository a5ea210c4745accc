"""Importing patients, courses and past doses: every row checked first, all or nothing, twice changes nothing."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import Workbook

from patients.models import Patient, TreatmentCourse
from scheduling.doses import clinic_today
from scheduling.imports import template_file
from scheduling.imports.columns import NAMES
from scheduling.imports.reading import FileError, read_file
from scheduling.imports.services import patients_import
from scheduling.models import Appointment, AppointmentEvent, DataTransfer, DoseState
from tests.factories import PatientFactory
from tests.helpers import book_directly, give, local, make_course
from tests.scheduling.exchange.support import ocrevus_initiated, patient_rows, rows_csv

pytestmark = pytest.mark.django_db


def _import(clinic, content: bytes, *, by=None, dry_run=False, name="patients.csv"):
    return patients_import(clinic=clinic, rows=read_file(name, content), by=by, file_name=name, dry_run=dry_run)


def _counts(clinic):
    return (
        Patient.objects.filter(clinic=clinic).count(),
        TreatmentCourse.objects.filter(patient__clinic=clinic).count(),
        Appointment.objects.filter(clinic=clinic).count(),
        AppointmentEvent.objects.filter(appointment__clinic=clinic).count(),
    )


def test_doses_given_become_completed_visits_and_the_next_dose_is_planned_from_them(clinic_a, manager):
    today = clinic_today(clinic_a)
    rows = ocrevus_initiated("RX1", today) + patient_rows("RX2", first="Ben", last="Clark", regimen="", start=today)

    result = _import(clinic_a, rows_csv(rows), by=manager)

    assert result.errors == []
    assert (result.patients_created, result.courses_created, result.doses_created) == (2, 1, 2)
    course = TreatmentCourse.objects.get(patient__mrn="RX1")
    visits = list(course.appointments.order_by("starts_at"))
    assert [visit.status for visit in visits] == [Appointment.Status.COMPLETED] * 2
    assert [visit.dose_number for visit in visits] == [1, 2]
    assert [visit.starts_at.astimezone(clinic_a.tz).date() for visit in visits] == [
        course.start_date,
        course.start_date + timedelta(days=14),
    ]
    # The chair time the dosing rules give each dose (Ocrevus: 300 mg initiation infusions, premedication first).
    assert all(visit.infusion_minutes > 0 and visit.premed_minutes > 0 for visit in visits)
    assert visits[0].infusion_started_at == visits[0].starts_at + timedelta(minutes=visits[0].premed_minutes)
    assert [event.action for event in visits[0].events.order_by("pk")] == ["booked", "status"]
    state = DoseState.objects.get(course=course)
    assert state.dose_number == 3 and state.given_count == 2
    assert state.target_date > course.start_date + timedelta(days=150)  # maintenance, six months from dose 1


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row_and_column(clinic_a, manager):
    today = clinic_today(clinic_a)
    rows = ocrevus_initiated("RX1", today) + ocrevus_initiated("RX2", today, first="Ben")
    rows[3]["date_of_birth"] = "31/02/1984"  # row 5 of the sheet (the header is row 1)
    rows[2]["date_of_birth"] = "31/02/1984"
    before = _counts(clinic_a)

    result = _import(clinic_a, rows_csv(rows), by=manager)

    assert _counts(clinic_a) == before
    assert not result.imported
    assert str(result.errors[0]) == (
        "Row 4, column date_of_birth: “31/02/1984” is not a date Chairside can read. "
        "Write it as year-month-day, like 2025-03-08."
    )
    assert [error.row for error in result.errors] == [4, 5]
    assert not DoseState.objects.exists()


def test_a_course_the_services_refuse_imports_nothing_and_names_its_row(clinic_a, manager):
    today = clinic_today(clinic_a)
    # Two MS therapies of one class at once: course_create refuses it for want of a manager's reason.
    rows = ocrevus_initiated("RX1", today) + patient_rows("RX1", regimen="briumvi", start=today - timedelta(days=10))

    result = _import(clinic_a, rows_csv(rows), by=manager)

    assert not Patient.objects.filter(clinic=clinic_a).exists()
    assert [(error.row, error.column) for error in result.errors] == [(4, "regimen")]
    assert "Ocrevus" in result.errors[0].message


def test_importing_the_same_file_twice_changes_nothing(clinic_a, manager):
    today = clinic_today(clinic_a)
    content = rows_csv(ocrevus_initiated("RX1", today) + ocrevus_initiated("RX2", today, first="Ben", last="Day"))

    first = _import(clinic_a, content, by=manager)
    after_first = _counts(clinic_a)
    second = _import(clinic_a, content, by=manager)

    assert first.imported and second.imported
    assert _counts(clinic_a) == after_first == (2, 2, 4, 8)
    assert (second.patients_created, second.courses_created, second.doses_created) == (0, 0, 0)
    assert (second.patients_matched, second.courses_matched, second.doses_matched) == (2, 2, 4)


def test_an_mrn_already_at_the_clinic_is_matched_and_another_clinics_is_not(clinic_a, clinic_b, manager):
    today = clinic_today(clinic_a)
    here = PatientFactory(clinic=clinic_a, mrn="rx1", first_name="Alice", date_of_birth=date(1984, 3, 8))
    elsewhere = PatientFactory(clinic=clinic_b, mrn="RX1", date_of_birth=date(1984, 3, 8))

    result = _import(clinic_a, rows_csv(ocrevus_initiated("RX1", today)), by=manager)

    assert (result.patients_created, result.patients_matched) == (0, 1)
    assert Patient.objects.filter(clinic=clinic_a).count() == 1
    assert here.courses.count() == 1 and here.appointments.count() == 2
    assert not elsewhere.courses.exists()


def test_an_mrn_at_the_clinic_for_someone_born_on_another_day_is_refused(clinic_a, manager):
    today = clinic_today(clinic_a)
    PatientFactory(clinic=clinic_a, mrn="RX1", date_of_birth=date(1950, 1, 1))

    result = _import(clinic_a, rows_csv(ocrevus_initiated("RX1", today)), by=manager)

    assert [(error.row, error.column) for error in result.errors] == [(2, "date_of_birth")]
    assert "will not merge two people" in str(result.errors[0])
    assert not Appointment.objects.exists()


def test_doses_are_added_after_those_a_matched_course_already_has(clinic_a, manager):
    course = make_course(clinic_a, "ocrevus", start=clinic_today(clinic_a) - timedelta(days=220), mrn="RX9")
    patient = course.patient
    give(course, course.start_date)
    later = course.start_date + timedelta(days=14)
    rows = patient_rows(
        "RX9",
        first=patient.first_name,
        last=patient.last_name,
        born=patient.date_of_birth.isoformat(),
        start=course.start_date,
        doses=(course.start_date, later),
    )

    result = _import(clinic_a, rows_csv(rows), by=manager)

    assert (result.courses_matched, result.doses_matched, result.doses_created) == (1, 1, 1)
    assert list(course.appointments.order_by("dose_number").values_list("dose_number", flat=True)) == [1, 2]
    assert DoseState.objects.get(course=course).dose_number == 3


def test_a_dry_run_checks_everything_and_saves_nothing_but_its_trace(clinic_a, manager):
    today = clinic_today(clinic_a)

    result = _import(clinic_a, rows_csv(ocrevus_initiated("RX1", today)), by=manager, dry_run=True)

    assert result.errors == [] and not result.imported
    assert (result.patients_created, result.doses_created) == (1, 2)
    assert not Patient.objects.exists()
    transfer = DataTransfer.objects.get()
    assert transfer.dry_run and transfer.counts["patients_created"] == 1 and transfer.by == manager


def test_every_import_leaves_a_trace_in_the_audit_trail(clinic_a, manager):
    result = _import(clinic_a, rows_csv(ocrevus_initiated("RX1", clinic_today(clinic_a))), by=manager)

    assert result.transfer.kind == DataTransfer.Kind.IMPORT and result.transfer.counts["doses_created"] == 2
    assert LogEntry.objects.get_for_object(result.transfer).exists()
    assert LogEntry.objects.get_for_object(Patient.objects.get(mrn="RX1")).exists()
    event = AppointmentEvent.objects.filter(to_status=Appointment.Status.COMPLETED).first()
    assert "imported from patients.csv" in event.reason


def test_an_xlsx_file_imports_like_a_csv(clinic_a, manager):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(NAMES))
    for row in ocrevus_initiated("RX1", clinic_today(clinic_a)):
        values = [row.get(name, "") for name in NAMES]
        values[NAMES.index("dose_given_on")] = date.fromisoformat(row["dose_given_on"])  # a real date cell
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)

    result = _import(clinic_a, out.getvalue(), by=manager, name="patients.xlsx")

    assert result.imported and result.doses_created == 2


def test_a_file_without_the_required_columns_is_refused_with_a_sentence():
    with pytest.raises(FileError, match="Row 1 \\(the header\\) has no column date_of_birth"):
        read_file("patients.csv", b"mrn,first_name,last_name\nRX1,Alice,Brown\n")


def test_a_dose_given_today_or_later_is_refused(clinic_a, manager):
    today = clinic_today(clinic_a)
    rows = patient_rows("RX1", start=today, doses=(today,))

    result = _import(clinic_a, rows_csv(rows), by=manager)

    assert [(error.row, error.column) for error in result.errors] == [(2, "dose_given_on")]


@pytest.mark.postgres
def test_doses_given_on_a_day_already_busy_take_the_chairs_left_free(clinic_a, manager):
    today = clinic_today(clinic_a)
    rows = ocrevus_initiated("RX1", today)
    day = date.fromisoformat(rows[0]["dose_given_on"])
    # Every chair of the clinic busy from opening to 15:00 that day: the constraint refuses an overlap.
    for chair in clinic_a.chairs.all():
        course = make_course(clinic_a, "tysabri", start=day)
        book_directly(
            course=course,
            chair=chair,
            starts_at=local(clinic_a, day, 8),
            minutes=420,
            status=Appointment.Status.COMPLETED,
        )

    result = _import(clinic_a, rows_csv(rows), by=manager)

    assert result.imported
    first = Appointment.objects.get(patient__mrn="RX1", dose_number=1)
    assert first.starts_at == local(clinic_a, day, 15)


def test_the_command_imports_the_file_and_refuses_a_bad_one_with_exit_1(clinic_a, tmp_path, capsys):
    today = clinic_today(clinic_a)
    good = tmp_path / "good.csv"
    good.write_bytes(rows_csv(ocrevus_initiated("RX1", today)))
    bad_rows = ocrevus_initiated("RX2", today)
    bad_rows[1]["regimen"] = "ocrevuss"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(rows_csv(bad_rows))

    call_command("import_patients", str(good), "--clinic", clinic_a.name, "--dry-run")
    assert not Patient.objects.exists()
    call_command("import_patients", str(good), "--clinic", str(clinic_a.pk))
    assert Appointment.objects.filter(patient__mrn="RX1").count() == 2
    with pytest.raises(CommandError) as refused:
        call_command("import_patients", str(bad), "--clinic", str(clinic_a.pk))

    assert refused.value.returncode == 1
    assert "Row 3, column regimen: “ocrevuss” is not a regimen at Chairside." in capsys.readouterr().out
    assert not Patient.objects.filter(mrn="RX2").exists()


def test_the_page_imports_for_the_managers_clinic_and_never_another(client, clinic_a, clinic_b, manager):
    from django.core.files.uploadedfile import SimpleUploadedFile

    today = clinic_today(clinic_a)
    content = rows_csv(ocrevus_initiated("RX1", today))
    client.force_login(manager)
    url = reverse("scheduling:import_patients")

    other = client.post(url, {"clinic": clinic_b.pk, "file": SimpleUploadedFile("p.csv", content), "action": "import"})
    checked = client.post(url, {"clinic": clinic_a.pk, "file": SimpleUploadedFile("p.csv", content), "action": "check"})
    assert not Patient.objects.exists()
    imported = client.post(
        url, {"clinic": clinic_a.pk, "file": SimpleUploadedFile("p.csv", content), "action": "import"}
    )

    assert other.status_code == 400 and not Patient.objects.filter(clinic=clinic_b).exists()
    assert checked.status_code == 200 and "is ready to import" in checked.content.decode()
    assert imported.status_code == 200 and "Imported p.csv" in imported.content.decode()
    assert Patient.objects.filter(clinic=clinic_a, mrn="RX1").exists()


def test_the_page_shows_each_refusal_as_a_sentence(client, clinic_a, manager):
    from django.core.files.uploadedfile import SimpleUploadedFile

    rows = ocrevus_initiated("RX1", clinic_today(clinic_a))
    rows[1]["dose_given_on"] = "next week"
    client.force_login(manager)

    response = client.post(
        reverse("scheduling:import_patients"),
        {"clinic": clinic_a.pk, "file": SimpleUploadedFile("p.csv", rows_csv(rows)), "action": "import"},
    )

    assert response.status_code == 400
    assert "Row 3, column dose_given_on: “next week” is not a date Chairside can read." in response.content.decode()
    assert not Patient.objects.exists()


def test_the_csv_template_keeps_a_cell_a_spreadsheet_would_run_as_text(client, manager, monkeypatch):
    monkeypatch.setattr(template_file, "EXAMPLE_ROWS", (("=RX1", "@Alice", "-3"),))
    client.force_login(manager)

    lines = client.get(reverse("scheduling:import_template")).content.decode("utf-8-sig").splitlines()

    assert lines[1] == "'=RX1,'@Alice,-3"


def test_the_template_downloads_with_every_column(client, manager):
    client.force_login(manager)

    csv_file = client.get(reverse("scheduling:import_template"))
    xlsx_file = client.get(reverse("scheduling:import_template") + "?format=xlsx")

    assert csv_file.content.decode("utf-8-sig").splitlines()[0] == ",".join(NAMES)
    assert read_file("t.xlsx", xlsx_file.content)[0].values["mrn"] == "RX100234"
