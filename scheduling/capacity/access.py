"""Who may open the capacity pages: the clinic manager (and a superuser), for their own clinics."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from clinic.access import default_clinic_for_user, get_clinic_for_user
from clinic.roles import MANAGER, role_of


def is_manager(user) -> bool:
    """The clinic manager's pages: the overview, capacity, data problems (a superuser sees them too)."""
    return user.is_superuser or role_of(user) == MANAGER


def require_manager(user) -> None:
    if not is_manager(user):
        raise PermissionDenied("The capacity pages are for clinic managers.")


def capacity_clinic_for_user(user, clinic_id):
    """The clinic asked for (404 if it is not one of the user's), else the user's first clinic, else None."""
    if clinic_id:
        return get_clinic_for_user(user, clinic_id)
    return default_clinic_for_user(user)
