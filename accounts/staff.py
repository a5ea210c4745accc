"""The staff page: which colleagues a manager looks after, and what they may do for them.

A manager looks after the staff whose clinics are all among the manager's own: setting a
password or lifting a lockout for someone who also works elsewhere would reach into a clinic the
manager does not run. Superusers and the manager themselves are never on the list.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.lockouts import locked_usernames, lockout_lift
from accounts.mfa import mfa_remove
from clinic.models import Clinic
from clinic.roles import role_of


class StaffActionRefused(Exception):
    """The action would leave the clinic worse off; the message says why."""


def staff_for_manager(manager):
    """The users this manager looks after, by name, with their clinics and role groups loaded."""
    own = Clinic.objects.filter(staff__user=manager)
    elsewhere = Clinic.objects.exclude(pk__in=own)
    return (
        get_user_model()
        .objects.filter(is_superuser=False, staff_profile__clinics__in=own)
        .exclude(staff_profile__clinics__in=elsewhere)
        .exclude(pk=manager.pk)
        .distinct()
        .order_by("last_name", "first_name", "username")
        .prefetch_related("groups", "staff_profile__clinics")
    )


def get_staff_member_for_manager(manager, user_id):
    try:
        return staff_for_manager(manager).get(pk=user_id)
    except (get_user_model().DoesNotExist, ValueError, TypeError):
        raise Http404("No such member of staff.") from None


def staff_rows(manager) -> list[dict]:
    """What the staff page lists: each person, their role and clinics, whether locked out or on two-step sign-in."""
    people = list(staff_for_manager(manager))
    locked = locked_usernames(user.username for user in people)
    with_app = set(TOTPDevice.objects.filter(user__in=people, confirmed=True).values_list("user_id", flat=True))
    return [
        {
            "user": user,
            "role": role_of(user),
            "clinics": sorted(clinic.name for clinic in user.staff_profile.clinics.all()),
            "locked": user.username in locked,
            "two_step": user.pk in with_app,
        }
        for user in people
    ]


def staff_password_set(*, user, password: str) -> None:
    """Give a member of staff a new password (checked by the form's validators); their sessions end."""
    user.set_password(password)
    user.save(update_fields=["password"])
    lockout_lift(username=user.username)


def staff_active_set(*, user, active: bool, by) -> None:
    """Deactivate (they can no longer sign in, and their sessions end) or reactivate a member of staff."""
    if user.pk == by.pk:
        raise StaffActionRefused("You cannot deactivate yourself. Ask another manager or an administrator.")
    user.is_active = active
    user.save(update_fields=["is_active"])


def staff_unlock(*, user) -> int:
    """Lift the failed-login lockout of a member of staff, from every address."""
    return lockout_lift(username=user.username)


@transaction.atomic
def staff_two_step_reset(*, user) -> None:
    """Remove a member of staff's authenticator app (a lost phone); they set it up again at their next sign-in."""
    mfa_remove(user=user)
