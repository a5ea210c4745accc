"""What the patient page and the course page show of the audit trail.

The history lists every change to the patient, their courses and their appointments; the
record views ("who looked at this record") are for managers only.
"""

from __future__ import annotations

from django.db.models import QuerySet

from audit.history import History, about, changes_to, history, views_of
from clinic import dates
from clinic.roles import MANAGER, role_of
from patients.models import Patient, TreatmentCourse


def sees_record_views(user) -> bool:
    """Only managers (and superusers) see who opened a patient's record."""
    return user.is_superuser or role_of(user) == MANAGER


def _appointment_labels(appointments, time_zone) -> dict:
    return {
        (type(appointment), appointment.pk): (
            f"Appointment, dose {appointment.dose_number} on {dates.day(appointment.starts_at.astimezone(time_zone))}"
        )
        for appointment in appointments
    }


def patient_history(patient: Patient, *, appointments: QuerySet) -> History:
    """Changes to the patient's details, courses and appointments, newest first.

    `appointments` are the patient's appointments, as the page reads them.
    """
    time_zone = patient.clinic.tz
    courses = TreatmentCourse.objects.filter(patient=patient).select_related("regimen")
    labels = {(TreatmentCourse, course.pk): f"Course on {course.regimen.name}" for course in courses}
    labels.update(_appointment_labels(appointments, time_zone))
    entries = changes_to(
        about(Patient.objects.filter(pk=patient.pk)),
        about(courses, owner="patient", owner_id=patient.pk),
        about(appointments),
    )
    return history(entries, time_zone=time_zone, labels=labels)


def course_history(course: TreatmentCourse, *, appointments: QuerySet) -> History:
    """Changes to the course and to the appointments booked on it, newest first."""
    time_zone = course.patient.clinic.tz
    labels = {(TreatmentCourse, course.pk): f"Course on {course.regimen.name}"}
    labels.update(_appointment_labels(appointments, time_zone))
    entries = changes_to(about(TreatmentCourse.objects.filter(pk=course.pk)), about(appointments))
    return history(entries, time_zone=time_zone, labels=labels)


def patient_record_views(patient: Patient) -> History:
    """Who opened the patient's page, and when, newest first."""
    return history(views_of(patient), time_zone=patient.clinic.tz)
