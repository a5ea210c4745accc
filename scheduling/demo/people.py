"""The demo's clinics, staff, patients and courses: found when they are there, else created.

Clinics and users are set up on every run, so the documented password and each user's role
always work; patients and courses are created once, with their registration dated to fit
their course's story.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from clinic.models import Chair, Clinic, Closure, NurseStaffing, OpeningHours, StaffProfile
from patients.models import Patient, TreatmentCourse
from scheduling.demo.history import CourseStory
from scheduling.demo.plans import (
    AUTHORIZATION_PREFIX,
    DEMO_PASSWORD,
    FIRST_NAMES,
    LAST_NAMES,
    PATIENT_NOTES,
    ClinicPlan,
    UserPlan,
)
from scheduling.demo.visits import times_write


def clinic_setup(plan: ClinicPlan) -> Clinic:
    clinic, _ = Clinic.objects.get_or_create(
        name=plan.name,
        defaults={
            "time_zone": plan.time_zone,
            "country": plan.country,
            "address": plan.address,
            "phone": plan.phone,
            "email": plan.email,
            "patients_per_nurse": plan.patients_per_nurse,
            "starts_per_nurse": plan.starts_per_nurse,
            "require_mfa_for_managers": plan.require_mfa_for_managers,
        },
    )
    for position, (name, kind) in enumerate(plan.chairs, start=1):
        Chair.objects.get_or_create(clinic=clinic, name=name, defaults={"kind": kind, "position": position})
    for weekday, (opens, closes) in plan.hours.items():
        OpeningHours.objects.get_or_create(clinic=clinic, weekday=weekday, defaults={"opens": opens, "closes": closes})
    for weekday, nurses in plan.staffing.items():
        NurseStaffing.objects.get_or_create(clinic=clinic, weekday=weekday, defaults={"nurses": nurses})
    today = timezone.localdate(timezone=clinic.tz)
    for reason, month, day in plan.closures:
        first = next_occurrence(today, month, day)
        Closure.objects.get_or_create(clinic=clinic, reason=reason, defaults={"starts_on": first, "ends_on": first})
    # A training day three weeks out, so the booking pages show a closed weekday.
    training = today + timedelta(days=21)
    training += timedelta(days=(2 - training.weekday()) % 7)  # a Wednesday
    Closure.objects.get_or_create(
        clinic=clinic, reason="Staff training day", defaults={"starts_on": training, "ends_on": training}
    )
    return clinic


def next_occurrence(today: date, month: int, day: int) -> date:
    """The next date (today or later) of a fixed holiday; day 0 is the fourth Thursday (Thanksgiving)."""
    for year in (today.year, today.year + 1):
        if day:
            candidate = date(year, month, day)
        else:
            first = date(year, month, 1)
            candidate = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
        if candidate >= today:
            return candidate
    raise AssertionError("unreachable: next year always has the holiday")


def user_setup(plan: UserPlan, clinics: dict[str, Clinic]):
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=plan.username,
        defaults={
            "first_name": plan.first_name,
            "last_name": plan.last_name,
            "email": f"{plan.username}@chairside.example.org",
            "is_staff": plan.is_staff,
        },
    )
    # The documented password always works, and the role is always the demo's.
    if plan.can_log_in:
        user.set_password(DEMO_PASSWORD)
    else:
        user.set_unusable_password()
    user.is_active = True
    user.is_staff = plan.is_staff
    user.is_superuser = False
    user.save(update_fields=["password", "is_active", "is_staff", "is_superuser"])
    user.groups.set([Group.objects.get(name=plan.role)])
    profile, _ = StaffProfile.objects.get_or_create(user=user)
    profile.clinics.set([clinics[key] for key in plan.clinics])
    return user


def patient_names(rng: random.Random) -> list[tuple[str, str]]:
    """Every first and last name pair once, shuffled: the story patients take theirs first."""
    pairs = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    return rng.sample(pairs, k=len(pairs))


def ascii_name(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def patient_create(
    plan: ClinicPlan, clinic: Clinic, story: CourseStory, first: str, last: str, rng: random.Random, now: datetime
) -> Patient:
    consent = "no_reminders" not in story.flags
    patient = Patient(
        clinic=clinic,
        mrn=f"{plan.mrn_prefix}{rng.randint(100000, 999999)}{story.patient_key:02d}",
        first_name=first,
        last_name=last,
        date_of_birth=date(rng.randint(1962, 2003), rng.randint(1, 12), rng.randint(1, 28)),
        email=f"{ascii_name(first)}.{ascii_name(last)}@{plan.email_domain}",
        phone=f"{plan.phone_prefix}{rng.randint(0, 99 if plan.key == 'new-york' else 999):0{2 if plan.key == 'new-york' else 3}d}",
        reminder_consent=consent,
        reminder_channel=Patient.Channel.EMAIL if consent else Patient.Channel.NONE,
        notes=rng.choice(PATIENT_NOTES),
    )
    patient.save()
    registered = min(now, datetime.combine(story.start_date - timedelta(days=21), time(10, 0), tzinfo=clinic.tz))
    Patient.objects.filter(pk=patient.pk).update(created_at=registered)
    return patient


def course_create(
    story: CourseStory, patient: Patient, staff: dict, rng: random.Random, now: datetime
) -> TreatmentCourse:
    regimen = story.regimen
    course = TreatmentCourse(
        patient=patient,
        regimen=regimen,
        start_date=story.start_date,
        options=story.options,
        status=TreatmentCourse.Status.ACTIVE,
        created_by=staff["manager"],
    )
    if regimen.requires_authorization:
        prefix = AUTHORIZATION_PREFIX.get(regimen.code, "AUTH")
        course.authorization_number = f"{prefix}-{rng.randint(10_000_000, 99_999_999)}"
        days_left = 12 if "auth_soon" in story.flags else rng.randint(45, 170)
        course.authorization_expires_on = story.today + timedelta(days=days_left)
    if story.options.get("extended_interval"):
        course.notes = "Stable on every 4 weeks for over a year; extended interval agreed with the neurologist."
    course.save()
    created = min(
        now, datetime.combine(story.start_date - timedelta(days=14), time(11, 0), tzinfo=story.days.clinic.tz)
    )
    TreatmentCourse.objects.filter(pk=course.pk).update(created_at=created)
    return course


def fill_people_create(
    plan: ClinicPlan,
    clinic: Clinic,
    courses: list,
    names: list[tuple[str, str]],
    staff: dict,
    rng: random.Random,
    now: datetime,
) -> list[tuple[Patient, TreatmentCourse]]:
    """The fill's patients and their courses, in a few bulk inserts (`filling.FillCourse` each)."""
    patients = []
    for index in range(len(courses)):
        first, last = names[index % len(names)]
        patients.append(
            Patient(
                clinic=clinic,
                mrn=f"{plan.mrn_prefix}{rng.randint(10, 99)}{index + 1:05d}",
                first_name=first,
                last_name=last,
                date_of_birth=date(rng.randint(1958, 2004), rng.randint(1, 12), rng.randint(1, 28)),
                email=f"{ascii_name(first)}.{ascii_name(last)}{index}@{plan.email_domain}",
                phone=f"{plan.phone_prefix}{rng.randint(0, 99):02d}",
                reminder_consent=True,
                reminder_channel=Patient.Channel.EMAIL,
                # Some of the New York clinic's patients read their messages in Spanish.
                language="es" if plan.key == "new-york" and index % 4 == 0 else "en",
                notes=rng.choice(PATIENT_NOTES),
            )
        )
    Patient.objects.bulk_create(patients, batch_size=500)
    treatment_courses = []
    for patient, fill in zip(patients, courses, strict=True):
        course = TreatmentCourse(
            patient=patient,
            regimen=fill.regimen,
            start_date=fill.start_date,
            options=dict(fill.kind.options),
            status=TreatmentCourse.Status.ACTIVE,
            created_by=staff["manager"],
        )
        if fill.regimen.requires_authorization:
            prefix = AUTHORIZATION_PREFIX.get(fill.regimen.code, "AUTH")
            course.authorization_number = f"{prefix}-{rng.randint(10_000_000, 99_999_999)}"
            course.authorization_expires_on = timezone.localdate(now, timezone=clinic.tz) + timedelta(
                days=rng.randint(45, 170)
            )
        treatment_courses.append(course)
    TreatmentCourse.objects.bulk_create(treatment_courses, batch_size=500)
    # Registered before their course began here, as the story patients are.
    for patient, course in zip(patients, treatment_courses, strict=True):
        patient.created_at = min(
            now, datetime.combine(course.start_date - timedelta(days=21), time(10, 0), tzinfo=clinic.tz)
        )
        course.created_at = min(
            now, datetime.combine(course.start_date - timedelta(days=14), time(11, 0), tzinfo=clinic.tz)
        )
    times_write(Patient, "created_at", {patient.pk: patient.created_at for patient in patients})
    times_write(TreatmentCourse, "created_at", {course.pk: course.created_at for course in treatment_courses})
    return list(zip(patients, treatment_courses, strict=True))
