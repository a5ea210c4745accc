"""Who may make which feed: a clinic manager their clinics' roster feeds, a nurse their own."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from clinic.access import clinics_for_user
from clinic.roles import MANAGER, NURSE, role_of
from scheduling.models import CalendarFeed


def may_manage_clinic_feeds(user) -> bool:
    return user.is_superuser or role_of(user) == MANAGER


def may_have_own_feed(user) -> bool:
    return role_of(user) == NURSE


def require_feed_user(user) -> None:
    if not (may_manage_clinic_feeds(user) or may_have_own_feed(user)):
        raise PermissionDenied("Calendar feeds are for nurses and clinic managers.")


def feeds_for_user(user):
    """The feeds this user may see and revoke: their clinics' roster feeds (managers), their own (nurses)."""
    found = CalendarFeed.objects.none()
    if may_manage_clinic_feeds(user):
        found = found | CalendarFeed.objects.filter(kind=CalendarFeed.Kind.CLINIC, clinic__in=clinics_for_user(user))
    if may_have_own_feed(user):
        found = found | CalendarFeed.objects.filter(kind=CalendarFeed.Kind.NURSE, nurse=user)
    return found
