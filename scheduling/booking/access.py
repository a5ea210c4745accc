"""Access helpers of the booking pages: a member of staff only ever sees their own clinics' records."""

from __future__ import annotations

from django.http import Http404

from clinic.access import clinics_for_user
from patients.models import TreatmentCourse
from scheduling.models import Appointment


def get_course_for_user(user, course_id) -> TreatmentCourse:
    course = (
        TreatmentCourse.objects.select_related("patient__clinic", "regimen__drug")
        .filter(pk=course_id, patient__clinic__in=clinics_for_user(user))
        .first()
    )
    if course is None:
        raise Http404("No such treatment course.")
    return course


def get_appointment_for_user(user, appointment_id) -> Appointment:
    appointment = (
        Appointment.objects.select_related(
            "clinic", "chair", "patient", "course__patient__clinic", "course__regimen__drug", "booked_by"
        )
        .filter(pk=appointment_id, clinic__in=clinics_for_user(user))
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment
