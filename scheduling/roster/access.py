"""Who may open which visit of the roster: one place for the check."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from clinic.access import clinics_for_user
from scheduling.models import Appointment


def get_appointment_for_user(user, pk: int) -> Appointment:
    """An appointment of one of the user's clinics (404 for any other, so its existence stays hidden)."""
    return get_object_or_404(
        Appointment.objects.select_related("clinic").filter(clinic__in=clinics_for_user(user)), pk=pk
    )
