"""Chair time freed before it began, written down in the transaction of the change that freed it.

One receiver (`scheduling.receivers.appointment_event_saved`) calls `opening_record` for every
history row a booking service writes, so a cancellation by the clinic or from a patient's
message, a move (one visit, a series, a levelled day) and a no-show all count, whatever page
or job made them. Nothing is offered here: the offer scan (`services.offers_advance`) reads the
new openings, so a booking change never waits on the search for patients.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scheduling.models import Appointment, AppointmentEvent, ChairOpening

Action = AppointmentEvent.Action
Cause = ChairOpening.Cause

# Freed time shorter than this holds no visit worth offering.
SHORTEST = timedelta(minutes=30)


def _freed(event: AppointmentEvent) -> tuple[str, int, datetime, datetime] | None:
    """(cause, chair id, start, end) of the chair time the change gave back, or None."""
    details = event.details or {}
    appointment = event.appointment
    if event.action == Action.CANCELLED:
        return Cause.CANCELLED, appointment.chair_id, appointment.starts_at, appointment.ends_at
    if event.action == Action.RESCHEDULED and isinstance(details.get("previous"), dict):
        previous = details["previous"]
        starts_at, ends_at = parse_datetime(previous["starts_at"]), parse_datetime(previous["ends_at"])
        return Cause.MOVED, previous["chair_id"], starts_at, ends_at
    if event.action == Action.STATUS and event.to_status == Appointment.Status.NO_SHOW:
        return Cause.NO_SHOW, appointment.chair_id, appointment.starts_at, appointment.ends_at
    return None


def opening_record(*, event: AppointmentEvent) -> ChairOpening | None:
    """Write the opening a history row frees, when there is one and what is left of it is worth offering.

    Only the part still ahead counts (a no-show gives back the rest of its visit). The offer
    scan checks, for each patient, that the time is still free and passes every booking rule.
    """
    freed = _freed(event)
    if freed is None:
        return None
    cause, chair_id, starts_at, ends_at = freed
    now = timezone.now()
    starts_at = max(starts_at, now)
    if ends_at - starts_at < SHORTEST:
        return None
    return ChairOpening.objects.create(
        clinic_id=event.appointment.clinic_id,
        chair_id=chair_id,
        starts_at=starts_at,
        ends_at=ends_at,
        cause=cause,
        freed_by=event.appointment,
    )
