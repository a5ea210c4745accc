"""Visits that began before now, written as they happened: given, under way today, missed, cancelled.

The booking services refuse a start in the past, so these rows are written directly, with
the history and the actual times the services would have recorded: booked some days
before, then moved through the day's statuses (the roster's moves and their time fields,
the checks before the needle ticked by the nurse in the chair before the infusion started),
cancelled, or marked a no-show. Everything that starts after now is booked through the
booking services instead (`bookings`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import connection

from clinic import dosing
from clinic.models import RegimenCheck
from patients.models import Patient, TreatmentCourse
from scheduling.demo.days import Placement
from scheduling.demo.history import Visit
from scheduling.demo.plans import MILD_REACTION, NO_SHOW_NOTE, SERIOUS_REACTION
from scheduling.doses import RegimenSpecs
from scheduling.models import Appointment, AppointmentEvent, InfusionReaction, VisitCheck
from scheduling.reminders.outbox import appointment_reminders_sync
from scheduling.roster.services import MOVES

Status = Appointment.Status


def booked_at_for(starts_at: datetime, rng: random.Random, now: datetime) -> datetime:
    """When the front desk booked a visit: some days before it, and before now."""
    return min(now - timedelta(hours=1), starts_at - timedelta(days=rng.randint(5, 40), hours=rng.randint(0, 5)))


def cancelled_at_for(booked_at: datetime, rng: random.Random, now: datetime) -> datetime:
    return min(now - timedelta(minutes=30), booked_at + timedelta(days=rng.randint(1, 4)))


def slot_details(placement: Placement) -> dict:
    """The booked slot as the booking services record it in the history."""
    return {
        "chair_id": placement.chair.pk,
        "chair": placement.chair.name,
        "starts_at": placement.starts_at.isoformat(),
        "ends_at": placement.ends_at.isoformat(),
    }


def status_on_the_day(visit: Visit, now: datetime) -> tuple[str, list[tuple[str, datetime]]]:
    """Where a visit stands at `now`, and the times it moved through the day's statuses.

    A patient who comes late starts late; an infusion slowed down ends later than planned,
    and everything after it moves with it (the roster shows the visit running over).
    """
    placement = visit.placement
    chair_time = placement.chair_time
    arrived = visit.arrives_at
    seated = max(placement.starts_at, arrived + timedelta(minutes=5) if visit.late_by else arrived)
    infusion_started = seated + timedelta(minutes=chair_time.premed_minutes + 5)
    infusion_ended = infusion_started + timedelta(minutes=chair_time.infusion_minutes) + visit.slowed_by
    steps = [
        (Status.ARRIVED, arrived),
        (Status.IN_CHAIR, seated),
        (Status.INFUSING, infusion_started),
        (Status.OBSERVATION, infusion_ended),
        (Status.COMPLETED, infusion_ended + timedelta(minutes=chair_time.observation_minutes)),
    ]
    if not chair_time.observation_minutes:
        steps.remove((Status.OBSERVATION, infusion_ended))
    done = [(status, moment) for status, moment in steps if moment <= now]
    return (done[-1][0] if done else Status.BOOKED), done


def visits_write(
    visits: Sequence[Visit],
    *,
    patient: Patient,
    course: TreatmentCourse,
    staff: dict,
    rng: random.Random,
    now: datetime,
) -> list[Appointment]:
    """Write visits that began before now, with their history; the reminder outbox follows."""
    return visits_write_many([(patient, course, visits)], staff=staff, rng=rng, now=now)


def visits_write_many(
    courses: Sequence[tuple[Patient, TreatmentCourse, Sequence[Visit]]],
    *,
    staff: dict,
    rng: random.Random,
    now: datetime,
) -> list[Appointment]:
    """`visits_write` for many courses at once, in a few bulk inserts."""
    checks = _Checks({course.regimen_id for _patient, course, _visits in courses})
    rows: list[tuple[Appointment, list[AppointmentEvent]]] = []
    for patient, course, visits in courses:
        for visit in sorted(visits, key=lambda visit: visit.placement.starts_at):
            rows.append(_visit_row(visit, patient=patient, course=course, staff=staff, rng=rng, now=now))
    _write(rows)
    _ticks_write(rows, checks=checks, nurse=staff["nurse"])
    appointments = [appointment for appointment, _events in rows]
    # The reminder outbox follows, as after every booking change: a no-show owes the patient a message.
    for appointment in appointments:
        if appointment.status == Status.NO_SHOW:
            appointment_reminders_sync(appointment=appointment)
    return appointments


class _Checks:
    """The checks before the needle each dose of the demo's regimens asks for, read once per regimen."""

    def __init__(self, regimen_ids: set[int]) -> None:
        self._specs = RegimenSpecs.for_regimens(regimen_ids)
        self._checks: dict[int, list[RegimenCheck]] = {regimen_id: [] for regimen_id in regimen_ids}
        for check in RegimenCheck.objects.filter(regimen_id__in=regimen_ids, active=True).order_by("position", "pk"):
            self._checks[check.regimen_id].append(check)

    def __call__(self, course: TreatmentCourse, dose_number: int) -> list[RegimenCheck]:
        first = dosing.first_of_block(self._specs(course.regimen_id), dose_number)
        return [
            check
            for check in self._checks[course.regimen_id]
            if check.applies_to(dose_number=dose_number, first_of_block=first)
        ]


def _ticks_write(rows: list[tuple[Appointment, list[AppointmentEvent]]], *, checks: _Checks, nurse) -> None:
    """Every visit whose infusion started had its checks ticked in the chair, a minute apart, by the nurse.

    With their history rows, as the roster's tick service writes them; the course's authorization
    was current on those days (the demo's courses expire after today).
    """
    ticks, events = [], []
    for appointment, _events in rows:
        if appointment.infusion_started_at is None:
            continue
        for number, check in enumerate(checks(appointment.course, appointment.dose_number), start=1):
            moment = min(appointment.in_chair_at + timedelta(minutes=number), appointment.infusion_started_at)
            ticks.append(VisitCheck(appointment=appointment, regimen_check=check, ticked_by=nurse, ticked_at=moment))
            events.append(
                AppointmentEvent(
                    appointment=appointment,
                    by=nurse,
                    at=moment,
                    action=AppointmentEvent.Action.CHECK_TICKED,
                    from_status=Status.IN_CHAIR,
                    to_status=Status.IN_CHAIR,
                    reason=f"Ticked the {check.label}.",
                    details={"check_id": check.pk, "label": check.label, "at": moment.isoformat()},
                )
            )
    VisitCheck.objects.bulk_create(ticks, batch_size=500)
    moments = [event.at for event in events]
    AppointmentEvent.objects.bulk_create(events, batch_size=500)
    times_write(AppointmentEvent, "at", {event.pk: moment for event, moment in zip(events, moments, strict=True)})


def _visit_row(
    visit: Visit, *, patient: Patient, course: TreatmentCourse, staff: dict, rng: random.Random, now: datetime
) -> tuple[Appointment, list[AppointmentEvent]]:
    front_desk, nurse = staff["front_desk"], staff["nurse"]
    placement, chair_time = visit.placement, visit.placement.chair_time
    starts_at = placement.starts_at
    booked_at = booked_at_for(starts_at, rng, now)
    appointment = Appointment(
        clinic=patient.clinic,
        chair=placement.chair,
        patient=patient,
        course=course,
        dose_number=visit.dose.dose_number,
        starts_at=starts_at,
        ends_at=placement.ends_at,
        premed_minutes=chair_time.premed_minutes,
        infusion_minutes=chair_time.infusion_minutes,
        observation_minutes=chair_time.observation_minutes,
        status=visit.status,
        booked_by=front_desk,
        created_at=booked_at,
    )
    slot = slot_details(placement)
    events = [
        AppointmentEvent(
            by=front_desk,
            at=booked_at,
            action=AppointmentEvent.Action.BOOKED,
            to_status=Status.BOOKED,
            details={**slot, "dose_number": visit.dose.dose_number, "dose": visit.dose.reason},
        )
    ]
    if visit.status == Status.CANCELLED:
        events.append(
            AppointmentEvent(
                by=front_desk,
                at=cancelled_at_for(booked_at, rng, now),
                action=AppointmentEvent.Action.CANCELLED,
                from_status=Status.BOOKED,
                to_status=Status.CANCELLED,
                reason=visit.cancel_reason,
                details=slot,
            )
        )
    elif visit.status == Status.NO_SHOW:
        appointment.notes = NO_SHOW_NOTE
        marked = min(starts_at + timedelta(minutes=45), now)
        events.append(
            AppointmentEvent(
                by=front_desk,
                at=marked,
                action=AppointmentEvent.Action.STATUS,
                from_status=Status.BOOKED,
                to_status=Status.NO_SHOW,
                reason=NO_SHOW_NOTE,
                details={"at": marked.isoformat()},
            )
        )
    else:
        events += _day_of_the_visit(appointment, visit, front_desk=front_desk, nurse=nurse, now=now)
    return appointment, events


def _day_of_the_visit(appointment: Appointment, visit: Visit, *, front_desk, nurse, now: datetime) -> list:
    """Move a visit given before today, or under way today, through the day's statuses."""
    status, steps = status_on_the_day(visit, now)
    appointment.status = status
    if visit.note:
        appointment.notes = visit.note
    events = []
    previous = Status.BOOKED
    for step, moment in steps:
        setattr(appointment, MOVES[step].time_field, moment)
        if step == Status.COMPLETED and not appointment.infusion_ended_at:
            appointment.infusion_ended_at = moment  # no observation after this infusion
        events.append(
            AppointmentEvent(
                by=front_desk if step == Status.ARRIVED else nurse,
                at=moment,
                action=AppointmentEvent.Action.STATUS,
                from_status=previous,
                to_status=step,
                details={"at": moment.isoformat()},
            )
        )
        previous = step
    if visit.infusion_reaction and appointment.infusion_started_at:
        record = SERIOUS_REACTION if visit.serious_reaction else MILD_REACTION
        noticed = appointment.infusion_started_at + timedelta(minutes=40)
        appointment.infusion_reaction = True
        appointment.serious_reaction = record["serious"]
        appointment.hypersensitivity_reaction = record["hypersensitivity"]
        # Written with the appointment once it has its id (`_write`).
        appointment.demo_reactions = [InfusionReaction(onset_at=noticed, recorded_by=nurse, **record)]
        events.append(
            AppointmentEvent(
                by=nurse,
                at=noticed,
                action=AppointmentEvent.Action.REACTION,
                from_status=Status.INFUSING,
                to_status=Status.INFUSING,
                reason=record["notes"],
                details={
                    "at": noticed.isoformat(),
                    "onset_at": noticed.isoformat(),
                    **{key: record[key] for key in ("grade", "symptoms", "actions", "outcome", "serious")},
                    "hypersensitivity": record["hypersensitivity"],
                },
            )
        )
    return events


def _write(rows: list[tuple[Appointment, list[AppointmentEvent]]]) -> None:
    """Insert the appointments and their history; keep the historical times auto_now_add would replace."""
    appointments = [appointment for appointment, _events in rows]
    booked_at = [appointment.created_at for appointment in appointments]
    Appointment.objects.bulk_create(appointments, batch_size=500)
    for appointment, moment in zip(appointments, booked_at, strict=True):
        appointment.created_at = moment
    times_write(Appointment, "created_at", {appointment.pk: appointment.created_at for appointment in appointments})
    events = []
    for appointment, appointment_events in rows:
        for event in appointment_events:
            event.appointment = appointment
            events.append(event)
    moments = [event.at for event in events]
    AppointmentEvent.objects.bulk_create(events, batch_size=500)
    for event, moment in zip(events, moments, strict=True):
        event.at = moment
    times_write(AppointmentEvent, "at", {event.pk: event.at for event in events})
    reactions = []
    for appointment in appointments:
        for reaction in getattr(appointment, "demo_reactions", ()):
            reaction.appointment = appointment
            reactions.append(reaction)
    InfusionReaction.objects.bulk_create(reactions)


def times_write(model, field_name: str, moments: dict[int, datetime]) -> None:
    """Set a creation time (`auto_now_add`, which an insert overwrites) on many rows: the demo's past.

    One prepared UPDATE run for every row: `bulk_update` builds a CASE of thousands of
    branches, which takes longer than the whole rest of the demo.
    """
    if not moments:
        return
    field = model._meta.get_field(field_name)
    table, column, key = model._meta.db_table, field.column, model._meta.pk.column
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(key)} = %s",  # noqa: S608 - model names only
            [(adapt(moment), pk) for pk, moment in moments.items()],
        )
