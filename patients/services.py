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
from django.db.models.functions import Lower

from audit.history import created_in_bulk
from clinic import dates
from clinic.inputs import phone_e164, phone_region_for_time_zone
from clinic.models import Clinic, Regimen
from patients.models import Patient, TreatmentCourse

# Who may let a course run beside another of its therapy class (clinic managers).
EXCLUSION_OVERRIDE_PERMISSION = "patients.override_course_exclusion"

PATIENT_FIELDS = (
    "mrn",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone",
    "reminder_consent",
    "reminder_channel",
    "sms_consent",
    "language",
    "wants_earlier_offers",
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


# 16 URL-safe characters, as an answer link's: a text message has room for one more short link.
SMS_STOP_TOKEN_BYTES = 12


def patient_sms_stop_token(*, patient: Patient) -> str:
    """The random token of the patient's "stop texts" link, made the first time a text carries it and kept."""
    if patient.sms_stop_token:
        return patient.sms_stop_token
    Patient.objects.filter(pk=patient.pk, sms_stop_token="").update(
        sms_stop_token=secrets.token_urlsafe(SMS_STOP_TOKEN_BYTES)
    )
    return Patient.objects.values_list("sms_stop_token", flat=True).get(pk=patient.pk)


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
    sms_consent: bool = False,
    language: str = "",
    wants_earlier_offers: bool = False,
    notes: str = "",
) -> Patient:
    """Register a patient at a clinic. The MRN must not already be in use at that clinic.

    Without a `language`, the patient's messages are in the clinic's patients' language.
    """
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
        sms_consent=sms_consent,
        language=language or clinic.language,
        wants_earlier_offers=wants_earlier_offers,
        notes=notes,
    )
    return _save_patient(patient)


@transaction.atomic
def patients_create_many(*, clinic: Clinic, patients: list[dict], by=None) -> list[Patient | ValidationError]:
    """Register many patients of one clinic at once (an import), with the rules of `patient_create`.

    Returns, for each, the patient or the ValidationError refusing it; when any is refused,
    nothing is saved. Written in bulk, with the audit trail's creation entries (`by` as actor).
    """
    built: list[Patient | ValidationError] = []
    wanted = [str(row.get("mrn", "")).strip().lower() for row in patients]
    taken = set(
        Patient.objects.filter(clinic=clinic)
        .annotate(key=Lower("mrn"))
        .filter(key__in=wanted)
        .values_list("key", flat=True)
    )
    seen: set[str] = set()
    for row, key in zip(patients, wanted, strict=True):
        try:
            patient = Patient(
                clinic=clinic,
                mrn=row["mrn"].strip(),
                first_name=row["first_name"].strip(),
                last_name=row["last_name"].strip(),
                date_of_birth=row["date_of_birth"],
                email=row.get("email", "").strip(),
                phone=_phone(row.get("phone", ""), clinic=clinic),
                reminder_consent=row.get("reminder_consent", False),
                reminder_channel=row.get("reminder_channel", Patient.Channel.EMAIL),
                sms_consent=row.get("sms_consent", False),
                notes=row.get("notes", ""),
            )
            if key in taken or key in seen:
                raise _mrn_taken_error(patient.mrn)
            seen.add(key)
            # The MRN is checked above for all at once, and by the database constraint.
            patient.full_clean(validate_unique=False, validate_constraints=False)
            built.append(patient)
        except ValidationError as error:
            built.append(error)
    if any(isinstance(item, ValidationError) for item in built):
        return built
    Patient.objects.bulk_create(built, batch_size=1000)
    created_in_bulk(built, actor=by)
    return built


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


class CourseConflict(ValidationError):
    """A course refused because the patient already holds one of its drug or of its therapy class.

    On the regimen field, with the sentence to show. `existing` is the course in the way (the
    page links to it); `can_override` says the refusal gives way to a clinic manager's reason,
    so the page offers the reason box to a user who may give one.
    """

    def __init__(self, message: str, *, code: str, existing: TreatmentCourse, can_override: bool):
        super().__init__({"regimen": ValidationError(message, code=code)})
        self.existing = existing
        self.can_override = can_override


def _held_courses(patient: Patient, *, exclude_pk: int | None):
    """The patient's courses that still hold them on a drug (active or paused), under the patient's row lock.

    The lock makes two courses started at the same moment for one patient take turns, so
    the second sees the first and is refused.
    """
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))
    held = TreatmentCourse.objects.filter(patient_id=patient.pk, status__in=TreatmentCourse.HOLDING_STATUSES)
    if exclude_pk is not None:
        held = held.exclude(pk=exclude_pk)
    return list(held.select_related("regimen__drug").order_by("start_date", "pk"))


def _existing_phrase(patient: Patient, course: TreatmentCourse) -> str:
    drug = course.regimen.drug.brand_name
    article = "an" if course.status == TreatmentCourse.Status.ACTIVE else "a"
    return (
        f"{patient.first_name} already has {article} {course.get_status_display().lower()} {drug} course "
        f"started {dates.day(course.start_date)}"
    )


def check_course_exclusions(
    *,
    patient: Patient,
    regimen: Regimen,
    user=None,
    override_reason: str = "",
    exclude_pk: int | None = None,
) -> bool:
    """Refuse a course the patient cannot hold beside their others; True when a manager's override lets it.

    One course per drug: a second active or paused course of the drug is refused outright
    (the existing one is opened instead). One course per therapy class (the regimen data says
    which regimens are not given together): a second needs `user` to hold the override
    permission and a written `override_reason`. Raises CourseConflict with the sentence.
    """
    held = _held_courses(patient, exclude_pk=exclude_pk)
    same_drug = next((course for course in held if course.regimen.drug_id == regimen.drug_id), None)
    if same_drug is not None:
        raise CourseConflict(
            f"{_existing_phrase(patient, same_drug)}. Open it instead of starting another.",
            code="same_drug",
            existing=same_drug,
            can_override=False,
        )
    if not regimen.therapy_class:
        return False
    same_class = next((course for course in held if course.regimen.therapy_class == regimen.therapy_class), None)
    if same_class is None:
        return False
    other = same_class.regimen.drug.brand_name
    sentence = (
        f"{_existing_phrase(patient, same_class)}, and {other} and {regimen.drug.brand_name} are both "
        f"{regimen.therapy_class}, which is not given two at a time. To change from one to the other, open the "
        f"{other} course and choose Switch to another drug."
    )
    may_override = bool(user and user.has_perm(EXCLUSION_OVERRIDE_PERMISSION))
    if not may_override:
        raise CourseConflict(
            f"{sentence} To give both, ask a clinic manager: only they can start it, with a written reason.",
            code="same_class",
            existing=same_class,
            can_override=False,
        )
    if not override_reason.strip():
        raise CourseConflict(
            f"{sentence} To give both, write why in the box below and save again; the reason is kept in the "
            "course's history.",
            code="same_class_reason_required",
            existing=same_class,
            can_override=True,
        )
    return True


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
    exclusion_override_reason: str = "",
    switched_from: TreatmentCourse | None = None,
) -> TreatmentCourse:
    """Start a patient on a regimen. The regimen must be active; options must be ones it offers.

    The patient may not already hold a course of the drug, nor, without a clinic manager's
    `exclusion_override_reason`, one of the regimen's therapy class (`check_course_exclusions`).
    An override is kept on the course with who gave it (`created_by`).
    """
    _check_regimen_active(regimen)
    reason = exclusion_override_reason.strip()
    overridden = False
    if status in TreatmentCourse.HOLDING_STATUSES:
        overridden = check_course_exclusions(patient=patient, regimen=regimen, user=created_by, override_reason=reason)
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
        switched_from=switched_from,
    )
    if overridden:
        course.exclusion_override_reason = reason
        course.exclusion_override_by = created_by
    course.full_clean()
    course.save()
    return course


@transaction.atomic
def courses_create_many(*, courses: list[dict], created_by=None) -> list[TreatmentCourse | ValidationError]:
    """Start many patients on a regimen at once (an import), with the rules of `course_create`.

    Each patient must be new to courses: none held (checked here in one query) and one course
    each in the call, so the exclusions between courses have nothing to compare; give a patient's
    second course to `course_create`. Returns, for each, the course or the ValidationError
    refusing it; when any is refused, nothing is saved. Written in bulk, with the creation
    entries of the audit trail. The caller refreshes the stored next doses of the courses.
    """
    patient_ids = [row["patient"].pk for row in courses]
    holding = set(
        TreatmentCourse.objects.filter(
            patient_id__in=patient_ids, status__in=TreatmentCourse.HOLDING_STATUSES
        ).values_list("patient_id", flat=True)
    )
    built: list[TreatmentCourse | ValidationError] = []
    seen: set[int] = set()
    for row in courses:
        patient, regimen = row["patient"], row["regimen"]
        try:
            if patient.pk in holding or patient.pk in seen:
                raise TypeError("courses_create_many() takes patients without a course; use course_create()")
            seen.add(patient.pk)
            _check_regimen_active(regimen)
            course = TreatmentCourse(
                patient=patient,
                regimen=regimen,
                start_date=row["start_date"],
                options=_clean_options(regimen, row.get("options")),
                authorization_number=row.get("authorization_number", "").strip(),
                authorization_expires_on=row.get("authorization_expires_on"),
                status=row.get("status", TreatmentCourse.Status.ACTIVE),
                notes=row.get("notes", ""),
                created_by=created_by,
            )
            course.full_clean()
            built.append(course)
        except ValidationError as error:
            built.append(error)
    if any(isinstance(item, ValidationError) for item in built):
        return built
    TreatmentCourse.objects.bulk_create(built, batch_size=1000)
    created_in_bulk(built, actor=created_by)
    return built


COURSE_FIELDS = (
    "regimen",
    "start_date",
    "options",
    "authorization_number",
    "authorization_expires_on",
    "status",
    "stopped_on",
    "notes",
)


@transaction.atomic
def course_update(
    *, course: TreatmentCourse, by=None, exclusion_override_reason: str = "", **changes
) -> TreatmentCourse:
    """Change a course. Moving it to another regimen needs an active one; the patient never changes.

    Moving it to another regimen, or making a stopped course active or paused again, is
    checked as a new course would be (`check_course_exclusions`, `by` being who asks), and a
    clinic manager's override is kept on the course. Making it active or paused again clears
    the day it stopped.
    """
    unknown = set(changes) - set(COURSE_FIELDS)
    if unknown:
        raise TypeError(f"course_update() cannot change {', '.join(sorted(unknown))}")
    regimen = changes.get("regimen", course.regimen)
    if regimen.pk != course.regimen_id:
        _check_regimen_active(regimen)
    status = changes.get("status", course.status)
    holds = status in TreatmentCourse.HOLDING_STATUSES
    back_from_stopped = holds and course.status not in TreatmentCourse.HOLDING_STATUSES
    if holds and (regimen.pk != course.regimen_id or back_from_stopped):
        reason = exclusion_override_reason.strip()
        if check_course_exclusions(
            patient=course.patient, regimen=regimen, user=by, override_reason=reason, exclude_pk=course.pk
        ):
            course.exclusion_override_reason = reason
            course.exclusion_override_by = by
    if back_from_stopped:
        course.stopped_on = None
    course.regimen = regimen
    if "options" in changes:
        course.options = _clean_options(regimen, changes["options"])
    elif "regimen" in changes:
        # Keep the options the new regimen also offers; drop the rest.
        offered = [key for key, _label in regimen.option_choices()]
        course.options = {key: bool(course.options.get(key)) for key in offered}
    for name in ("start_date", "authorization_expires_on", "status", "stopped_on", "notes"):
        if name in changes:
            setattr(course, name, changes[name])
    if "authorization_number" in changes:
        course.authorization_number = changes["authorization_number"].strip()
    course.full_clean()
    course.save()
    return course
