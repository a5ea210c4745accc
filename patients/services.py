"""Writes for patients and their treatment courses.

Every write is keyword-only, atomic and validated with `full_clean()` before it is saved,
so a page, a command or a test all get the same rules and the same sentences. A refused
write raises `ValidationError` with the problem on the field it concerns; nothing is saved.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic.inputs import phone_e164, phone_region_for_time_zone
from clinic.models import Clinic, Regimen
from patients.models import Patient, TreatmentCourse

PATIENT_FIELDS = (
    "mrn",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "reminder_consent",
    "reminder_channel",
    "notes",
)


def _mrn_taken_error(mrn: str) -> ValidationError:
    return ValidationError(
        {
            "mrn": (
                f"MRN {mrn} is already used by another patient at this clinic. "
                "Search for that patient instead of adding them again, or check the number."
            )
        },
        code="mrn_taken",
    )


def check_mrn_free(*, clinic: Clinic, mrn: str, exclude_pk: int | None = None) -> None:
    """Raise the front desk's sentence when another patient of the clinic already has this MRN."""
    others = Patient.objects.filter(clinic=clinic, mrn__iexact=mrn.strip())
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise _mrn_taken_error(mrn)


def patient_phone_region(clinic: Clinic) -> str:
    """The country a national phone number typed at `clinic` belongs to (GB in London, US in New York)."""
    return phone_region_for_time_zone(clinic.time_zone)


def _phone(value: str, *, clinic: Clinic) -> str:
    """`value` in E.164, or the front desk's sentence on the phone field."""
    try:
        return phone_e164(value, region=patient_phone_region(clinic))
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}, code="invalid_phone") from None


def _save_patient(patient: Patient) -> Patient:
    check_mrn_free(clinic=patient.clinic, mrn=patient.mrn, exclude_pk=patient.pk)
    patient.full_clean()
    try:
        # A savepoint, so a concurrent duplicate caught by the database constraint leaves the
        # surrounding transaction usable and the person gets the same sentence.
        with transaction.atomic():
            patient.save()
    except IntegrityError as error:
        if "patient_mrn_unique_in_clinic" in str(error) or "mrn" in str(error).lower():
            raise _mrn_taken_error(patient.mrn) from None
        raise
    return patient


def patient_unsubscribe_token(*, patient: Patient) -> str:
    """The random token of the patient's unsubscribe links, made the first time a link is needed.

    Every link sent to one patient carries the same token, so an old email keeps working. Made
    with a conditional UPDATE: two reminders built at the same moment agree on one token.
    """
    if patient.unsubscribe_token:
        return patient.unsubscribe_token
    Patient.objects.filter(pk=patient.pk, unsubscribe_token="").update(unsubscribe_token=secrets.token_urlsafe(32))
    return Patient.objects.values_list("unsubscribe_token", flat=True).get(pk=patient.pk)


@transaction.atomic
def patient_create(
    *,
    clinic: Clinic,
    mrn: str,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    email: str = "",
    phone: str = "",
    reminder_consent: bool = False,
    reminder_channel: str = Patient.Channel.EMAIL,
    notes: str = "",
) -> Patient:
    """Register a patient at a clinic. The MRN must not already be in use at that clinic."""
    patient = Patient(
        clinic=clinic,
        mrn=mrn.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        date_of_birth=date_of_birth,
        email=email.strip(),
        phone=_phone(phone, clinic=clinic),
        reminder_consent=reminder_consent,
        reminder_channel=reminder_channel,
        notes=notes,
    )
    return _save_patient(patient)


@transaction.atomic
def patient_update(*, patient: Patient, **changes) -> Patient:
    """Change a patient's details. Only the fields in PATIENT_FIELDS may change; the clinic never does."""
    unknown = set(changes) - set(PATIENT_FIELDS)
    if unknown:
        raise TypeError(f"patient_update() cannot change {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        if isinstance(value, str) and name != "notes":
            value = value.strip()
        if name == "phone" and value != patient.phone:
            # A number kept from before numbers were checked stays until someone changes it.
            value = _phone(value, clinic=patient.clinic)
        setattr(patient, name, value)
    return _save_patient(patient)


def _clean_options(regimen: Regimen, options: Iterable[str] | dict | None) -> dict[str, bool]:
    """Course options as stored: every option the regimen offers, switched on or off."""
    if isinstance(options, dict):
        chosen = {key for key, value in options.items() if value}
    else:
        chosen = set(options or ())
    offered = [key for key, _label in regimen.option_choices()]
    unknown = chosen - set(offered)
    if unknown:
        raise ValidationError(
            {"options": f"{regimen} does not offer the option {', '.join(sorted(unknown))}. Untick it."},
            code="unknown_option",
        )
    return {key: key in chosen for key in offered}


def _check_regimen_active(regimen: Regimen) -> None:
    if not regimen.active:
        raise ValidationError(
            {"regimen": f"{regimen} is not active, so no new course can start on it. Choose an active regimen."},
            code="regimen_inactive",
        )


@transaction.atomic
def course_create(
    *,
    patient: Patient,
    regimen: Regimen,
    start_date: date,
    options: Iterable[str] | dict | None = None,
    authorization_number: str = "",
    authorization_expires_on: date | None = None,
    status: str = TreatmentCourse.Status.ACTIVE,
    notes: str = "",
    created_by=None,
) -> TreatmentCourse:
    """Start a patient on a regimen. The regimen must be active; options must be ones it offers."""
    _check_regimen_active(regimen)
    course = TreatmentCourse(
        patient=patient,
        regimen=regimen,
        start_date=start_date,
        options=_clean_options(regimen, options),
        authorization_number=authorization_number.strip(),
        authorization_expires_on=authorization_expires_on,
        status=status,
        notes=notes,
        created_by=created_by,
    )
    course.full_clean()
    course.save()
    return course


COURSE_FIELDS = (
    "regimen",
    "start_date",
    "options",
    "authorization_number",
    "authorization_expires_on",
    "status",
    "notes",
)


@transaction.atomic
def course_update(*, course: TreatmentCourse, **changes) -> TreatmentCourse:
    """Change a course. Moving it to another regimen needs an active one; the patient never changes."""
    unknown = set(changes) - set(COURSE_FIELDS)
    if unknown:
        raise TypeError(f"course_update() cannot change {', '.join(sorted(unknown))}")
    regimen = changes.get("regimen", course.regimen)
    if regimen.pk != course.regimen_id:
        _check_regimen_active(regimen)
    course.regimen = regimen
    if "options" in changes:
        course.options = _clean_options(regimen, changes["options"])
    elif "regimen" in changes:
        # Keep the options the new regimen also offers; drop the rest.
        offered = [key for key, _label in regimen.option_choices()]
        course.options = {key: bool(course.options.get(key)) for key in offered}
    for name in ("start_date", "authorization_expires_on", "status", "notes"):
        if name in changes:
            setattr(course, name, changes[name])
    if "authorization_number" in changes:
        course.authorization_number = changes["authorization_number"].strip()
    course.full_clean()
    course.save()
    return course
