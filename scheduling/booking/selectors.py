"""What the booking pages show, read once per page: the dose, the series plan, the slots, the warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from clinic.dosing import PlannedDose
from clinic.models import Chair
from patients.models import TreatmentCourse
from scheduling.availability.search import SearchResult, find_slots_for_course, series_starts
from scheduling.booking.services import (
    BookingError,
    DoseMove,
    SeriesItem,
    later_booked_doses,
    reschedule_spacing_problem,
    series_doses,
    series_move_preview,
    series_plan,
)
from scheduling.capacity.forecast import forecast_day_shares
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
        return BookingPage(
            dose=None,
            chosen=None,
            error=UNREADABLE_SLOT,
            search=find_slots_for_course(course, forecast=course_forecast(course)),
        )
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
    search = (
        find_slots_for_course(course, dose=dose, today=today, forecast=course_forecast(course))
        if error and dose is not None
        else None
    )
    return BookingPage(dose=dose, chosen=chosen, error=error, early=early, items=items, search=search)


def course_forecast(course: TreatmentCourse):
    """The capacity forecast's load of the days a search for this course looks at, for the balanced choice.

    A reader the search calls once with its days; the course's own next dose is left out of it.
    """
    clinic = course.patient.clinic

    def read(start: date, end: date) -> dict[date, float]:
        return forecast_day_shares(clinic, start, end, exclude_course_id=course.pk)

    return read


@dataclass(frozen=True)
class SlotSuggestions:
    """The booking page's suggestions: the slots for the next dose, and the series it starts."""

    search: SearchResult | None
    series: list[PlannedDose] = field(default_factory=list)  # empty when the dose starts no series


def slot_suggestions(
    course: TreatmentCourse,
    *,
    dose_number: int | None = None,
    start: date | None = None,
    end: date | None = None,
    today: date | None = None,
) -> SlotSuggestions:
    """The free slots for the course's next dose; for a series' first dose, only the starts the whole series fits.

    Every start offered as "book all N doses" is one `booking_create_series` can book: each
    later day of the series has a place for its dose (open, off closures, not full).
    """
    today = today or clinic_today(course.patient.clinic)
    search = find_slots_for_course(
        course, dose_number=dose_number, start=start, end=end, today=today, forecast=course_forecast(course)
    )
    if search is None or search.dose is None or search.dose.dose_in_block != 1 or search.dose.block_size < 2:
        return SlotSuggestions(search)
    series = series_doses(course, today=today)
    if not series or series[0].dose_number != search.dose.dose_number:
        return SlotSuggestions(search)
    return SlotSuggestions(series_starts(search, series, patient_id=course.patient_id), series)


@dataclass(frozen=True)
class MovePreview:
    """The reschedule page's offer to move the later doses of the course with the chosen one."""

    moves: list[DoseMove] = field(default_factory=list)  # empty when no later dose is booked
    alone_problem: str = ""  # why moving this dose alone breaks the spacing, "" when it does not

    @property
    def possible(self) -> bool:
        return bool(self.moves) and not any(move.problem for move in self.moves)


def move_preview(appointment: Appointment, *, chair: Chair, starts_at: datetime) -> MovePreview:
    """What moving `appointment` would do to the booked doses after it, alone and together."""
    later = list(later_booked_doses(appointment))
    if not later:
        return MovePreview()
    return MovePreview(
        moves=series_move_preview(appointment=appointment, chair=chair, starts_at=starts_at, later=later),
        alone_problem=reschedule_spacing_problem(appointment, starts_at=starts_at),
    )


def course_upcoming_appointments(course: TreatmentCourse):
    """The course's active appointments from yesterday on, with their chairs, in time order."""
    return (
        Appointment.objects.active()
        .filter(course=course, starts_at__gte=timezone.now() - timedelta(days=1))
        .select_related("chair")
        .order_by("starts_at")
    )
