"""Reads for the course status page."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from patients.models import TreatmentCourse
from scheduling.models import Appointment


def course_future_appointments(course: TreatmentCourse, *, now: datetime | None = None):
    """The course's booked appointments that have not started: the ones a pause or a stop cancels.

    A visit already under way, or a booked one whose start has passed (the patient may be
    in the waiting room), is left for the front desk and the nurses to finish or mark.
    """
    now = now or timezone.now()
    return (
        Appointment.objects.filter(course=course, status=Appointment.Status.BOOKED, starts_at__gt=now)
        .select_related("chair")
        .order_by("starts_at", "pk")
    )
