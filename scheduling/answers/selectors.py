"""Reads about patients' answers that pages share: the front desk's open list, the roster's confirmed visits."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from clinic.access import clinics_for_user
from scheduling.models import PatientAnswer

Kind = PatientAnswer.Kind

# What the front desk must act on: a freed chair to fill, a patient waiting for a new time.
FOR_THE_FRONT_DESK = (Kind.CANCELLED, Kind.OTHER_TIME)


def answers_open_for_user(user, *, limit: int = 100) -> list[PatientAnswer]:
    """Cancellations and requests for another time from patients of the user's clinics, not yet dealt with, oldest first."""
    return list(
        PatientAnswer.objects.filter(
            clinic__in=clinics_for_user(user), kind__in=FOR_THE_FRONT_DESK, handled_at__isnull=True
        )
        .select_related("appointment__patient", "clinic")
        .order_by("at", "pk")[:limit]
    )


def answers_for_user(user):
    return PatientAnswer.objects.filter(clinic__in=clinics_for_user(user))


def confirmed_by_patient():
    """An Exists() for an Appointment queryset: the patient confirmed this visit at its current time."""
    return Exists(
        PatientAnswer.objects.filter(appointment=OuterRef("pk"), kind=Kind.CONFIRMED, starts_at=OuterRef("starts_at"))
    )
