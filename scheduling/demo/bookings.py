"""The coming weeks, booked through the booking services as the front desk books them.

For each course the next dose comes from `scheduling.doses`, its slot from the booking
rules' search (`ClinicDays`), and the booking from `booking_create` (one dose) or
`booking_create_series` (a loading series or a Lemtrada course, same chair and time each
day); a booking the story cancels goes through `booking_cancel`. The services check every
rule again and write the history and the reminder rows. Their history is then dated back
to when the front desk made the booking, days before.

A visit of today that has already begun when the demo is built (the roster shows it under
way) cannot be booked in the past; it is written as it happened (`visits`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from clinic.dosing import ChairTime, PlannedDose
from patients.models import Patient, TreatmentCourse
from scheduling.booking.services import booking_cancel, booking_create, booking_create_series, series_doses
from scheduling.demo.days import ClinicDays, Placement
from scheduling.demo.history import CourseStory, Visit, block_offsets, first_fit
from scheduling.demo.plans import ARRIVAL_LEAD, BOOKING_HORIZON_DAYS, CANCEL_REASONS, FIRST_FIT_DAYS
from scheduling.demo.visits import booked_at_for, cancelled_at_for, times_write, visits_write
from scheduling.doses import course_doses
from scheduling.models import Appointment, AppointmentEvent


def course_book_ahead(
    story: CourseStory,
    rng: random.Random,
    *,
    patient: Patient,
    course: TreatmentCourse,
    staff: dict,
    now: datetime,
) -> int:
    """Book the doses due within the horizon, each in its window; returns the appointments written.

    A "moved" course's first booking was first made on another day and cancelled; a
    "cancelled" course's next booking was cancelled and is not booked again yet (the
    worklist shows it).
    """
    if story.flags & {"overdue", "no_show", "unbooked"}:
        return 0
    days, today = story.days, story.today
    horizon = today + timedelta(days=BOOKING_HORIZON_DAYS)
    bookings = _CourseBookings(story, rng, patient=patient, course=course, staff=staff, now=now)
    changes_first = bool(story.flags & {"moved", "cancelled"})
    while True:
        dose = course_doses(course, today=today).next
        if dose is None or dose.when_needed or dose.target_date > horizon:
            break
        first_day = max(dose.earliest_date, dose.target_date, today)
        if dose.dose_in_block > 1:
            # The rest of a block begun before: its days are fixed.
            if first_day != dose.target_date:
                break
            placement = days.choose_on(rng, first_day, dose.chair_time, patient_id=patient.pk)
        elif dose.block_size > 1 and not changes_first:
            doses = series_doses(course, today=today)
            placement = _series_fit(days, rng, doses, first_day, first_day + timedelta(days=FIRST_FIT_DAYS), patient)
            if placement is None:
                break
            bookings.book_series(placement)
            continue
        else:
            placement = first_fit(
                days,
                rng,
                dose,
                first_day,
                first_day + timedelta(days=FIRST_FIT_DAYS),
                block_days=block_offsets(story.spec, dose),
                patient_id=patient.pk,
                from_now=changes_first,
            )
        if placement is None:
            break
        if changes_first:
            if "moved" in story.flags:
                _cancelled_first(bookings, dose, placement)
            if "cancelled" in story.flags:
                bookings.cancel(bookings.book(placement), CANCEL_REASONS[0])
                return bookings.count
            changes_first = False
        bookings.dose(dose, placement)
    if "moved" in story.flags and changes_first and story.given:
        last = story.given[-1]
        _cancelled_first(bookings, last.dose, last.placement)
    return bookings.count


def _series_fit(
    days: ClinicDays, rng: random.Random, doses: Sequence[PlannedDose], day, last_day, patient: Patient
) -> Placement | None:
    """The first day from which one chair at one time is free on every day of the series."""
    offsets = [dose.target_date - doses[0].target_date for dose in doses]
    while day <= last_day:
        slots = days.free_slots(
            doses[0].chair_time, day, day, earliest_date=doses[0].earliest_date, patient_id=patient.pk, from_now=True
        )[day]
        for dose, offset in zip(doses[1:], offsets[1:], strict=True):
            later = day + offset
            free = days.free_slots(dose.chair_time, later, later, patient_id=patient.pk, from_now=True)[later]
            keys = {(slot.chair_id, slot.local_start.time()) for slot in free}
            slots = [slot for slot in slots if (slot.chair_id, slot.local_start.time()) in keys]
        if slots:
            return days.choose(rng, slots, doses[0].chair_time)
        day += timedelta(days=1)
    return None


def _cancelled_first(bookings: _CourseBookings, dose: PlannedDose, visit_placement: Placement) -> None:
    """The visit was first booked on another day, then cancelled at the patient's request."""
    story, today = bookings.story, bookings.story.today
    offsets = [-3, -2, -1, 1, 2, 3, 4]
    bookings.rng.shuffle(offsets)
    for offset in offsets:
        day = visit_placement.day + timedelta(days=offset)
        ahead = day > today
        if ahead != (visit_placement.day >= today):
            continue  # a cancellation stays on the same side of today as the visit it moved
        chair_time = visit_placement.chair_time
        slots = story.days.free_slots(
            chair_time, day, day, earliest_date=dose.earliest_date, patient_id=bookings.patient.pk, from_now=ahead
        )[day]
        placement = story.days.choose(bookings.rng, slots, chair_time)
        if placement is None:
            continue
        if ahead:
            bookings.cancel(bookings.book(placement), CANCEL_REASONS[1])
        else:
            bookings.record(Visit(dose, placement, Appointment.Status.CANCELLED, cancel_reason=CANCEL_REASONS[1]))
        return


class _CourseBookings:
    """One course's bookings through the services (or written as they happened, once begun), counted."""

    def __init__(self, story: CourseStory, rng: random.Random, *, patient, course, staff: dict, now: datetime):
        self.story = story
        self.rng = rng
        self.patient = patient
        self.course = course
        self.front_desk = staff["front_desk"]
        self.staff = staff
        self.now = now
        self.count = 0

    def dose(self, dose: PlannedDose, placement: Placement) -> None:
        """Book one dose, or record it as it happened when it has begun by now (today's roster)."""
        if placement.starts_at - ARRIVAL_LEAD <= self.now:
            self.record(Visit(dose, placement, Appointment.Status.BOOKED))
        else:
            self.book(placement)
        self.story.days.add(placement)

    def book(self, placement: Placement) -> Appointment:
        appointment = booking_create(
            course=self.course, chair=placement.chair, starts_at=placement.starts_at, booked_by=self.front_desk
        )
        self._date_back([appointment], booked_at_for(placement.starts_at, self.rng, self.now))
        self.count += 1
        return appointment

    def book_series(self, placement: Placement) -> None:
        appointments = booking_create_series(
            course=self.course, chair=placement.chair, starts_at=placement.starts_at, booked_by=self.front_desk
        )
        self._date_back(appointments, booked_at_for(placement.starts_at, self.rng, self.now))
        tz = self.patient.clinic.tz
        for appointment in appointments:
            chair_time = ChairTime(
                appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes
            )
            self.story.days.add(Placement(appointment.chair, appointment.starts_at.astimezone(tz), chair_time))
        self.count += len(appointments)

    def cancel(self, appointment: Appointment, reason: str) -> None:
        booking_cancel(appointment=appointment, by=self.front_desk, reason=reason)
        AppointmentEvent.objects.filter(appointment=appointment, action=AppointmentEvent.Action.CANCELLED).update(
            at=cancelled_at_for(appointment.created_at, self.rng, self.now)
        )

    def record(self, visit: Visit) -> None:
        visits_write([visit], patient=self.patient, course=self.course, staff=self.staff, rng=self.rng, now=self.now)
        self.count += 1

    @staticmethod
    def _date_back(appointments: Sequence[Appointment], booked_at: datetime) -> None:
        """Date the booking where the story puts it: some days before the visit."""
        ids = [appointment.pk for appointment in appointments]
        Appointment.objects.filter(pk__in=ids).update(created_at=booked_at)
        AppointmentEvent.objects.filter(appointment_id__in=ids, action=AppointmentEvent.Action.BOOKED).update(
            at=booked_at
        )
        for appointment in appointments:
            appointment.created_at = booked_at


def date_back(booked: Sequence[tuple[Appointment, datetime]]) -> None:
    """Date many bookings where the demo puts them (each some days before its visit), in bulk."""
    moments = {appointment.pk: booked_at for appointment, booked_at in booked}
    for appointment, booked_at in booked:
        appointment.created_at = booked_at
    times_write(Appointment, "created_at", moments)
    events = AppointmentEvent.objects.filter(appointment_id__in=list(moments), action=AppointmentEvent.Action.BOOKED)
    times_write(
        AppointmentEvent,
        "at",
        {pk: moments[appointment_id] for pk, appointment_id in events.values_list("pk", "appointment_id")},
    )
