"""The notices of a booking action: a confirmation, a move notice, a cancellation notice.

One row per action, due at once, for a single visit or a whole series; a Lemtrada course is
reminded of once, before its first day; nothing is due after a visit has begun.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from clinic.models import Chair, Drug, Regimen, RegimenPhase
from scheduling.booking.services import (
    booking_cancel,
    booking_create,
    booking_create_series,
    booking_mark_no_show,
    booking_reschedule,
    booking_reschedule_series,
)
from scheduling.models import Appointment, Reminder
from scheduling.reminders import dispatcher, sender
from scheduling.reminders.channels import email_message
from scheduling.reminders.sender import reminder_content_at
from tests.helpers import local, make_course
from tests.scheduling.reminders.support import status_of

pytestmark = pytest.mark.django_db

Kind = Reminder.Kind
Status = Reminder.Status
NOTICES = Reminder.BOOKING_NOTICE_KINDS

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
VISIT_DAY = date(2027, 3, 17)  # a Wednesday
WEEK = [date(2027, 3, 15) + timedelta(days=n) for n in range(5)]  # Mon 15 to Fri 19 March


@pytest.fixture(autouse=True)
def march_2027():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def chair(clinic_a):
    return Chair.objects.filter(clinic=clinic_a).order_by("position").first()


def visit(clinic, chair, front_desk, **patient) -> Appointment:
    course = make_course(clinic, "ocrevus", start=VISIT_DAY, **patient)
    return booking_create(course=course, chair=chair, starts_at=local(clinic, VISIT_DAY, 10), booked_by=front_desk)


def lemtrada_week(clinic, chair, front_desk) -> list[Appointment]:
    course = make_course(clinic, "lemtrada", start=WEEK[0])
    return booking_create_series(course=course, chair=chair, starts_at=local(clinic, WEEK[0], 8), booked_by=front_desk)


def notices(*, status=None) -> list[tuple[str, list[int]]]:
    rows = Reminder.objects.filter(kind__in=NOTICES).order_by("pk")
    if status:
        rows = rows.filter(status=status)
    return [(row.kind, row.appointment_ids) for row in rows]


def message_of(row: Reminder):
    row = Reminder.objects.select_related("clinic", "patient", "appointment", "course").get(pk=row.pk)
    return email_message(reminder_content_at(row, now=timezone.now()))


def calendar_of(message) -> Calendar:
    (ics,) = [content for name, content, mimetype in message.attachments if mimetype == "text/calendar"]
    return Calendar.from_ical(ics)


def send_due() -> list[str]:
    """The minute scan now, then each claimed row sent in this process."""
    dispatcher.reminders_dispatch_due(now=timezone.now(), limit=100, enqueue=lambda pk: None)
    return [
        sender.reminder_deliver(reminder_id=pk)
        for pk in Reminder.objects.filter(status=Status.SENDING).order_by("pk").values_list("pk", flat=True)
    ]


# --- one row per action --------------------------------------------------------------------------


def test_a_booked_visit_gets_one_confirmation_due_at_once_with_its_calendar_file(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk)

    row = Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED)
    assert (row.appointment, row.appointment_ids, row.due_at, row.status) == (
        appointment,
        [appointment.pk],
        NOW,
        Status.PENDING,
    )
    assert Reminder.objects.filter(appointment=appointment, kind=Kind.APPOINTMENT_UPCOMING).count() == 2
    message = message_of(row)
    assert message.subject == f"Booked: your appointment at {clinic_a.name}: Wednesday 17 March 2027 at 10:00"
    assert "Wednesday 17 March 2027 at 10:00 (Europe/London time)" in message.body
    assert (
        clinic_a.phone in message.body
        and "<strong>Wednesday 17 March 2027 at 10:00</strong>" in (message.alternatives[0][0])
    )
    (event,) = calendar_of(message).walk("VEVENT")
    assert (event.decoded("dtstart"), event.decoded("dtend")) == (appointment.starts_at, appointment.ends_at)
    assert event["sequence"] == 0


def test_a_lemtrada_course_gets_one_confirmation_listing_every_day_in_one_calendar_file(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)

    assert notices() == [(Kind.BOOKING_CONFIRMED, [day.pk for day in days])]
    message = message_of(Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED))
    assert message.subject == (f"Booked: your 5 appointments at {clinic_a.name}, from Monday 15 March 2027 at 08:00")
    for day in WEEK:
        assert f"{day:%A} {day.day} March 2027 at 08:00" in message.body
    calendar = calendar_of(message)
    assert str(calendar["method"]) == "PUBLISH"
    events = calendar.walk("VEVENT")
    assert [event.decoded("dtstart") for event in events] == [day.starts_at for day in days]
    assert len({str(event["uid"]) for event in events}) == 5


def test_a_lemtrada_course_is_reminded_of_once_before_day_1_and_not_each_day(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)

    upcoming = Reminder.objects.filter(kind=Kind.APPOINTMENT_UPCOMING).order_by("due_at")
    assert [(row.appointment_id, row.due_at.astimezone(clinic_a.tz)) for row in upcoming] == [
        (days[0].pk, local(clinic_a, 2027, 3, 8, 9, 0)),
        (days[0].pk, local(clinic_a, 2027, 3, 14, 9, 0)),
    ]


def test_a_lemtrada_course_moved_a_week_keeps_its_reminders_before_day_1_only(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)
    booking_reschedule_series(
        appointment=days[0], chair=chair, starts_at=local(clinic_a, WEEK[0] + timedelta(days=7), 8), by=front_desk
    )

    upcoming = Reminder.objects.filter(kind=Kind.APPOINTMENT_UPCOMING, status=Status.PENDING).order_by("due_at")
    assert [(row.appointment_id, row.due_at.astimezone(clinic_a.tz)) for row in upcoming] == [
        (days[0].pk, local(clinic_a, 2027, 3, 15, 9, 0)),
        (days[0].pk, local(clinic_a, 2027, 3, 21, 9, 0)),
    ]


def test_day_2_takes_the_reminders_when_day_1_is_cancelled(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)
    booking_cancel(appointment=days[0], by=front_desk, reason="The patient is unwell that day.")

    upcoming = Reminder.objects.filter(kind=Kind.APPOINTMENT_UPCOMING, status=Status.PENDING)
    assert {row.appointment_id for row in upcoming} == {days[1].pk}


def test_a_moved_visit_gets_a_notice_with_the_same_uid_and_a_higher_sequence(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk)
    before = calendar_of(message_of(Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED))).walk("VEVENT")[0]
    appointment = booking_reschedule(
        appointment=appointment, chair=chair, starts_at=local(clinic_a, 2027, 3, 18, 14, 0), by=front_desk
    )

    assert notices() == [(Kind.BOOKING_CONFIRMED, [appointment.pk]), (Kind.APPOINTMENT_MOVED, [appointment.pk])]
    row = Reminder.objects.get(kind=Kind.APPOINTMENT_MOVED)
    assert row.due_at == NOW
    message = message_of(row)
    assert message.subject == f"Moved: your appointment at {clinic_a.name} is now Thursday 18 March 2027 at 14:00"
    assert "Thursday 18 March 2027 at 14:00 (Europe/London time)" in message.body
    (after,) = calendar_of(message).walk("VEVENT")
    assert str(after["uid"]) == str(before["uid"])
    assert after["sequence"] == before["sequence"] + 1 == 1
    assert after.decoded("dtstart") == local(clinic_a, 2027, 3, 18, 14, 0)


def test_a_series_moved_together_gets_one_notice(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)
    booking_reschedule_series(
        appointment=days[0], chair=chair, starts_at=local(clinic_a, WEEK[0] + timedelta(days=7), 8), by=front_desk
    )

    assert notices(status=Status.PENDING) == [
        (Kind.BOOKING_CONFIRMED, [day.pk for day in days]),
        (Kind.APPOINTMENT_MOVED, [day.pk for day in days]),
    ]
    message = message_of(Reminder.objects.get(kind=Kind.APPOINTMENT_MOVED))
    assert message.subject == f"Moved: your 5 appointments at {clinic_a.name} now start Monday 22 March 2027 at 08:00"
    events = calendar_of(message).walk("VEVENT")
    assert [event["sequence"] for event in events] == [1] * 5
    assert [event.decoded("dtstart") for event in events] == [
        local(clinic_a, day + timedelta(days=7), 8) for day in WEEK
    ]


def test_a_cancelled_visit_gets_a_cancellation_notice_that_removes_it_from_the_calendar(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk)
    booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell.")

    # The confirmation not yet sent is withdrawn; the cancellation is what the patient gets.
    assert notices(status=Status.CANCELLED) == [(Kind.BOOKING_CONFIRMED, [appointment.pk])]
    assert notices(status=Status.PENDING) == [(Kind.APPOINTMENT_CANCELLED, [appointment.pk])]
    message = message_of(Reminder.objects.get(kind=Kind.APPOINTMENT_CANCELLED))
    assert message.subject == f"Cancelled: your appointment at {clinic_a.name} on Wednesday 17 March 2027 at 10:00"
    calendar = calendar_of(message)
    assert str(calendar["method"]) == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert str(event["status"]) == "CANCELLED"
    assert str(event["uid"]).startswith(f"appointment-{appointment.pk}@")


def test_a_series_cancelled_with_its_later_days_gets_one_notice(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)
    booking_cancel(appointment=days[0], by=front_desk, reason="Treatment postponed.", with_later_doses=True)

    assert notices(status=Status.PENDING) == [(Kind.APPOINTMENT_CANCELLED, [day.pk for day in days])]
    assert not Reminder.objects.filter(kind=Kind.APPOINTMENT_UPCOMING, status=Status.PENDING).exists()
    events = calendar_of(message_of(Reminder.objects.get(kind=Kind.APPOINTMENT_CANCELLED))).walk("VEVENT")
    assert [str(event["status"]) for event in events] == ["CANCELLED"] * 5


def test_a_no_show_gets_none_of_the_booking_notices(clinic_a, chair, front_desk, march_2027):
    appointment = visit(clinic_a, chair, front_desk)
    march_2027.move_to(local(clinic_a, VISIT_DAY, 11))
    booking_mark_no_show(appointment=appointment, by=front_desk)

    assert notices() == [(Kind.BOOKING_CONFIRMED, [appointment.pk])]
    assert Reminder.objects.filter(kind=Kind.MISSED_APPOINTMENT).count() == 1


def test_a_patient_who_does_not_want_email_gets_no_notice(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk, reminder_consent=False)
    appointment = booking_reschedule(
        appointment=appointment, chair=chair, starts_at=local(clinic_a, 2027, 3, 18, 10, 0), by=front_desk
    )
    booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell.")

    assert not Reminder.objects.exists()


def test_no_notice_is_due_at_or_after_its_visit_begins(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)
    other_chair = Chair.objects.filter(clinic=clinic_a).exclude(pk=chair.pk).first()
    appointment = visit(clinic_a, other_chair, front_desk)
    booking_reschedule(
        appointment=appointment, chair=other_chair, starts_at=local(clinic_a, 2027, 3, 18, 10), by=front_desk
    )
    booking_cancel(appointment=days[2], by=front_desk, reason="The patient is away that day.", with_later_doses=True)

    rows = Reminder.objects.select_related("appointment")
    assert rows.count() > 5
    assert all(row.due_at < row.appointment.starts_at for row in rows)


# --- what the sender does with them --------------------------------------------------------------


def test_only_the_latest_move_of_a_visit_is_sent(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk)
    for hour in (11, 12, 13):
        appointment = booking_reschedule(
            appointment=appointment, chair=chair, starts_at=local(clinic_a, VISIT_DAY, hour), by=front_desk
        )

    assert send_due() == [sender.SENT, sender.SENT]
    assert [message.subject for message in mail.outbox] == [
        f"Booked: your appointment at {clinic_a.name}: Wednesday 17 March 2027 at 13:00",
        f"Moved: your appointment at {clinic_a.name} is now Wednesday 17 March 2027 at 13:00",
    ]
    moved = Reminder.objects.filter(kind=Kind.APPOINTMENT_MOVED).order_by("pk")
    assert [row.status for row in moved] == [Status.CANCELLED, Status.CANCELLED, Status.SENT]


def test_a_move_notice_overtaken_while_it_was_being_sent_is_not_sent(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk)
    appointment = booking_reschedule(
        appointment=appointment, chair=chair, starts_at=local(clinic_a, VISIT_DAY, 11), by=front_desk
    )
    dispatcher.reminders_dispatch_due(now=timezone.now(), limit=100, enqueue=lambda pk: None)
    first_move = Reminder.objects.get(kind=Kind.APPOINTMENT_MOVED)
    # Moved again once the first notice was claimed: the first notice's row was cancelled with
    # it, and, made to look claimed again, the sender still refuses it.
    booking_reschedule(appointment=appointment, chair=chair, starts_at=local(clinic_a, VISIT_DAY, 12), by=front_desk)
    Reminder.objects.filter(pk=first_move.pk).update(status=Status.SENDING)

    assert sender.reminder_deliver(reminder_id=first_move.pk) == sender.CANCELLED
    first_move.refresh_from_db()
    assert first_move.last_error == "The appointment was moved again; only the latest move's notice is sent."


def test_a_confirmation_of_a_visit_cancelled_since_is_not_sent_but_the_cancellation_is(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk)
    dispatcher.reminders_dispatch_due(now=timezone.now(), limit=100, enqueue=lambda pk: None)
    confirmation = Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED)
    assert confirmation.status == Status.SENDING
    booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell.")
    # Cancelled after it was claimed: the sender finds it cancelled and sends nothing.
    assert sender.reminder_deliver(reminder_id=confirmation.pk) == sender.SKIPPED
    assert status_of(confirmation) == Status.CANCELLED

    assert send_due() == [sender.SENT]
    assert [message.subject for message in mail.outbox] == [
        f"Cancelled: your appointment at {clinic_a.name} on Wednesday 17 March 2027 at 10:00"
    ]


def test_the_sender_refuses_a_confirmation_whose_visits_are_all_cancelled(clinic_a, chair, front_desk):
    appointment = visit(clinic_a, chair, front_desk)
    confirmation = Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED)
    booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell.")
    # The row made to look claimed again, as if the cancellation had missed it: the sender's
    # own look stops the message.
    Reminder.objects.filter(pk=confirmation.pk).update(status=Status.SENDING)

    assert sender.reminder_deliver(reminder_id=confirmation.pk) == sender.CANCELLED
    assert mail.outbox == []
    confirmation.refresh_from_db()
    assert confirmation.last_error == "The visits were cancelled since; the cancellation notice tells the patient."


def test_a_notice_whose_visit_has_begun_is_not_sent(clinic_a, chair, front_desk, march_2027):
    visit(clinic_a, chair, front_desk)
    march_2027.move_to(local(clinic_a, VISIT_DAY, 10, 1))

    assert send_due() == [sender.CANCELLED, sender.CANCELLED, sender.CANCELLED]
    assert mail.outbox == []


def test_no_notice_names_a_drug_a_dose_or_a_diagnosis(clinic_a, chair, front_desk):
    days = lemtrada_week(clinic_a, chair, front_desk)
    booking_reschedule_series(
        appointment=days[0], chair=chair, starts_at=local(clinic_a, WEEK[0] + timedelta(days=7), 8), by=front_desk
    )
    booking_cancel(appointment=days[0], by=front_desk, reason="Treatment postponed.", with_later_doses=True)
    words = {name.lower() for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name, drug.code)}
    words |= {regimen.name.lower() for regimen in Regimen.objects.all()}
    words |= {phase.dose_label.lower() for phase in RegimenPhase.objects.all()}
    words |= {"mg", "dose", "sclerosis", "infusion", "drug", "medication"}

    rows = Reminder.objects.filter(kind__in=NOTICES)
    assert rows.count() == 3
    for row in rows:
        message = message_of(row)
        parts = [message.subject, message.body, message.alternatives[0][0]]
        parts += [
            content.decode() if isinstance(content, bytes) else str(content)
            for _name, content, _type in message.attachments
        ]
        text = "\n".join(parts).replace(clinic_a.name, "the clinic").lower()
        assert [word for word in sorted(words) if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text)] == []
