"""Reads about reminders that pages share: a patient's reminders, a clinic's failed ones."""

from __future__ import annotations

from clinic.access import clinics_for_user
from patients.models import Patient
from scheduling.models import Reminder


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
        .filter(status=Reminder.Status.FAILED)
        .select_related("patient", "clinic", "appointment")
        .order_by("due_at", "pk")
    )
