"""The booking page's balanced suggestion weighs the capacity forecast of the candidate days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from scheduling.availability.day import Slot, balanced
from scheduling.availability.search import find_slots_for_course
from scheduling.booking.selectors import course_forecast, slot_suggestions
from scheduling.capacity.forecast import forecast_day_shares
from tests.helpers import give, make_course

WEDNESDAY = date(2027, 3, 10)


def _slot(day: date, hour: int = 8) -> Slot:
    starts = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return Slot(1, "Chair 1", starts, starts + timedelta(hours=2), starts, peak=1, capacity=8, load=0.0)


def test_among_days_equally_booked_the_balanced_slot_is_on_the_day_with_the_lower_forecast():
    slots = [_slot(WEDNESDAY), _slot(WEDNESDAY + timedelta(days=1))]
    assert balanced(slots, WEDNESDAY).local_day == WEDNESDAY  # the earliest, with nothing else to go on
    forecast = {WEDNESDAY: 0.9, WEDNESDAY + timedelta(days=1): 0.2}
    assert balanced(slots, WEDNESDAY, forecast).local_day == WEDNESDAY + timedelta(days=1)


def test_the_booked_load_still_comes_first():
    crowded = _slot(WEDNESDAY + timedelta(days=1))
    quiet = _slot(WEDNESDAY)
    busy = Slot(
        crowded.chair_id, crowded.chair_name, crowded.starts_at, crowded.ends_at, crowded.local_start, 6, 8, 3.0
    )
    assert balanced([quiet, busy], WEDNESDAY, {WEDNESDAY: 0.9, busy.local_day: 0.0}) == quiet


def test_the_balanced_slot_leaves_the_later_half_of_the_window_for_booking_again():
    """A quieter day late in the window loses to a busier one in its first half: a visit
    cancelled or missed can still be booked again inside the window."""
    busy_early = [
        Slot(1, "Chair 1", slot.starts_at, slot.ends_at, slot.local_start, peak=6, capacity=8, load=3.0)
        for slot in (_slot(WEDNESDAY + timedelta(days=offset)) for offset in range(4))
    ]
    quiet_late = _slot(WEDNESDAY + timedelta(days=6))
    slots = [*busy_early, quiet_late]
    assert balanced(slots, WEDNESDAY) == quiet_late  # with no window given, the quietest of the first days
    chosen = balanced(slots, WEDNESDAY, latest=WEDNESDAY + timedelta(days=7))
    assert chosen.local_day <= WEDNESDAY + timedelta(days=3)
    # Where only the later half has free slots, it is still offered.
    assert balanced([quiet_late], WEDNESDAY, latest=WEDNESDAY + timedelta(days=7)) == quiet_late


def _loaded(day: date, peak: int, capacity: int = 8) -> Slot:
    slot = _slot(day)
    return Slot(1, "Chair 1", slot.starts_at, slot.ends_at, slot.local_start, peak=peak, capacity=capacity, load=0.0)


def test_a_day_only_one_patient_quieter_does_not_take_the_dose_past_its_target_date():
    """With 2 nurses of 4 patients, 4 and 3 patients at once are both half their capacity:
    the dose stays on its target day, and its schedule does not drift later dose after dose."""
    on_target = _loaded(WEDNESDAY, peak=4)
    a_bit_quieter = _loaded(WEDNESDAY + timedelta(days=2), peak=3)
    assert balanced([on_target, a_bit_quieter], WEDNESDAY, latest=WEDNESDAY + timedelta(days=7)) == on_target


def test_a_day_a_quarter_of_the_nurses_capacity_quieter_is_worth_a_later_date():
    busier = _loaded(WEDNESDAY, peak=5)
    quieter = _loaded(WEDNESDAY + timedelta(days=2), peak=3)
    assert balanced([busier, quieter], WEDNESDAY, latest=WEDNESDAY + timedelta(days=7)) == quieter


def test_forecasts_a_few_points_apart_leave_the_dose_on_the_earlier_day():
    slots = [_slot(WEDNESDAY), _slot(WEDNESDAY + timedelta(days=1))]
    forecast = {WEDNESDAY: 0.34, WEDNESDAY + timedelta(days=1): 0.31}
    assert balanced(slots, WEDNESDAY, forecast).local_day == WEDNESDAY


@pytest.fixture
def due_on_wednesday(clinic_a):
    """A Tysabri patient due on Wednesday, and three more due that day, not booked: the forecast expects them."""
    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False):
        course = make_course(clinic_a, "tysabri", start=WEDNESDAY - timedelta(days=28), first_name="Tom")
        give(course, WEDNESDAY - timedelta(days=28))
        for name in ("Ann", "Bea", "Cal"):
            other = make_course(clinic_a, "tysabri", start=WEDNESDAY - timedelta(days=28), first_name=name)
            give(other, WEDNESDAY - timedelta(days=28), hour=12)
        yield course


def test_the_booking_page_suggests_a_day_the_forecast_expects_to_be_lighter(clinic_a, due_on_wednesday):
    course = due_on_wednesday
    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False):
        shares = forecast_day_shares(clinic_a, WEDNESDAY, WEDNESDAY + timedelta(days=1), exclude_course_id=course.pk)
        assert shares[WEDNESDAY] > shares[WEDNESDAY + timedelta(days=1)] == 0
        without = find_slots_for_course(course)
        assert without.dose.target_date == WEDNESDAY and without.balanced.local_day == WEDNESDAY
        suggested = slot_suggestions(course).search.balanced
    assert suggested.local_day == WEDNESDAY + timedelta(days=1)


def test_the_search_reads_the_forecast_once(clinic_a, due_on_wednesday):
    calls = []
    reader = course_forecast(due_on_wednesday)

    def counting(start, end):
        calls.append((start, end))
        return reader(start, end)

    with time_machine.travel(datetime(2027, 3, 1, 9, tzinfo=UTC), tick=False):
        find_slots_for_course(due_on_wednesday, forecast=counting)
    assert len(calls) == 1
