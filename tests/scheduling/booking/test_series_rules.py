"""Series keep their rules: a dose is booked, moved and cancelled against its neighbours in the course."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.models import Chair, Regimen
from clinic.roles import sync_roles
from scheduling.booking.services import (
    BookingError,
    booking_cancel,
    booking_create,
    booking_create_series,
    booking_reschedule,
    booking_reschedule_series,
    cancel_consequences,
    series_move_preview,
)
from scheduling.models import Appointment, AppointmentEvent
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, ensure_formulary, local

pytestmark = pytest.mark.django_db

# The dates: an Ocrevus initiation on Wed 2 and Wed 16 December 2026.
DOSE_1 = date(2026, 12, 2)
DOSE_2 = date(2026, 12, 16)


@pytest.fixture(autouse=True)
def _roles(db):
    ensure_formulary()
    sync_roles()


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(datetime(2026, 11, 2, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def chairs(clinic_a):
    return list(Chair.objects.filter(clinic=clinic_a).order_by("position"))


def course_for(clinic, regimen="ocrevus", start=DOSE_1):
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code=regimen), start_date=start
    )


@pytest.fixture
def initiation(clinic_a, chairs, front_desk):
    """Dose 1 on Wed 2 Dec and dose 2 on Wed 16 Dec, 09:00 in chair 1; the course may start from 16 Nov."""
    course = course_for(clinic_a, start=date(2026, 11, 16))
    return booking_create_series(
        course=course, chair=chairs[0], starts_at=local(clinic_a, DOSE_1, 9), booked_by=front_desk
    )


# --- Step 1: every change is checked against the course's other doses ----------------------------


def test_moving_the_first_dose_next_to_its_partner_is_refused_naming_the_partner(clinic_a, initiation, front_desk):
    first, second = initiation
    with pytest.raises(BookingError) as refused:
        booking_reschedule(
            appointment=first, chair=first.chair, starts_at=local(clinic_a, date(2026, 12, 14), 9), by=front_desk
        )
    assert refused.value.code == "spacing"
    assert refused.value.message == (
        "Dose 2 is booked on Wed 16 Dec 2026; dose 2 must be 14 to 21 days after dose 1, so dose 1 cannot be on "
        "Mon 14 Dec 2026. Move the later doses with it, choose another day, or ask a clinic manager to override "
        "with a written reason."
    )
    first.refresh_from_db()
    assert first.starts_at == local(clinic_a, DOSE_1, 9)
    assert not first.events.filter(action=AppointmentEvent.Action.RESCHEDULED).exists()


def test_moving_the_first_dose_so_far_back_that_its_partner_falls_out_of_the_window_is_refused(
    clinic_a, initiation, front_desk
):
    first, _second = initiation
    with pytest.raises(BookingError, match="dose 2 must be 14 to 21 days after dose 1, so dose 1 cannot be on"):
        booking_reschedule(
            appointment=first, chair=first.chair, starts_at=local(clinic_a, date(2026, 11, 20), 9), by=front_desk
        )


def test_moving_the_first_dose_within_its_partners_window_is_accepted(clinic_a, initiation, front_desk):
    first, _second = initiation
    # Dose 2 on 16 Dec is then 17 days later: inside 14 to 21 days.
    moved = booking_reschedule(
        appointment=first, chair=first.chair, starts_at=local(clinic_a, date(2026, 11, 30), 9), by=front_desk
    )
    assert moved.starts_at == local(clinic_a, date(2026, 11, 30), 9)


def test_moving_the_second_dose_before_the_first_plus_fourteen_days_is_refused_as_too_early(
    clinic_a, initiation, front_desk
):
    _first, second = initiation
    with pytest.raises(BookingError, match=r"Too early: dose 2 may not be given before 16 Dec 2026"):
        booking_reschedule(
            appointment=second, chair=second.chair, starts_at=local(clinic_a, date(2026, 12, 14), 9), by=front_desk
        )


def test_moving_the_second_dose_past_its_booked_partners_window_is_refused(clinic_a, initiation, front_desk):
    _first, second = initiation
    with pytest.raises(BookingError) as refused:
        booking_reschedule(
            appointment=second, chair=second.chair, starts_at=local(clinic_a, date(2026, 12, 28), 9), by=front_desk
        )
    assert refused.value.message.startswith(
        "Dose 1 is booked on Wed 2 Dec 2026; dose 2 must be 14 to 21 days after dose 1, so dose 2 cannot be on "
        "Mon 28 Dec 2026. Choose a day between 16 Dec 2026 and 23 Dec 2026"
    )


def test_a_late_second_dose_after_a_given_first_dose_may_still_be_booked(clinic_a, chairs, front_desk):
    course = course_for(clinic_a)
    book_directly(
        course=course, chair=chairs[0], starts_at=local(clinic_a, DOSE_1, 9), status=Appointment.Status.COMPLETED
    )
    # Overdue, not refused: the dose is caught up as soon as the patient can come.
    late = booking_create(
        course=course, chair=chairs[0], starts_at=local(clinic_a, date(2027, 1, 6), 9), booked_by=front_desk
    )
    assert late.dose_number == 2


def test_booking_a_dose_too_close_before_a_booked_later_dose_is_refused(clinic_a, chairs, front_desk):
    course = course_for(clinic_a)
    book_directly(course=course, chair=chairs[0], starts_at=local(clinic_a, DOSE_2, 9), dose_number=2)
    with pytest.raises(BookingError, match=r"Dose 2 is booked on Wed 16 Dec 2026; dose 2 must be 14 to 21 days"):
        booking_create(
            course=course,
            chair=chairs[0],
            starts_at=local(clinic_a, date(2026, 12, 10), 9),
            booked_by=front_desk,
            dose_number=1,
        )


def test_a_front_desk_override_of_the_spacing_is_refused(clinic_a, initiation, front_desk):
    first, _second = initiation
    with pytest.raises(BookingError) as refused:
        booking_reschedule(
            appointment=first,
            chair=first.chair,
            starts_at=local(clinic_a, date(2026, 12, 14), 9),
            by=front_desk,
            override_reason="Patient insists",
        )
    assert refused.value.code == "override_not_allowed"
    assert refused.value.message.endswith(
        "Move the later doses with it, or choose another day; only a clinic manager can override the spacing."
    )


def test_a_manager_overrides_the_spacing_with_a_reason_kept_in_the_history(clinic_a, initiation, manager):
    first, _second = initiation
    moved = booking_reschedule(
        appointment=first,
        chair=first.chair,
        starts_at=local(clinic_a, date(2026, 12, 14), 9),
        by=manager,
        override_reason="Neurologist wants dose 1 later; dose 2 to be rebooked after review",
    )
    override = moved.events.get(action=AppointmentEvent.Action.OVERRIDE)
    assert override.by == manager
    assert override.reason == "Neurologist wants dose 1 later; dose 2 to be rebooked after review"
    assert override.details["spacing"] == {
        "dose_number": 2,
        "date": "2026-12-16",
        "neighbour": 1,
        "neighbour_date": "2026-12-14",
        "rule": "14 to 21 days after dose 1",
    }


def test_a_lemtrada_day_moved_off_the_consecutive_days_is_refused(clinic_a, chairs, front_desk):
    monday = date(2026, 12, 7)
    course = course_for(clinic_a, regimen="lemtrada", start=monday)
    days = booking_create_series(
        course=course, chair=chairs[0], starts_at=local(clinic_a, monday, 8), booked_by=front_desk
    )
    # Day 3 moved before day 2.
    with pytest.raises(BookingError, match=r"Too early: dose 3 may not be given before 9 Dec 2026"):
        booking_reschedule(appointment=days[2], chair=chairs[1], starts_at=local(clinic_a, monday, 8), by=front_desk)
    # Day 2 moved to Friday, past day 3 to 5.
    with pytest.raises(BookingError, match=r"Dose 3 is booked on Wed 9 Dec 2026; dose 3 must be the day after dose 2"):
        booking_reschedule(
            appointment=days[1], chair=chairs[0], starts_at=local(clinic_a, date(2026, 12, 11), 14), by=front_desk
        )


# --- Step 3: a multi-day course stays in one chair ---------------------------------------------

WEEK = [date(2026, 12, 7) + timedelta(days=n) for n in range(5)]  # Mon 7 to Fri 11 Dec


def busy_all_day(clinic, chair, day):
    book_directly(course=course_for(clinic), chair=chair, starts_at=local(clinic, day, 8), minutes=600)


def test_a_lemtrada_course_goes_in_the_one_chair_free_all_week(clinic_a, chairs, front_desk):
    # Chairs 1 to 3 are each taken one day of the week; chairs 4 to 6 are free all week.
    busy_all_day(clinic_a, chairs[0], WEEK[2])
    busy_all_day(clinic_a, chairs[1], WEEK[1])
    busy_all_day(clinic_a, chairs[2], WEEK[3])
    days = booking_create_series(
        course=course_for(clinic_a, regimen="lemtrada", start=WEEK[0]),
        chair=chairs[0],
        starts_at=local(clinic_a, WEEK[0], 8),
        booked_by=front_desk,
    )
    assert [appointment.chair.name for appointment in days] == ["Chair 4"] * 5
    assert [appointment.starts_at for appointment in days] == [local(clinic_a, day, 8) for day in WEEK]


def test_a_lemtrada_course_keeps_the_chosen_chair_when_it_is_free_all_week(clinic_a, chairs, front_desk):
    busy_all_day(clinic_a, chairs[0], WEEK[2])
    days = booking_create_series(
        course=course_for(clinic_a, regimen="lemtrada", start=WEEK[0]),
        chair=chairs[4],
        starts_at=local(clinic_a, WEEK[0], 8),
        booked_by=front_desk,
    )
    assert {appointment.chair.name for appointment in days} == {"Chair 5"}


def test_with_no_chair_free_all_week_the_course_changes_chair_as_few_times_as_possible(clinic_a, chairs, front_desk):
    # Chair 1 is taken on Friday, every other chair on one of Monday to Thursday.
    busy_all_day(clinic_a, chairs[0], WEEK[4])
    for chair, day in zip(chairs[1:], [WEEK[0], WEEK[1], WEEK[2], WEEK[3], WEEK[3]], strict=True):
        busy_all_day(clinic_a, chair, day)
    days = booking_create_series(
        course=course_for(clinic_a, regimen="lemtrada", start=WEEK[0]),
        chair=chairs[0],
        starts_at=local(clinic_a, WEEK[0], 8),
        booked_by=front_desk,
    )
    assert [appointment.chair.name for appointment in days] == ["Chair 1"] * 4 + ["Chair 2"]


# --- Step 2: moving a dose with the doses after it; cancelling one ------------------------------

DOSE_1_MOVED = date(2026, 12, 14)
DOSE_2_MOVED = date(2026, 12, 28)


def test_the_preview_moves_the_partner_by_the_same_days_and_finds_no_problem(clinic_a, initiation):
    first, second = initiation
    moves = series_move_preview(appointment=first, chair=first.chair, starts_at=local(clinic_a, DOSE_1_MOVED, 9))
    assert [(move.appointment.pk, move.starts_at, move.chair.name, move.problem) for move in moves] == [
        (first.pk, local(clinic_a, DOSE_1_MOVED, 9), "Chair 1", ""),
        (second.pk, local(clinic_a, DOSE_2_MOVED, 9), "Chair 1", ""),
    ]
    second.refresh_from_db()
    assert second.starts_at == local(clinic_a, DOSE_2, 9)


def test_the_moved_first_dose_is_moved_with_its_partner(clinic_a, initiation, front_desk):
    first, second = initiation
    moved = booking_reschedule_series(
        appointment=first,
        chair=first.chair,
        starts_at=local(clinic_a, DOSE_1_MOVED, 9),
        by=front_desk,
        reason="Patient away early December",
    )
    assert [item.starts_at for item in moved] == [local(clinic_a, DOSE_1_MOVED, 9), local(clinic_a, DOSE_2_MOVED, 9)]
    for item in (first, second):
        item.refresh_from_db()
        event = item.events.get(action=AppointmentEvent.Action.RESCHEDULED)
        assert (event.by, event.reason, event.details["moved_with_dose"]) == (
            front_desk,
            "Patient away early December",
            1,
        )
    assert second.starts_at == local(clinic_a, DOSE_2_MOVED, 9)


def test_a_move_together_whose_later_day_is_full_moves_nothing(clinic_a, chairs, initiation, front_desk):
    first, second = initiation
    for chair in chairs:
        busy_all_day(clinic_a, chair, DOSE_2_MOVED)
    moves = series_move_preview(appointment=first, chair=first.chair, starts_at=local(clinic_a, DOSE_1_MOVED, 9))
    assert moves[1].chair is None
    assert moves[1].problem.startswith("Full")
    with pytest.raises(BookingError, match=r"Nothing was moved: dose 2 has no place on its new day\. Full"):
        booking_reschedule_series(
            appointment=first, chair=first.chair, starts_at=local(clinic_a, DOSE_1_MOVED, 9), by=front_desk
        )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.starts_at, second.starts_at) == (local(clinic_a, DOSE_1, 9), local(clinic_a, DOSE_2, 9))
    assert not AppointmentEvent.objects.filter(action=AppointmentEvent.Action.RESCHEDULED).exists()


def test_a_lemtrada_course_moved_a_week_later_moves_all_five_days(clinic_a, chairs, front_desk):
    course = course_for(clinic_a, regimen="lemtrada", start=WEEK[0])
    days = booking_create_series(
        course=course, chair=chairs[0], starts_at=local(clinic_a, WEEK[0], 8), booked_by=front_desk
    )
    moved = booking_reschedule_series(
        appointment=days[0], chair=chairs[1], starts_at=local(clinic_a, WEEK[0] + timedelta(days=7), 8), by=front_desk
    )
    assert [item.starts_at for item in moved] == [local(clinic_a, day + timedelta(days=7), 8) for day in WEEK]
    assert {item.chair.name for item in moved} == {"Chair 2"}


def test_cancelling_the_first_dose_says_what_happens_to_its_partner(clinic_a, initiation, front_desk):
    first, second = initiation
    assert cancel_consequences(first) == [
        "Dose 2 stays booked on Wed 16 Dec 2026 at 09:00 in Chair 1; it is planned from dose 1, so check it or "
        "rebook it once dose 1 is given."
    ]
    booking_cancel(appointment=first, by=front_desk, reason="Patient unwell")
    second.refresh_from_db()
    assert second.status == Appointment.Status.BOOKED


def test_cancelling_the_first_dose_with_the_later_doses_cancels_both(clinic_a, initiation, front_desk):
    first, second = initiation
    booking_cancel(appointment=first, by=front_desk, reason="Treatment postponed", with_later_doses=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Appointment.Status.CANCELLED, Appointment.Status.CANCELLED)
    assert second.events.get(action=AppointmentEvent.Action.CANCELLED).reason == (
        "Treatment postponed (cancelled with dose 1)"
    )


# --- The pages -------------------------------------------------------------------------------------


def test_the_reschedule_page_offers_to_move_the_partner_with_a_preview_and_does_it(
    client, clinic_a, initiation, front_desk
):
    first, second = initiation
    client.force_login(front_desk)
    url = reverse("scheduling:reschedule", args=[first.pk])
    chosen = {"chair": first.chair_id, "starts_at": local(clinic_a, DOSE_1_MOVED, 9).astimezone(UTC).isoformat()}
    page = client.get(url, chosen).content.decode()
    assert "Dose 2 is booked on Wed 16 Dec 2026" in page
    assert "Move dose 1 and the later doses with it" in page
    assert "Mon 28 Dec 2026 09:00" in page
    response = client.post(url, {**chosen, "together": "on", "reason": "Patient away"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.starts_at == local(clinic_a, DOSE_2_MOVED, 9)


def test_the_cancel_page_says_what_happens_to_the_partner_and_can_cancel_it_too(client, initiation, front_desk):
    first, second = initiation
    client.force_login(front_desk)
    url = reverse("scheduling:cancel", args=[first.pk])
    assert "Dose 2 stays booked on Wed 16 Dec 2026 at 09:00" in client.get(url).content.decode()
    client.post(url, {"reason": "Postponed", "later_doses": "on"})
    second.refresh_from_db()
    assert second.status == Appointment.Status.CANCELLED
