"""Who must sign in with a second step (a code from an authenticator app), as each clinic decides.

One answer for the app's pages (accounts.middleware) and the admin (clinic.admin), so the two
can never disagree.
"""

from __future__ import annotations

from django.db.models import Q

from clinic.models import Clinic
from clinic.roles import FORMULARY, MANAGER, role_of


def mfa_required(user) -> bool:
    """Whether this user must have two-step sign-in set up before they use Chairside.

    A superuser always must: they see every clinic; so must a formulary manager, whose regimen
    edits change every clinic's doses. Anyone else must when a clinic they work at
    requires it for everyone, or for managers and they are one (a manager, or an admin user).
    A user who set it up of their own accord is asked for a code all the same (see
    `accounts.middleware`); this only decides who may not go without.
    """
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if user.groups.filter(name=FORMULARY).exists():
        return True  # the formulary's dosing rules reach every clinic's patients
    rule = Q(require_mfa_for_everyone=True)
    if user.is_staff or role_of(user) == MANAGER:
        rule |= Q(require_mfa_for_managers=True)
    return Clinic.objects.filter(rule, staff__user=user).exists()
