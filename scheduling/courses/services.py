"""Changing a treatment course's status, and what a pause or a stop does to its bookings.

A paused or stopped course keeps no future appointment and no "please book" reminder. Each
booked appointment that has not started is cancelled through the booking service, so its
history says who cancelled it and why and its reminders are cancelled with it; the course's
open dose and lab reminders are cancelled too. It all happens in one transaction under the
course's row lock, which every booking service takes first: a dose booked at the same moment
is either booked before the pause (and cancelled by it) or refused because the course is no
longer active.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patients import services as patient_services
from patients.models import TreatmentCourse
from scheduling.booking.services import booking_cancel
from scheduling.courses.selectors import course_future_appointments
from scheduling.models import Appointment, Reminder
from scheduling.reminders.outbox import OPEN_STATUSES
from scheduling.reminders.planner import PLANNED_KINDS

logger = logging.getLogger(__name__)

CourseStatus = TreatmentCourse.Status

# The statuses that take a course off the schedule: its future appointments are cancelled.
HALTING_STATUSES = (CourseStatus.PAUSED, CourseStatus.STOPPED)


@dataclass(frozen=True)
class CourseStatusResult:
    """What a status change did: the course as saved, and what it cancelled."""

    course: TreatmentCourse
    previous_status: str
    cancelled_appointments: tuple[Appointment, ...] = ()
    cancelled_reminders: int = 0


def _label(status: str) -> str:
    return CourseStatus(status).label.lower()


def check_status_reason(*, status: str, reason: str) -> None:
    """Refuse an unknown status, and a pause or stop without a reason, with the sentence the page shows."""
    if status not in CourseStatus.values:
        raise ValidationError({"status": "Choose active, paused or stopped."}, code="invalid_status")
    if status in HALTING_STATUSES and not (reason or "").strip():
        raise ValidationError(
            {
                "reason": (
                    f"Write why the course is {_label(status)}; the reason is kept in the history of each "
                    "cancelled appointment."
                )
            },
            code="reason_required",
        )


@transaction.atomic
def course_status_change(*, course: TreatmentCourse, status: str, by, reason: str) -> CourseStatusResult:
    """Make the course active, paused or stopped.

    Pausing or stopping needs a reason, and cancels every booked appointment of the course
    that has not started (each with an AppointmentEvent giving the reason) and the course's
    open dose-due, overdue and lab reminders. A visit already under way is left to finish.
    Making a course active again cancels nothing and books nothing: its next dose shows on
    the worklist again. Raises ValidationError, on the field concerned, when refused.
    """
    reason = (reason or "").strip()
    check_status_reason(status=status, reason=reason)
    # The bare row, no joins: only the course is locked, as the booking services lock it.
    locked = TreatmentCourse.objects.select_for_update().get(pk=course.pk)
    previous = locked.status
    if status == previous:
        raise ValidationError(
            {"status": f"The course is already {_label(status)}. Choose another status, or go back."},
            code="unchanged",
        )
    now = timezone.now()
    future: list[Appointment] = []
    if status in HALTING_STATUSES:
        # Locked in start order before cancelling, so a visit a nurse is moving along right now
        # either is still booked once we hold it, or has started and is left alone. Locked
        # before the course is saved: saving it writes the course's stored next dose, which a
        # cancel or a visit change writes too once it holds its appointment, so taking the
        # appointments first keeps the order the same and two such changes cannot deadlock.
        future = list(course_future_appointments(locked, now=now).select_related(None).select_for_update())
    locked = patient_services.course_update(course=locked, status=status)
    if status not in HALTING_STATUSES:
        logger.info("course status changed course=%s from=%s to=%s", locked.pk, previous, status)
        return CourseStatusResult(course=locked, previous_status=previous)

    why = f"Treatment course {_label(status)}: {reason}"
    cancelled = tuple(booking_cancel(appointment=appointment, by=by, reason=why) for appointment in future)
    reminders = Reminder.objects.filter(course=locked, kind__in=PLANNED_KINDS, status__in=OPEN_STATUSES).update(
        status=Reminder.Status.CANCELLED,
        last_error=f"The treatment course was {_label(status)}.",
        updated_at=now,
    )
    logger.info(
        "course status changed course=%s from=%s to=%s appointments_cancelled=%s reminders_cancelled=%s",
        locked.pk,
        previous,
        status,
        len(cancelled),
        reminders,
    )
    return CourseStatusResult(
        course=locked, previous_status=previous, cancelled_appointments=cancelled, cancelled_reminders=reminders
    )
