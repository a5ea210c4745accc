"""Reads about reminders that pages share: a patient's reminders, a clinic's failed ones, failure counts."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from clinic.access import clinics_for_user
from patients.models import Patient
from scheduling.models import Reminder

Status = Reminder.Status

# A row whose last attempt failed: failed for good, or back to pending to be tried again.
LAST_ATTEMPT_FAILED = Q(status=Status.FAILED) | Q(status=Status.PENDING, attempts__gt=0)


def patient_reminders(patient: Patient):
    """A patient's reminders for their page, newest first: sent, pending, failed, cancelled."""
    return Reminder.objects.filter(patient=patient).select_related("appointment", "clinic").order_by("-due_at", "-pk")


def reminders_for_user(user):
    """Reminders in the clinics this user works at."""
    return Reminder.objects.filter(clinic__in=clinics_for_user(user))


def reminders_failed_for_user(user):
    """Failed reminders in the clinics this user works at, oldest first."""
    return (
        reminders_for_user(user)
        .filter(status=Status.FAILED)
        .select_related("patient", "clinic", "appointment")
        .order_by("due_at", "pk")
    )


def reminders_failed_by_clinic(clinic_ids, *, since: datetime) -> dict[int, int]:
    """How many reminders of each of these clinics were failed for good since `since`, by clinic id.

    A failed row is not written again until staff retry it, so its last change is its failure.
    """
    rows = (
        Reminder.objects.filter(clinic_id__in=clinic_ids, status=Status.FAILED, updated_at__gte=since)
        .values("clinic_id")
        .annotate(count=Count("pk"))
    )
    return {row["clinic_id"]: row["count"] for row in rows}


def reminders_failing_by_clinic(*, since: datetime) -> dict[int, int]:
    """How many reminders of each clinic had an attempt fail since `since` and are not sent, by clinic id."""
    rows = (
        Reminder.objects.filter(LAST_ATTEMPT_FAILED, updated_at__gte=since)
        .values("clinic_id")
        .annotate(count=Count("pk"))
    )
    return {row["clinic_id"]: row["count"] for row in rows}
