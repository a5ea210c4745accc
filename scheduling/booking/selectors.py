"""What the booking pages show, read once per page: the dose, the series plan, the slots, the warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from clinic.dosing import PlannedDose
from clinic.models import Chair
from patients.models import TreatmentCourse
from scheduling.availability.search import SearchResult, find_slots_for_course
from scheduling.booking.services import BookingError, SeriesItem, series_doses, series_plan
from scheduling.doses import clinic_today, course_doses
from scheduling.models import Appointment

SUGGESTION_DAYS = 10  # days with free slots listed on the booking page
UNREADABLE_SLOT = "That slot could not be read. Pick a slot from the suggestions."


@dataclass(frozen=True)
class ChosenSlot:
    chair: Chair
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class BookingPage:
    """The confirm page for a chosen (chair, start): what would be booked, or why it cannot be."""

    dose: PlannedDose | None  # the course's next dose (neither given nor booked)
    chosen: ChosenSlot | None  # shown when it can be booked, or when a manager's override still could
    error: str = ""
    early: bool = False  # before the dose's earliest allowed date
    items: list[SeriesItem] = field(default_factory=list)  # where each dose of a series goes
    search: SearchResult | None = None  # fresh suggestions, after a refusal

    @property
    def days(self):
        return self.search.first_per_start()[:SUGGESTION_DAYS] if self.search else []


def booking_page(
    course: TreatmentCourse,
    *,
    chair: Chair | None,
    starts_at: datetime | None,
    series: bool = False,
    refusal: str = "",
    today: date | None = None,
) -> BookingPage:
    """What the confirm page shows for booking the course's next dose in `chair` at `starts_at`.

    `chair` or `starts_at` None means the chosen slot could not be read. `refusal` is the
    booking service's sentence when it refused the slot. The course's doses are read once;
    the series plan and the fresh suggestions after a refusal reuse them.
    """
    if chair is None or starts_at is None:
        return BookingPage(dose=None, chosen=None, error=UNREADABLE_SLOT, search=find_slots_for_course(course))
    clinic = course.patient.clinic
    today = today or clinic_today(clinic)
    block = series_doses(course, today=today) if series else []
    dose = block[0] if block else course_doses(course, today=today).next
    error = refusal
    items: list[SeriesItem] = []
    if series and not error:
        try:
            items = series_plan(course=course, chair=chair, starts_at=starts_at, doses=block)
        except BookingError as problem:
            error = problem.message
    early = dose is not None and starts_at.astimezone(clinic.tz).date() < dose.earliest_date
    chosen = None
    # After a refusal the slot is shown again only when a manager's override can still book it.
    if dose is not None and (not error or early):
        chosen = ChosenSlot(chair, starts_at, starts_at + timedelta(minutes=dose.chair_time.total_minutes))
    search = find_slots_for_course(course, dose=dose, today=today) if error and dose is not None else None
    return BookingPage(dose=dose, chosen=chosen, error=error, early=early, items=items, search=search)


def course_upcoming_appointments(course: TreatmentCourse):
    """The course's active appointments from yesterday on, with their chairs, in time order."""
    return (
        Appointment.objects.active()
        .filter(course=course, starts_at__gte=timezone.now() - timedelta(days=1))
        .select_related("chair")
        .order_by("starts_at")
    )
