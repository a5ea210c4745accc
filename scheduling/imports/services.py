"""`patients_import`: a clinic's patients, courses and past doses from an import file, all or nothing.

Every row is checked before anything stays: the file's own values first (dates, codes, the
same patient written the same way on each of their rows), then the rules of the services that
write them (`patient_create`, `course_create`: a free MRN, one course per drug, the therapy
class), run inside one transaction that is rolled back when any row is refused or the run is a
dry run. So a dry run reports exactly what the import would refuse.

A patient whose MRN is already at the clinic is matched (their date of birth must agree), a
course of a drug the patient already holds is matched (its regimen and start must agree), and
a dose given on a day the course already has a given dose is matched: importing a file twice
changes nothing. Doses given are written as completed visits, with the history a given visit
has (booked, then completed, by the importer, naming the file), each in a chair free at that
time on its day (from the clinic's opening), with the chair time the dosing rules give that
dose. The stored next doses of the courses touched are refreshed before the transaction ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from clinic.dosing import GivenDose, next_dose
from clinic.inputs import phone_e164
from clinic.models import Chair, Clinic, Regimen
from patients.models import Patient, TreatmentCourse
from patients.services import course_create, courses_create_many, patient_phone_region, patients_create_many
from scheduling.availability.loading import opening_hours
from scheduling.doses import RegimenSpecs, clinic_today, course_visits, dose_states_refresh
from scheduling.imports.reading import Row
from scheduling.models import Appointment, AppointmentEvent, DataTransfer

Status = Appointment.Status
YES = {"yes", "y", "true", "1", "x"}
NO = {"no", "n", "false", "0", ""}
EARLIEST_YEAR = 2000  # the dosing rules read dates from 2000 on (`scheduling.data_problems`)
# The service fields their sentences name, and the file's columns they came from.
FIELD_COLUMNS = {
    "mrn": "mrn",
    "first_name": "first_name",
    "last_name": "last_name",
    "date_of_birth": "date_of_birth",
    "email": "email",
    "phone": "phone",
    "regimen": "regimen",
    "start_date": "course_start",
    "options": "course_options",
    "authorization_number": "authorization_number",
    "authorization_expires_on": "authorization_expires_on",
}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}, column {self.column}" if self.column else f"Row {self.row}"
        return f"{where}: {self.message}"


@dataclass
class ImportResult:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    patients_created: int = 0
    patients_matched: int = 0
    courses_created: int = 0
    courses_matched: int = 0
    doses_created: int = 0
    doses_matched: int = 0
    dry_run: bool = False
    transfer: DataTransfer | None = None

    @property
    def imported(self) -> bool:
        return not self.errors and not self.dry_run

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "errors": len(self.errors),
            "patients_created": self.patients_created,
            "patients_matched": self.patients_matched,
            "courses_created": self.courses_created,
            "courses_matched": self.courses_matched,
            "doses_created": self.doses_created,
            "doses_matched": self.doses_matched,
        }


class _Refused(Exception):
    """Ends the import's transaction so that it rolls back."""


@dataclass
class _CoursePlan:
    row: int
    regimen: Regimen
    start_date: date
    options: list[str]
    authorization_number: str
    authorization_expires_on: date | None
    doses: dict[date, int] = field(default_factory=dict)  # day given -> the row saying so


@dataclass
class _PatientPlan:
    row: int
    mrn: str
    details: dict
    courses: dict[int, _CoursePlan] = field(default_factory=dict)  # by drug id
    refused: bool = False


def _day(text: str, row: int, column: str, errors: list[RowError], *, required: bool = False) -> date | None:
    if not text:
        if required:
            errors.append(RowError(row, column, "is empty. Write the date as year-month-day, like 2025-03-08."))
        return None
    try:
        return date.fromisoformat(text[:10]) if len(text) in (10, 19) else date.fromisoformat(text)
    except ValueError:
        errors.append(
            RowError(
                row, column, f"“{text}” is not a date Chairside can read. Write it as year-month-day, like 2025-03-08."
            )
        )
        return None


def _yes_no(text: str, row: int, column: str, errors: list[RowError]) -> bool:
    value = text.strip().lower()
    if value in YES:
        return True
    if value not in NO:
        errors.append(
            RowError(row, column, f"“{text}” is neither yes nor no. Write yes or no, or leave it empty for no.")
        )
    return False


class _Regimens:
    """Regimens by code or by their drug's brand or generic name, case aside, read once."""

    def __init__(self) -> None:
        self.by_name: dict[str, Regimen] = {}
        for regimen in Regimen.objects.filter(active=True).select_related("drug").prefetch_related("phases"):
            for name in (regimen.code, regimen.drug.brand_name, regimen.drug.generic_name):
                self.by_name.setdefault(name.strip().lower(), regimen)

    def get(self, text: str) -> Regimen | None:
        return self.by_name.get(text.strip().lower())


def _plans(rows: list[Row], clinic: Clinic, today: date, errors: list[RowError]) -> dict[str, _PatientPlan]:
    """The file's patients, courses and doses, each value checked; errors name the row and the column."""
    regimens = _Regimens()
    region = patient_phone_region(clinic)
    plans: dict[str, _PatientPlan] = {}
    for row in rows:
        values, number = row.values, row.number
        found: list[RowError] = []
        mrn = values.get("mrn", "").strip()
        for column in ("mrn", "first_name", "last_name"):
            if not values.get(column, "").strip():
                found.append(
                    RowError(number, column, "is empty. Every row needs the patient's MRN, first and last name.")
                )
        born = _day(values.get("date_of_birth", ""), number, "date_of_birth", found, required=True)
        if born and not (date(1900, 1, 1) <= born <= today):
            found.append(
                RowError(
                    number,
                    "date_of_birth",
                    f"{born.isoformat()} is before 1900 or in the future. Check the date of birth.",
                )
            )
        email = values.get("email", "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                found.append(
                    RowError(number, "email", f"“{email}” is not an email address. Correct it or leave it empty.")
                )
        phone = ""
        try:
            phone = phone_e164(values.get("phone", ""), region=region)
        except ValidationError as error:
            found.append(RowError(number, "phone", " ".join(error.messages)))
        details = {
            "first_name": values.get("first_name", "").strip(),
            "last_name": values.get("last_name", "").strip(),
            "date_of_birth": born,
            "email": email,
            "phone": phone,
            "reminder_consent": _yes_no(values.get("reminder_consent", ""), number, "reminder_consent", found),
            "sms_consent": _yes_no(values.get("sms_consent", ""), number, "sms_consent", found),
        }
        course = _course(values, number, today, regimens, found)
        given_on = _day(values.get("dose_given_on", ""), number, "dose_given_on", found)
        if given_on is not None:
            if course is None and not values.get("regimen", "").strip():
                found.append(
                    RowError(
                        number, "regimen", "is empty, but the row gives a dose. Write the regimen the dose belongs to."
                    )
                )
            if given_on >= today:
                found.append(
                    RowError(
                        number,
                        "dose_given_on",
                        f"{given_on.isoformat()} is today or later. Import only doses already given; book the coming ones from the worklist.",
                    )
                )
            elif given_on.year < EARLIEST_YEAR:
                found.append(
                    RowError(
                        number, "dose_given_on", f"{given_on.isoformat()} is before {EARLIEST_YEAR}. Check the date."
                    )
                )
        if not mrn:
            errors.extend(found)
            continue
        key = mrn.lower()
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _PatientPlan(row=number, mrn=mrn, details=details)
        else:
            for name, value in details.items():
                if value != plan.details[name] and not any(error.column == name for error in found):
                    found.append(
                        RowError(
                            number,
                            name,
                            f"differs from row {plan.row} for MRN {mrn}. Write each patient's details the same on all their rows.",
                        )
                    )
        if course is not None:
            existing = plan.courses.get(course.regimen.drug_id)
            if existing is None:
                plan.courses[course.regimen.drug_id] = existing = course
            elif (existing.regimen.pk, existing.start_date) != (course.regimen.pk, course.start_date):
                found.append(
                    RowError(
                        number,
                        "course_start",
                        f"gives another {course.regimen.drug.brand_name} course than row {existing.row} for MRN {mrn}. Write one course per drug the same on all its rows.",
                    )
                )
            if given_on is not None and not found:
                if given_on in existing.doses:
                    found.append(
                        RowError(
                            number,
                            "dose_given_on",
                            f"repeats the dose given on {given_on.isoformat()} in row {existing.doses[given_on]}. Remove one of the two rows.",
                        )
                    )
                elif given_on < existing.start_date - timedelta(days=366):
                    found.append(
                        RowError(
                            number,
                            "dose_given_on",
                            f"{given_on.isoformat()} is more than a year before the course start. Check the date or the course start.",
                        )
                    )
                else:
                    existing.doses[given_on] = number
        if found:
            plan.refused = True
            errors.extend(found)
    return plans


def _course(values: dict, number: int, today: date, regimens: _Regimens, found: list[RowError]) -> _CoursePlan | None:
    text = values.get("regimen", "").strip()
    if not text:
        for column in ("course_start", "course_options", "authorization_number", "authorization_expires_on"):
            if values.get(column, "").strip():
                found.append(
                    RowError(
                        number, "regimen", f"is empty, but {column} is filled in. Write the regimen, or empty {column}."
                    )
                )
                break
        return None
    regimen = regimens.get(text)
    if regimen is None:
        codes = ", ".join(sorted({r.code for r in regimens.by_name.values()}))
        found.append(RowError(number, "regimen", f"“{text}” is not a regimen at Chairside. Write one of {codes}."))
        return None
    start = _day(values.get("course_start", ""), number, "course_start", found, required=True)
    if start and start.year < EARLIEST_YEAR:
        found.append(
            RowError(number, "course_start", f"{start.isoformat()} is before {EARLIEST_YEAR}. Check the date.")
        )
        start = None
    expires = _day(values.get("authorization_expires_on", ""), number, "authorization_expires_on", found)
    options = [
        option.strip() for option in values.get("course_options", "").replace(",", ";").split(";") if option.strip()
    ]
    offered = {key for key, _label in regimen.option_choices()}
    unknown = [option for option in options if option not in offered]
    if unknown:
        choices = ", ".join(sorted(offered)) or "none"
        found.append(
            RowError(
                number,
                "course_options",
                f"{regimen.code} does not offer {', '.join(unknown)}. Its options are: {choices}.",
            )
        )
    if start is None:
        return None
    return _CoursePlan(
        row=number,
        regimen=regimen,
        start_date=start,
        options=options,
        authorization_number=values.get("authorization_number", "").strip(),
        authorization_expires_on=expires,
    )


def _sentences(error: ValidationError, row: int) -> list[RowError]:
    if hasattr(error, "error_dict"):
        return [
            RowError(row, FIELD_COLUMNS.get(name, ""), " ".join(messages))
            for name, messages in error.message_dict.items()
        ]
    return [RowError(row, "", " ".join(error.messages))]


class _Chairs:
    """Where each dose given goes: the chair free earliest on its day, from the clinic's opening.

    Seeded with the active visits already on those days, so no chair and no patient holds two
    visits at once (the database's exclusion constraints hold for visits of the past too).
    """

    def __init__(self, clinic: Clinic, days: set[date]) -> None:
        self.clinic = clinic
        self.chairs = list(Chair.objects.filter(clinic=clinic).order_by("position", "name"))
        self.hours = opening_hours(clinic)
        self.free: dict[tuple[date, int], datetime] = {}
        self.patient_free: dict[tuple[date, int], datetime] = {}
        if not days:
            return
        tz = clinic.tz
        start = datetime.combine(min(days), time.min, tzinfo=tz)
        end = datetime.combine(max(days) + timedelta(days=1), time.min, tzinfo=tz)
        for chair_id, patient_id, starts_at, ends_at in (
            Appointment.objects.active()
            .filter(clinic=clinic, starts_at__lt=end, ends_at__gt=start)
            .values_list("chair_id", "patient_id", "starts_at", "ends_at")
        ):
            day = starts_at.astimezone(tz).date()
            if day in days:
                self.free[day, chair_id] = max(self.free.get((day, chair_id), ends_at), ends_at)
                self.patient_free[day, patient_id] = max(self.patient_free.get((day, patient_id), ends_at), ends_at)

    def take(self, day: date, patient_id: int, minutes: int) -> tuple[Chair, datetime, datetime]:
        opens = self.hours.get(day.weekday(), (time(8), None, 0))[0]
        opening = datetime.combine(day, opens, tzinfo=self.clinic.tz)
        earliest = max(opening, self.patient_free.get((day, patient_id), opening))
        chair = min(self.chairs, key=lambda chair: max(earliest, self.free.get((day, chair.pk), opening)))
        starts_at = max(earliest, self.free.get((day, chair.pk), opening))
        ends_at = starts_at + timedelta(minutes=max(minutes, 1))
        self.free[day, chair.pk] = ends_at
        self.patient_free[day, patient_id] = ends_at
        return chair, starts_at, ends_at


def _given_visit(course: TreatmentCourse, patient: Patient, *, dose_number: int, place, chair_time, by, note: str):
    """A dose given before Chairside, as a completed visit with the history a given visit has."""
    chair, starts_at, ends_at = place
    infusion_started = starts_at + timedelta(minutes=chair_time.premed_minutes)
    infusion_ended = infusion_started + timedelta(minutes=chair_time.infusion_minutes)
    appointment = Appointment(
        clinic=patient.clinic,
        chair=chair,
        patient=patient,
        course=course,
        dose_number=dose_number,
        starts_at=starts_at,
        ends_at=ends_at,
        premed_minutes=chair_time.premed_minutes,
        infusion_minutes=chair_time.infusion_minutes,
        observation_minutes=chair_time.observation_minutes,
        status=Status.COMPLETED,
        booked_by=by,
        arrived_at=starts_at,
        in_chair_at=starts_at,
        infusion_started_at=infusion_started,
        infusion_ended_at=infusion_ended,
        completed_at=ends_at,
        notes=note,
    )
    slot = {
        "chair_id": chair.pk,
        "chair": chair.name,
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
    }
    events = [
        AppointmentEvent(
            by=by,
            action=AppointmentEvent.Action.BOOKED,
            to_status=Status.BOOKED,
            reason=note,
            details={**slot, "dose_number": dose_number, "imported": True},
        ),
        AppointmentEvent(
            by=by,
            action=AppointmentEvent.Action.STATUS,
            from_status=Status.BOOKED,
            to_status=Status.COMPLETED,
            reason=note,
            details={"at": ends_at.isoformat(), "imported": True},
        ),
    ]
    return appointment, events


def _write(
    plans: dict[str, _PatientPlan], *, clinic: Clinic, by, file_name: str, today: date, result: ImportResult
) -> None:
    errors = result.errors
    keys = [key for key, plan in plans.items() if not plan.refused]
    existing = {
        patient.key: patient
        for patient in Patient.objects.filter(clinic=clinic).annotate(key=Lower("mrn")).filter(key__in=keys)
    }
    held: dict[tuple[int, int], TreatmentCourse] = {}
    for course in TreatmentCourse.objects.filter(
        patient__in=list(existing.values()), status__in=TreatmentCourse.HOLDING_STATUSES
    ).select_related("regimen__drug", "patient__clinic"):
        held.setdefault((course.patient_id, course.regimen.drug_id), course)
    matched: list[tuple[Patient, _PatientPlan]] = []
    new: list[_PatientPlan] = []
    for key in keys:
        plan = plans[key]
        patient = existing.get(key)
        if patient is None:
            new.append(plan)
        elif patient.date_of_birth != plan.details["date_of_birth"]:
            errors.append(
                RowError(
                    plan.row,
                    "date_of_birth",
                    (
                        f"MRN {plan.mrn} is already at {clinic.name} for a patient born on another day. "
                        "Check the MRN and the date of birth: Chairside will not merge two people."
                    ),
                )
            )
        else:
            patient.clinic = clinic
            matched.append((patient, plan))
    result.patients_matched = len(matched)
    created = patients_create_many(clinic=clinic, patients=[{"mrn": plan.mrn, **plan.details} for plan in new], by=by)
    for plan, item in zip(new, created, strict=True):
        if isinstance(item, ValidationError):
            errors.extend(_sentences(item, plan.row))
    if errors:
        return
    result.patients_created = len(created)
    courses: list[tuple[Patient, TreatmentCourse, _CoursePlan]] = []
    # A new patient's one course is written with the others in bulk; the rest go one by one through
    # course_create, which checks them against the patient's other courses.
    in_bulk: list[tuple[Patient, _CoursePlan]] = []
    one_by_one: list[tuple[Patient, _CoursePlan]] = []
    new_plans = {id(plan) for plan in new}
    for patient, plan in [*zip(created, new, strict=True), *matched]:
        alone = id(plan) in new_plans and len(plan.courses) == 1
        for drug_id, course_plan in plan.courses.items():
            course = held.get((patient.pk, drug_id))
            if course is not None:
                if (course.regimen_id, course.start_date) != (course_plan.regimen.pk, course_plan.start_date):
                    errors.append(
                        RowError(
                            course_plan.row,
                            "course_start",
                            (
                                f"MRN {plan.mrn} already has a {course.regimen.drug.brand_name} course at {clinic.name} "
                                f"on {course.regimen.code} from {course.start_date.isoformat()}. Write that regimen and "
                                "start, or change the course on the patient's page first."
                            ),
                        )
                    )
                    continue
                result.courses_matched += 1
                courses.append((patient, course, course_plan))
            else:
                (in_bulk if alone else one_by_one).append((patient, course_plan))
    note = f"Imported from {file_name}."
    made = courses_create_many(
        courses=[
            {
                "patient": patient,
                "regimen": course_plan.regimen,
                "start_date": course_plan.start_date,
                "options": course_plan.options,
                "authorization_number": course_plan.authorization_number,
                "authorization_expires_on": course_plan.authorization_expires_on,
                "notes": note,
            }
            for patient, course_plan in in_bulk
        ],
        created_by=by,
    )
    for (patient, course_plan), item in zip(in_bulk, made, strict=True):
        if isinstance(item, ValidationError):
            errors.extend(_sentences(item, course_plan.row))
        else:
            courses.append((patient, item, course_plan))
    for patient, course_plan in one_by_one:
        try:
            with transaction.atomic():
                course = course_create(
                    patient=patient,
                    regimen=course_plan.regimen,
                    start_date=course_plan.start_date,
                    options=course_plan.options,
                    authorization_number=course_plan.authorization_number,
                    authorization_expires_on=course_plan.authorization_expires_on,
                    created_by=by,
                    notes=note,
                )
        except ValidationError as error:
            errors.extend(_sentences(error, course_plan.row))
            continue
        courses.append((patient, course, course_plan))
    result.courses_created = len(courses) - result.courses_matched
    if errors:
        return
    _write_doses(courses, clinic=clinic, by=by, file_name=file_name, result=result)
    dose_states_refresh([course.pk for _patient, course, _plan in courses])


def _write_doses(courses, *, clinic: Clinic, by, file_name: str, result: ImportResult) -> None:
    """Each course's new doses given, numbered after the ones it has, with the chair time the rules give them."""
    visits = course_visits([course for _patient, course, _plan in courses])
    specs = RegimenSpecs.for_regimens({course.regimen_id for _patient, course, _plan in courses})
    wanted: list[tuple[Patient, TreatmentCourse, _CoursePlan, list[date], int, list[GivenDose]]] = []
    days: set[date] = set()
    for patient, course, plan in courses:
        given, booked = visits[course.pk]
        have = {visit.date for visit in given}
        new = sorted(day for day in plan.doses if day not in have)
        result.doses_matched += len(plan.doses) - len(new)
        if not new:
            continue
        if booked:
            result.errors.append(
                RowError(
                    plan.doses[new[0]],
                    "dose_given_on",
                    (
                        f"MRN {patient.mrn}'s {course.regimen.drug.brand_name} course has a visit booked already, so past doses "
                        "cannot be added before it. Record this dose on the roster, or cancel the booking and import again."
                    ),
                )
            )
            continue
        if given and new[0] < given[-1].date:
            result.errors.append(
                RowError(
                    plan.doses[new[0]],
                    "dose_given_on",
                    (
                        f"{new[0].isoformat()} is before dose {given[-1].dose_number}, given on {given[-1].date.isoformat()} "
                        "and already in Chairside. Import only the doses after it."
                    ),
                )
            )
            continue
        number = max((visit.dose_number for visit in given), default=0)
        wanted.append((patient, course, plan, new, number, [visit.as_given() for visit in given]))
        days.update(new)
    if result.errors:
        return
    chairs = _Chairs(clinic, days)
    if not chairs.chairs and wanted:
        result.errors.append(
            RowError(1, "", f"{clinic.name} has no chairs, so no dose given can be placed. Add its chairs first.")
        )
        return
    note = f"Given before Chairside; imported from {file_name}."
    rows: list[tuple[Appointment, list[AppointmentEvent]]] = []
    for patient, course, plan, new, number, history in wanted:
        spec = specs.for_clinic(course.regimen_id, clinic.pk)
        for day in new:
            dose = next_dose(
                spec,
                start_date=course.start_date,
                given=history,
                options=course.options,
                today=day,
                due_soon_days=clinic.due_soon_days,
            )
            if dose is None:
                result.errors.append(
                    RowError(
                        plan.doses[day],
                        "dose_given_on",
                        (
                            f"{course.regimen} has no dose after dose {number}, so the dose given on {day.isoformat()} "
                            "has no place in the course. Check the regimen and the dates."
                        ),
                    )
                )
                break
            number += 1
            place = chairs.take(day, patient.pk, dose.chair_time.total_minutes)
            rows.append(
                _given_visit(
                    course, patient, dose_number=number, place=place, chair_time=dose.chair_time, by=by, note=note
                )
            )
            history.append(GivenDose(day))
    if result.errors:
        return
    appointments = [appointment for appointment, _events in rows]
    Appointment.objects.bulk_create(appointments, batch_size=500)
    events = []
    for appointment, appointment_events in rows:
        for event in appointment_events:
            event.appointment = appointment
            events.append(event)
    AppointmentEvent.objects.bulk_create(events, batch_size=1000)
    result.doses_created += len(appointments)


def patients_import(
    *, clinic: Clinic, rows: list[Row], by, file_name: str, dry_run: bool = False, today: date | None = None
) -> ImportResult:
    """Check every row, then import them all, or nothing when one is refused (or on a dry run).

    Returns what was (or, on a dry run, would be) created and matched, and every refusal as a
    sentence naming its row and column. Each run, dry or not, is recorded as a DataTransfer.
    """
    day = today or clinic_today(clinic)
    result = ImportResult(rows=len(rows), dry_run=dry_run)
    plans = _plans(rows, clinic, day, result.errors)
    try:
        with transaction.atomic():
            _write(plans, clinic=clinic, by=by, file_name=file_name, today=day, result=result)
            if result.errors or dry_run:
                raise _Refused
            result.transfer = _record(clinic=clinic, by=by, file_name=file_name, result=result)
    except _Refused:
        result.transfer = _record(clinic=clinic, by=by, file_name=file_name, result=result)
    result.errors.sort(key=lambda error: (error.row, error.column))
    return result


@transaction.atomic
def _record(*, clinic: Clinic, by, file_name: str, result: ImportResult) -> DataTransfer:
    return DataTransfer.objects.create(
        kind=DataTransfer.Kind.IMPORT,
        clinic=clinic,
        subject="patients",
        by=by,
        file_name=file_name[:200],
        dry_run=result.dry_run,
        counts={**result.counts(), "imported": result.imported},
    )
