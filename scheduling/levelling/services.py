"""Applying a levelling proposal: each move through the booking services, all or nothing."""

from __future__ import annotations

from datetime import date, datetime

from django.core import signing
from django.db import transaction

from clinic.models import Chair, Clinic
from scheduling.booking.services import BookingError, booking_reschedule
from scheduling.levelling.selectors import levelling_problem, read_token
from scheduling.models import Appointment

MOVE_REASON = "Levelling the day's nurse load"


class LevellingError(Exception):
    """A confirmation refused, with a sentence the manager can act on."""

    def __init__(self, message: str, *, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


STALE = (
    "The visits of this day changed after the proposal was made (a visit was booked, moved or cancelled), "
    "so nothing was moved. Look at the new proposal below and confirm it again."
)


@transaction.atomic
def levelling_apply(*, clinic: Clinic, day: date, token: str, by) -> list[Appointment]:
    """Make the proposal's moves, in its order, each through `booking_reschedule` (history, reminders, notice).

    Refused, with nothing moved, when the token is not a proposal for this clinic and day, or
    when any visit of the days it covers changed since it was made; a move the booking rules
    refuse undoes them all.
    """
    try:
        data = read_token(token)
    except signing.SignatureExpired:
        raise LevellingError("This proposal is more than an hour old. Look at the new one and confirm it.") from None
    except signing.BadSignature:
        raise LevellingError("This proposal could not be read. Open the day again and confirm its proposal.") from None
    if data.get("clinic") != clinic.pk or data.get("day") != day.isoformat():
        raise LevellingError("This proposal is for another clinic or day. Open the day again and confirm its proposal.")
    if levelling_problem(clinic, day).fingerprint != data["fingerprint"]:
        raise LevellingError(STALE, code="stale")
    moved = []
    chairs = {chair.pk: chair for chair in Chair.objects.filter(clinic=clinic, active=True)}
    for appointment_id, chair_id, starts_at in data["moves"]:
        appointment = Appointment.objects.select_related("chair", "clinic").get(pk=appointment_id, clinic=clinic)
        chair = chairs.get(chair_id)
        if chair is None:
            raise LevellingError(STALE, code="stale")
        try:
            moved.append(
                booking_reschedule(
                    appointment=appointment,
                    chair=chair,
                    starts_at=datetime.fromisoformat(starts_at),
                    by=by,
                    reason=MOVE_REASON,
                )
            )
        except BookingError as error:
            raise LevellingError(f"Nothing was moved: {error.message}", code=error.code) from None
    return moved
