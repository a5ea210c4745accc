"""Booking, moving and cancelling end to end: a real Celery worker on Redis, a real SMTP server.

Each action is followed by the minute scan; exactly one email comes of it, with one calendar
file, whether the action was about one visit or a five-day Lemtrada course. The course is
reminded of once, before its first day.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from clinic.models import Drug, Regimen
from scheduling.booking.services import (
    booking_cancel,
    booking_create_series,
    booking_reschedule,
    booking_reschedule_series,
)
from scheduling.models import Reminder
from tests.helpers import local, make_course
from tests.scheduling.reminders.support import booked_visit, scan_at, visit_day

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

Kind = Reminder.Kind


def the_next_email(mailbox, count: int):
    """Scan now and wait for the one email it brings, the `count`th in the mailbox."""
    assert scan_at(timezone.now()) == 1
    assert len(mailbox.wait_for(count)) == count
    return mailbox.messages[count - 1]


def calendar_in(message) -> Calendar:
    (ics,) = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    return Calendar.from_ical(ics.get_content())


def forbidden_words() -> list[str]:
    words = [name.lower() for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name)]
    return words + [regimen.name.lower() for regimen in Regimen.objects.all()] + [" mg", "multiple sclerosis"]


def assert_names_no_treatment(message) -> None:
    text = message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()
    whole = (message["Subject"] + text + calendar_in(message).to_ical().decode()).lower()
    assert not [word for word in forbidden_words() if word in whole]


def test_booking_moving_and_cancelling_a_visit_and_a_lemtrada_course_send_exactly_one_email_each(
    clinic_a, front_desk, smtp_server, worker
):
    _controller, mailbox = smtp_server
    worker.start()
    chair = clinic_a.chairs.order_by("position").first()

    # One visit: booked, moved to the next day, cancelled.
    appointment = booked_visit(clinic_a, front_desk)
    booked = the_next_email(mailbox, 1)
    assert booked["Subject"].startswith(f"Booked: your appointment at {clinic_a.name}:")
    (event,) = calendar_in(booked).walk("VEVENT")
    uid = str(event["uid"])
    assert (event.decoded("dtstart"), event["sequence"]) == (appointment.starts_at, 0)

    new_start = appointment.starts_at + timedelta(days=1)
    appointment = booking_reschedule(appointment=appointment, chair=chair, starts_at=new_start, by=front_desk)
    moved = the_next_email(mailbox, 2)
    assert moved["Subject"].startswith(f"Moved: your appointment at {clinic_a.name} is now")
    (event,) = calendar_in(moved).walk("VEVENT")
    assert (str(event["uid"]), event["sequence"], event.decoded("dtstart")) == (uid, 1, new_start)

    booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell.")
    cancelled = the_next_email(mailbox, 3)
    assert cancelled["Subject"].startswith(f"Cancelled: your appointment at {clinic_a.name} on")
    calendar = calendar_in(cancelled)
    (event,) = calendar.walk("VEVENT")
    assert (str(calendar["method"]), str(event["status"]), str(event["uid"])) == ("CANCEL", "CANCELLED", uid)

    # A five-day Lemtrada course from a Monday: booked, moved a week, cancelled with its later days.
    monday = visit_day(clinic_a, days_ahead=10)
    while monday.weekday() != 0:
        monday += timedelta(days=1)
    course = make_course(clinic_a, "lemtrada", start=monday, first_name="Kim", email="kim@patients.example.org")
    days = booking_create_series(course=course, chair=chair, starts_at=local(clinic_a, monday, 8), booked_by=front_desk)
    upcoming = Reminder.objects.filter(course=course, kind=Kind.APPOINTMENT_UPCOMING, status="pending")
    assert {row.appointment_id for row in upcoming} == {days[0].pk} and upcoming.count() == 2
    series = the_next_email(mailbox, 4)
    assert series["To"] == "kim@patients.example.org"
    assert series["Subject"].startswith(f"Booked: your 5 appointments at {clinic_a.name}, from")
    events = calendar_in(series).walk("VEVENT")
    assert [event.decoded("dtstart") for event in events] == [day.starts_at for day in days]

    moved_days = booking_reschedule_series(
        appointment=days[0], chair=chair, starts_at=local(clinic_a, monday + timedelta(days=7), 8), by=front_desk
    )
    series_moved = the_next_email(mailbox, 5)
    assert series_moved["Subject"].startswith(f"Moved: your 5 appointments at {clinic_a.name} now start")
    events = calendar_in(series_moved).walk("VEVENT")
    assert [(event.decoded("dtstart"), event["sequence"]) for event in events] == [
        (day.starts_at, 1) for day in moved_days
    ]
    assert {row.appointment_id for row in upcoming} == {days[0].pk} and upcoming.count() == 2

    booking_cancel(appointment=moved_days[0], by=front_desk, reason="Treatment postponed.", with_later_doses=True)
    series_cancelled = the_next_email(mailbox, 6)
    assert series_cancelled["Subject"].startswith(f"Cancelled: your 5 appointments at {clinic_a.name} from")
    calendar = calendar_in(series_cancelled)
    assert str(calendar["method"]) == "CANCEL"
    assert [str(event["status"]) for event in calendar.walk("VEVENT")] == ["CANCELLED"] * 5

    # Nothing else, then or later: every reminder of the cancelled visits was cancelled too.
    assert scan_at(timezone.now() + timedelta(days=60)) == 0
    time.sleep(1)
    assert len(mailbox.messages) == 6
    for message in mailbox.messages:
        assert_names_no_treatment(message)
    assert Reminder.objects.filter(status="sent").count() == 6
