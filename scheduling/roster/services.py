"""The day's visits: moving an appointment through its statuses, the checks before the needle, nurse
assignments.

Infusion reactions are recorded by `scheduling.roster.reactions`, on the same lock.

Services: every write is keyword-only, atomic, records who and when (the actual time on the
appointment and an AppointmentEvent), keeps the reminder outbox in step, and refuses a wrong
move with a sentence the nurse or front desk can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic import dates
from clinic.models import Chair, Clinic, RegimenCheck
from clinic.roles import NURSE
from scheduling.booking.services import BookingError, booking_mark_no_show, lock_appointment
from scheduling.models import Appointment, AppointmentEvent, NurseAssignment, VisitCheck
from scheduling.reminders.outbox import appointment_reminders_sync
from scheduling.roster.checklists import visit_checklist

Status = Appointment.Status

STATUS_PERMISSION = "scheduling.change_appointment_status"
ARRIVAL_PERMISSION = "scheduling.mark_arrival"
ASSIGN_PERMISSIONS = ("scheduling.add_nurseassignment", "scheduling.change_nurseassignment")
OVERRIDE_AUTHORIZATION_PERMISSION = "scheduling.override_expired_authorization"


class VisitError(Exception):
    """A visit change that cannot be made; the message says why and what to do."""


class VisitPermissionError(VisitError):
    """The person's role does not allow this change."""


@dataclass(frozen=True)
class Move:
    """One status button: where it comes from, where it goes, the actual time it records."""

    to_status: str
    from_statuses: tuple[str, ...]
    label: str
    time_field: str | None
    permission: str


MOVES: dict[str, Move] = {
    Status.ARRIVED: Move(Status.ARRIVED, (Status.BOOKED,), "Arrived", "arrived_at", ARRIVAL_PERMISSION),
    Status.IN_CHAIR: Move(Status.IN_CHAIR, (Status.ARRIVED,), "In chair", "in_chair_at", STATUS_PERMISSION),
    Status.INFUSING: Move(
        Status.INFUSING, (Status.IN_CHAIR,), "Start infusion", "infusion_started_at", STATUS_PERMISSION
    ),
    Status.OBSERVATION: Move(
        Status.OBSERVATION, (Status.INFUSING,), "End infusion, observe", "infusion_ended_at", STATUS_PERMISSION
    ),
    # From infusing straight to completed only when no observation is required (checked below).
    Status.COMPLETED: Move(
        Status.COMPLETED, (Status.OBSERVATION, Status.INFUSING), "Completed", "completed_at", STATUS_PERMISSION
    ),
    Status.NO_SHOW: Move(Status.NO_SHOW, (Status.BOOKED,), "No-show", None, ARRIVAL_PERMISSION),
}

# A status pressed by mistake can be taken back for this long, by anyone who may press it.
UNDO_WITHIN = timedelta(minutes=5)

# Reactions are recorded while the patient is with the nurses, and on completed visits the same
# day (a reaction can show after the observation period).
REACTION_STATUSES = (Status.IN_CHAIR, Status.INFUSING, Status.OBSERVATION, Status.COMPLETED)

# The checks before the needle are ticked (and taken back) once the patient is here and until
# the infusion starts; after that the ticks are the record of what was checked.
TICK_STATUSES = (Status.ARRIVED, Status.IN_CHAIR)
# A manager may let the infusion start on an expired authorization until it has started.
OVERRIDE_STATUSES = (Status.BOOKED, Status.ARRIVED, Status.IN_CHAIR)


def _can(user, permission: str) -> bool:
    return user is not None and user.has_perm(permission)


def visit_moves_for(*, appointment: Appointment, user, now: datetime | None = None) -> list[Move]:
    """The status buttons this person may press on this visit now."""
    now = now or timezone.now()
    moves = []
    for move in MOVES.values():
        if appointment.status not in move.from_statuses or not _can(user, move.permission):
            continue
        if _refusal(appointment, move, now) is None:
            moves.append(move)
    return moves


def _refusal(appointment: Appointment, move: Move, now: datetime) -> str | None:
    """Why this move cannot be made now, as a sentence; None when it can."""
    current = appointment.get_status_display().lower()
    target = Status(move.to_status).label.lower()
    if appointment.status not in move.from_statuses:
        if appointment.status == move.to_status:
            return f"This visit is already {current}."
        allowed = " or ".join(Status(status).label.lower() for status in move.from_statuses)
        return f"A visit that is {current} cannot be marked {target}; it must be {allowed} first."
    tz = appointment.clinic.tz
    visit_day = appointment.starts_at.astimezone(tz).date()
    today = now.astimezone(tz).date()
    if move.to_status == Status.ARRIVED and visit_day != today:
        return f"This visit is on {dates.day(visit_day)}; mark the arrival on that day."
    if move.to_status == Status.NO_SHOW and now < appointment.starts_at:
        local = appointment.starts_at.astimezone(tz)
        return f"This visit starts at {local:%H:%M}; mark a no-show only after its start time."
    if move.to_status == Status.COMPLETED and appointment.status == Status.INFUSING and appointment.observation_minutes:
        return (
            f"This patient needs {appointment.observation_minutes} minutes of observation; "
            "end the infusion and observe before completing the visit."
        )
    return None


def _record(appointment: Appointment, *, by, action: str, from_status: str = "", reason: str = "", details=None):
    AppointmentEvent.objects.create(
        appointment=appointment,
        by=by,
        action=action,
        from_status=from_status,
        to_status=appointment.status,
        reason=reason,
        details=details or {},
    )


def lock_visit(appointment: Appointment) -> Appointment:
    """The appointment row, locked for this transaction, so two nurses' clicks cannot cross.

    Locked as the booking services lock it (the bare row, then loaded), so a click that waited
    behind a move to another chair still finds its visit.
    """
    try:
        return lock_appointment(appointment.pk)
    except BookingError as error:
        raise VisitError(error.message) from error


@transaction.atomic
def visit_move(
    *, appointment: Appointment, to_status: str, by: AbstractBaseUser, now: datetime | None = None
) -> Appointment:
    """Move a visit one step along the day (arrived, in chair, infusing, observation, completed).

    Records the actual time on the appointment (`arrived_at`, `in_chair_at`, …), an
    AppointmentEvent with who and when, and brings the reminders in line. A no-show goes
    through the booking services' `booking_mark_no_show`.
    """
    move = MOVES.get(to_status)
    if move is None:
        raise VisitError("That is not a status a visit can be moved to. Choose one of the buttons on the roster.")
    if to_status == Status.NO_SHOW:
        return visit_mark_no_show(appointment=appointment, by=by, now=now)
    now = now or timezone.now()
    appointment = lock_visit(appointment)
    if not _can(by, move.permission):
        raise VisitPermissionError(
            f"Only nurses and clinic managers can mark a visit {Status(to_status).label.lower()}. Ask a nurse to do it."
        )
    refusal = _refusal(appointment, move, now)
    if refusal:
        raise VisitError(refusal)
    if to_status == Status.INFUSING:
        # Under the visit's lock, so a tick taken back at the same moment cannot slip past.
        refusal = visit_checklist(appointment).refusal()
        if refusal:
            raise VisitError(refusal)
    from_status = appointment.status
    appointment.status = move.to_status
    fields = ["status"]
    if move.time_field:
        setattr(appointment, move.time_field, now)
        fields.append(move.time_field)
    if to_status == Status.COMPLETED and appointment.infusion_ended_at is None:
        # Completed straight from infusing (no observation): the infusion ended now.
        appointment.infusion_ended_at = now
        fields.append("infusion_ended_at")
    appointment.save(update_fields=fields)
    _record(
        appointment,
        by=by,
        action=AppointmentEvent.Action.STATUS,
        from_status=from_status,
        # The actual times this move wrote, so an undo clears exactly those.
        details={"at": now.isoformat(), "fields": fields[1:]},
    )
    appointment_reminders_sync(appointment=appointment)
    return appointment


# --- The checks before the needle ------------------------------------------------------------


def _checklist_item(appointment: Appointment, regimen_check: RegimenCheck, verb: str):
    """The visit's checklist and the item `regimen_check` on it, refusing when the visit cannot be ticked now."""
    if appointment.status not in TICK_STATUSES:
        status = appointment.get_status_display().lower()
        if appointment.status == Status.BOOKED:
            raise VisitError(f"This visit is booked; {verb} its checks once the patient has arrived.")
        raise VisitError(
            f"This visit is {status}; its checks are {verb}ed between the arrival and the start of the infusion."
        )
    checklist = visit_checklist(appointment)
    for item in checklist.items:
        if item.check_id == regimen_check.pk:
            return item
    raise VisitError("That check is not on this visit's list. Reload the roster and tick one of its items.")


@transaction.atomic
def visit_check_tick(
    *, appointment: Appointment, regimen_check: RegimenCheck, by: AbstractBaseUser, now: datetime | None = None
) -> VisitCheck:
    """Tick one item of the visit's checklist: who and when, on the tick and in the visit's history.

    Ticking an item already ticked changes nothing (a double click, or two nurses at once).
    """
    now = now or timezone.now()
    appointment, standing = _check_item(
        appointment,
        regimen_check,
        by,
        "tick",
        "Only nurses and clinic managers can tick the checks before an infusion.",
    )
    if standing is not None:
        return standing
    tick = VisitCheck.objects.create(appointment=appointment, regimen_check=regimen_check, ticked_by=by, ticked_at=now)
    _record_check(
        appointment, regimen_check, AppointmentEvent.Action.CHECK_TICKED, f"Ticked the {regimen_check.label}.", by, now
    )
    return tick


@transaction.atomic
def visit_check_untick(
    *, appointment: Appointment, regimen_check: RegimenCheck, by: AbstractBaseUser, now: datetime | None = None
) -> Appointment:
    """Take back a tick given by mistake, before the infusion starts; the tick's row and history stay."""
    now = now or timezone.now()
    appointment, standing = _check_item(
        appointment,
        regimen_check,
        by,
        "untick",
        "Only nurses and clinic managers can take back a check before an infusion.",
    )
    if standing is None:
        return appointment
    standing.unticked_by = by
    standing.unticked_at = now
    standing.save(update_fields=["unticked_by", "unticked_at"])
    _record_check(
        appointment,
        regimen_check,
        AppointmentEvent.Action.CHECK_UNTICKED,
        f"Took back the tick of the {regimen_check.label}.",
        by,
        now,
    )
    return appointment


def _check_item(appointment, regimen_check, by, action: str, refusal: str):
    """The visit, locked, and the item's standing tick (or None), once the nurse may change the item."""
    appointment = lock_visit(appointment)
    if not _can(by, STATUS_PERMISSION):
        raise VisitPermissionError(refusal)
    _checklist_item(appointment, regimen_check, action)
    standing = VisitCheck.objects.standing().filter(appointment=appointment, regimen_check=regimen_check).first()
    return appointment, standing


def _record_check(appointment, regimen_check, action, reason: str, by, now: datetime) -> None:
    _record(
        appointment,
        by=by,
        action=action,
        from_status=appointment.status,
        reason=reason,
        details={"check_id": regimen_check.pk, "label": regimen_check.label, "at": now.isoformat()},
    )


@transaction.atomic
def visit_authorization_override(
    *, appointment: Appointment, reason: str, by: AbstractBaseUser, now: datetime | None = None
) -> Appointment:
    """Let the infusion start although the course's programme authorization has expired (or is not on file).

    A clinic manager's decision with a written reason, kept on the visit with who and when and
    in its history. The checklist's items must still be ticked.
    """
    now = now or timezone.now()
    appointment = lock_visit(appointment)
    if not _can(by, OVERRIDE_AUTHORIZATION_PERMISSION):
        raise VisitPermissionError(
            "Only a clinic manager can let an infusion start on an expired authorization. Ask your clinic manager."
        )
    reason = reason.strip()
    if not reason:
        raise VisitError("Write why the infusion may start on the expired authorization: the reason is kept.")
    if appointment.status not in OVERRIDE_STATUSES:
        raise VisitError(
            f"This visit is {appointment.get_status_display().lower()}; an authorization is overridden before the "
            "infusion starts."
        )
    checklist = visit_checklist(appointment)
    if checklist.overridden:
        raise VisitError("An override is already recorded on this visit; the infusion may start once it is ticked.")
    if checklist.authorization_current:
        raise VisitError("This visit's programme authorization is current: there is nothing to override.")
    appointment.authorization_override_reason = reason
    appointment.authorization_override_by = by
    appointment.authorization_override_at = now
    appointment.save(
        update_fields=["authorization_override_reason", "authorization_override_by", "authorization_override_at"]
    )
    expires = checklist.authorization_expires_on
    _record(
        appointment,
        by=by,
        action=AppointmentEvent.Action.AUTHORIZATION_OVERRIDE,
        from_status=appointment.status,
        reason=reason,
        details={"expires_on": expires.isoformat() if expires else None, "at": now.isoformat()},
    )
    return appointment


# --- Undo ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Undo:
    """The last status move of a visit, which can still be taken back."""

    event_id: int
    from_status: str
    to_status: str
    pressed_at: datetime

    @property
    def label(self) -> str:
        move = MOVES.get(self.to_status)
        return move.label if move else Status(self.to_status).label


def undo_offer(*, appointment: Appointment, last_event, user, now: datetime | None = None) -> Undo | None:
    """The move that `user` may undo on this visit now, or None.

    `last_event` is the visit's latest move, past ticks and notes (an AppointmentEvent, or a row with the same
    fields). Only a status move is undone, only while the visit still stands where it put it,
    within UNDO_WITHIN, by someone allowed to press that move, and an undo is not undone again.
    """
    now = now or timezone.now()
    if last_event is None or last_event.action != AppointmentEvent.Action.STATUS:
        return None
    move = MOVES.get(last_event.to_status)
    if (
        move is None
        or appointment.status != last_event.to_status
        or last_event.from_status not in move.from_statuses
        or (last_event.details or {}).get("undo_of")
        or now - last_event.at > UNDO_WITHIN
        or not _can(user, move.permission)
    ):
        return None
    return Undo(last_event.pk, last_event.from_status, last_event.to_status, last_event.at)


@transaction.atomic
def visit_undo(*, appointment: Appointment, by: AbstractBaseUser, now: datetime | None = None) -> Appointment:
    """Take back the visit's last status move (pressed by mistake), within five minutes.

    The visit goes back to the status it had, the actual time that move wrote is cleared, the
    history keeps both the move and its undo, and the reminders follow (a no-show taken back
    cancels the "please rebook" message if it has not gone yet).
    """
    now = now or timezone.now()
    appointment = lock_visit(appointment)
    last_event = appointment.events.exclude(action__in=AppointmentEvent.BESIDE_THE_MOVES).order_by("-at", "-pk").first()
    offer = undo_offer(appointment=appointment, last_event=last_event, user=by, now=now)
    if offer is None:
        move = MOVES.get(last_event.to_status) if last_event is not None else None
        if move is not None and not _can(by, move.permission):
            raise VisitPermissionError("Your role cannot take back that status. Ask a nurse or a clinic manager.")
        raise VisitError(
            f"There is nothing to undo on this visit: a status can be taken back within "
            f"{int(UNDO_WITHIN.total_seconds() // 60)} minutes, once. Use the buttons to move the visit on."
        )
    undone = MOVES[offer.to_status]
    fields = ["status"]
    cleared = last_event.details.get("fields")
    if cleared is None:  # a move recorded before its fields were
        cleared = [undone.time_field] if undone.time_field else []
    for name in cleared:
        setattr(appointment, name, None)
        fields.append(name)
    appointment.status = offer.from_status
    try:
        with transaction.atomic():
            appointment.save(update_fields=fields)
    except IntegrityError as error:
        # A no-show frees the chair: someone may have been booked into it since.
        raise VisitError(
            "The chair or the patient was booked for another visit since, so this cannot be taken back. "
            "Book the patient again instead."
        ) from error
    _record(
        appointment,
        by=by,
        action=AppointmentEvent.Action.STATUS,
        from_status=offer.to_status,
        reason=f"Undid “{offer.label}”, pressed at {offer.pressed_at.astimezone(appointment.clinic.tz):%H:%M}.",
        details={"at": now.isoformat(), "undo_of": offer.event_id},
    )
    appointment_reminders_sync(appointment=appointment)
    return appointment


@transaction.atomic
def visit_mark_no_show(*, appointment: Appointment, by: AbstractBaseUser, now: datetime | None = None) -> Appointment:
    """Mark a booked visit a no-show once its start time has passed.

    The booking service records it (status, history, the missed-appointment reminder); this
    checks the role and answers in the roster's words first.
    """
    now = now or timezone.now()
    move = MOVES[Status.NO_SHOW]
    appointment = lock_visit(appointment)
    if not _can(by, move.permission):
        raise VisitPermissionError("Only the front desk, nurses and clinic managers can mark a no-show.")
    refusal = _refusal(appointment, move, now)
    if refusal:
        raise VisitError(refusal)
    try:
        return booking_mark_no_show(appointment=appointment, by=by)
    except BookingError as error:
        raise VisitError(error.message) from error


@transaction.atomic
def nurse_assign(*, clinic: Clinic, day: date, chair: Chair, nurse, by: AbstractBaseUser) -> NurseAssignment:
    """Give a chair to a nurse of the clinic for one day (replacing the nurse already there).

    Needs both assignment permissions, as the roster's form does: the call may create the
    day's assignment or change it.
    """
    if not all(_can(by, permission) for permission in ASSIGN_PERMISSIONS):
        raise VisitPermissionError("Only clinic managers can assign nurses to chairs.")
    if chair.clinic_id != clinic.pk:
        raise VisitError("That chair belongs to another clinic. Choose one of this clinic's chairs.")
    works_here = (
        get_user_model()
        .objects.filter(pk=nurse.pk, is_active=True, groups__name=NURSE, staff_profile__clinics=clinic)
        .exists()
    )
    if not works_here:
        raise VisitError(
            f"{nurse.get_full_name() or nurse.get_username()} is not a nurse at {clinic}. Choose one who is."
        )
    # Ordered by its own key: the default ordering goes through the chair, and a lock through a
    # join would lock the chair's row too.
    assignment = NurseAssignment.objects.select_for_update().filter(day=day, chair=chair).order_by("pk").first()
    if assignment is None:
        try:
            with transaction.atomic():
                return NurseAssignment.objects.create(clinic=clinic, day=day, chair=chair, nurse=nurse, assigned_by=by)
        except IntegrityError:
            # Another manager gave the chair to a nurse at the same moment: this choice replaces theirs.
            assignment = NurseAssignment.objects.select_for_update().get(day=day, chair=chair)
    if assignment.nurse_id != nurse.pk:
        assignment.nurse = nurse
        assignment.assigned_by = by
        assignment.save(update_fields=["nurse", "assigned_by"])
    return assignment
