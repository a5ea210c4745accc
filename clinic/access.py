"""Access helpers: which clinics and records a member of staff may see.

Every view fetches records through these, so the clinic boundary is checked in one place.
"""

from __future__ import annotations

from django.http import Http404

from clinic.models import Clinic


def clinics_for_user(user):
    """The clinics this user works at (all clinics for a superuser)."""
    if not user.is_authenticated:
        return Clinic.objects.none()
    if user.is_superuser:
        return Clinic.objects.filter(active=True)
    return Clinic.objects.filter(active=True, staff__user=user)


def get_clinic_for_user(user, clinic_id) -> Clinic:
    try:
        return clinics_for_user(user).get(pk=clinic_id)
    except (Clinic.DoesNotExist, ValueError, TypeError):
        raise Http404("No such clinic.") from None


def default_clinic_for_user(user) -> Clinic | None:
    return clinics_for_user(user).order_by("name").first()
