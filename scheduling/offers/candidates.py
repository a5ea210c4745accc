"""Who is asked about an opening, in which order, and at which start.

First the doses due and not yet booked whose dosing window holds the opening's day, the
longest waiting first (the earliest target date); then patients booked later who agreed to
be asked about an earlier time, those booked furthest ahead first (they gain the most). A
patient is asked only when one of their channels takes messages, their dose's whole chair
time fits inside the opening in its chair, and the booking services would take the booking
(`booking_problem`: the chair time for their dose, the nurse rules, the opening hours, the
earliest date and the spacing between doses, the course active and not on hold). A dose that
starts a series (an initiation, a Lemtrada course) is booked as a series by the front desk
and never offered one chair time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Q

from clinic.dosing import ChairTime
from patients.models import TreatmentCourse
from scheduling.availability.search import find_slots
from scheduling.booking.services import booking_problem
from scheduling.doses import clinic_today, course_doses, planned_dose
from scheduling.models import Appointment, ChairOpening, DoseState
from scheduling.reminders.outbox import patient_channels

# A time is offered only when it starts at least this long from now: the patient must get there.
NOTICE = timedelta(hours=1)
# Booked visits this far ahead at most are asked to come earlier.
BOOKED_AHEAD = timedelta(weeks=26)


@dataclass(frozen=True)
class Candidate:
    course: TreatmentCourse
    dose_number: int
    starts_at: datetime
    ends_at: datetime
    appointment: Appointment | None = None  # the later visit that moves, when the dose is booked


def _start_inside(opening: ChairOpening, *, course, chair_time: ChairTime, dose, exclude, now: datetime):
    """The first start in the opening's chair at which the dose's whole chair time fits inside the opening."""
    if opening.starts_at + timedelta(minutes=chair_time.total_minutes) > opening.ends_at:
        return None
    day = opening.starts_at.astimezone(opening.clinic.tz).date()
    found = find_slots(
        clinic=opening.clinic,
        chair_time=chair_time,
        start=day,
        end=day,
        patient_id=course.patient_id,
        earliest_date=dose.earliest_date if dose else None,
        chair_ids=[opening.chair_id],
        exclude_appointment_ids=exclude,
        now=now,
    )
    for slot in found.slots:
        ends_at = slot.starts_at + timedelta(minutes=chair_time.total_minutes)
        if slot.starts_at >= max(opening.starts_at, now + NOTICE) and ends_at <= opening.ends_at:
            return slot.starts_at
    return None


def _due(opening: ChairOpening, *, day, skip: set[int], now: datetime) -> Iterator[Candidate]:
    length = int((opening.ends_at - opening.starts_at).total_seconds() // 60)
    states = (
        DoseState.objects.filter(
            clinic_id=opening.clinic_id,
            dose_number__isnull=False,
            when_needed=False,
            booked_count=0,
            problem=DoseState.Problem.NONE,
            earliest_date__lte=day,
            latest_date__gte=day,
            block_size=1,
            course__status=TreatmentCourse.Status.ACTIVE,
        )
        .exclude(course_id__in=skip)
        .order_by("target_date", "course_id")
        .values_list("course_id", "premed_minutes", "infusion_minutes", "observation_minutes")
    )
    for course_id, premed, infusion, observation in states.iterator(chunk_size=200):
        if premed + infusion + observation > length:
            continue  # the stored chair time already says it cannot fit
        course = TreatmentCourse.objects.select_related("patient__clinic", "regimen__drug").get(pk=course_id)
        if not patient_channels(course.patient):
            continue
        dose = course_doses(course, today=clinic_today(opening.clinic, now)).next
        if dose is None or dose.block_size > 1:
            continue
        starts_at = _start_inside(opening, course=course, chair_time=dose.chair_time, dose=dose, exclude=(), now=now)
        if starts_at is None or booking_problem(course=course, chair=opening.chair, starts_at=starts_at):
            continue
        yield Candidate(
            course, dose.dose_number, starts_at, starts_at + timedelta(minutes=dose.chair_time.total_minutes)
        )


def _booked_later(opening: ChairOpening, *, day, skip: set[int], now: datetime) -> Iterator[Candidate]:
    later = (
        Appointment.objects.filter(
            clinic_id=opening.clinic_id,
            status=Appointment.Status.BOOKED,
            starts_at__gte=opening.ends_at,
            starts_at__lt=opening.ends_at + BOOKED_AHEAD,
            patient__wants_earlier_offers=True,
            course__status=TreatmentCourse.Status.ACTIVE,
            # Its whole chair time must fit inside the opening.
            ends_at__lte=F("starts_at") + (opening.ends_at - opening.starts_at),
        )
        .exclude(course_id__in=skip)
        .filter(~Q(pk=opening.freed_by_id))
        .select_related("clinic", "chair", "patient__clinic", "course__patient__clinic", "course__regimen__drug")
        .order_by("-starts_at", "pk")
    )
    today = clinic_today(opening.clinic, now)
    for appointment in later.iterator(chunk_size=200):
        if not patient_channels(appointment.patient):
            continue
        course = appointment.course
        chair_time = ChairTime(
            appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes
        )
        dose = planned_dose(course, appointment.dose_number, today=today, exclude_appointment_id=appointment.pk)
        if dose is not None and (dose.block_size > 1 or dose.earliest_date > day):
            continue
        starts_at = _start_inside(
            opening, course=course, chair_time=chair_time, dose=dose, exclude=(appointment.pk,), now=now
        )
        if starts_at is None or booking_problem(
            course=course, chair=opening.chair, starts_at=starts_at, appointment=appointment
        ):
            continue
        yield Candidate(
            course,
            appointment.dose_number,
            starts_at,
            starts_at + timedelta(minutes=chair_time.total_minutes),
            appointment=appointment,
        )


def opening_candidates(opening: ChairOpening, *, limit: int, skip: set[int], now: datetime) -> list[Candidate]:
    """The next `limit` patients to ask about the opening, none of the courses in `skip`, in the order above."""
    day = opening.starts_at.astimezone(opening.clinic.tz).date()
    found: list[Candidate] = []
    for candidate in _due(opening, day=day, skip=skip, now=now):
        found.append(candidate)
        if len(found) >= limit:
            return found
    taken = skip | {item.course.pk for item in found}
    for candidate in _booked_later(opening, day=day, skip=taken, now=now):
        found.append(candidate)
        if len(found) >= limit:
            break
    return found
