"""Applying a levelling proposal: each move through the booking services, all or nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core import signing
from django.db import transaction

from clinic.models import Chair, Clinic
from scheduling.booking.services import BookingError, booking_reschedule
from scheduling.doses import regimen_specs_shared
from scheduling.levelling.selectors import levelling_problem, proposal, read_token
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
@regimen_specs_shared()
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


def levelling_apply_week(*, clinic: Clinic, monday: date, by, time_limit: float | None = None) -> dict[date, int]:
    """Level each day of the week in turn, each on the days as the one before left them: {day: visits moved}.

    Each day is its own proposal and confirmation (one transaction each), so a day that cannot
    be levelled leaves the others as they are; a refused day counts 0.
    """
    moved: dict[date, int] = {}
    for offset in range(7):
        day = monday + timedelta(days=offset)
        item = proposal(clinic, day, time_limit=time_limit)
        if not item.rows:
            moved[day] = 0
            continue
        try:
            moved[day] = len(levelling_apply(clinic=clinic, day=day, token=item.token, by=by))
        except LevellingError:
            moved[day] = 0
    return moved
