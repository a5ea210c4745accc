"""Reminders end to end: a real Celery worker on Redis sends to a real SMTP server (aiosmtpd).

The worker is a separate `celery -A config worker` process on the test database, so the
rows must be committed (`transaction=True`). Time moves forward by passing `now=` to the
minute scan; the worker itself runs on the real clock, so the appointments are booked a
few days ahead of today. Killed workers, flushed queues, hung and refusing mail servers
are in tests/scheduling/faults/.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from clinic.models import Drug, Regimen
from scheduling import tasks
from scheduling.models import Reminder
from tests.conftest import DEMO_PASSWORD
from tests.helpers import book, book_directly, free_port, give, local, make_course
from tests.scheduling.reminders.support import Worker, booked_visit, scan_at, status_of, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

Status = Reminder.Status


# --- the tests -------------------------------------------------------------------------------


def test_a_booking_brings_exactly_its_confirmation_and_two_reminders_with_a_calendar_file(
    clinic_a, front_desk, smtp_server, worker
):
    _controller, mailbox = smtp_server
    worker.start()
    appointment = booked_visit(clinic_a, front_desk)
    confirmation = Reminder.objects.get(appointment=appointment, kind=Reminder.Kind.BOOKING_CONFIRMED)
    rows = list(
        Reminder.objects.filter(appointment=appointment, kind=Reminder.Kind.APPOINTMENT_UPCOMING).order_by("due_at")
    )
    assert len(rows) == 2

    # The confirmation is due at once.
    assert scan_at(timezone.now()) == 1
    assert len(mailbox.wait_for(1)) == 1
    assert wait_until(lambda: status_of(confirmation) == Status.SENT)
    # A minute after the 7-day reminder's local 09:00.
    assert scan_at(rows[0].due_at + timedelta(minutes=1)) == 1
    assert len(mailbox.wait_for(2)) == 2
    assert wait_until(lambda: status_of(rows[0]) == Status.SENT)
    # Later that week, nothing; then the 1-day reminder.
    assert scan_at(rows[0].due_at + timedelta(days=3)) == 0
    assert scan_at(rows[1].due_at + timedelta(minutes=1)) == 1
    assert len(mailbox.wait_for(3)) == 3
    assert wait_until(lambda: status_of(rows[1]) == Status.SENT)
    # After the visit, nothing more.
    assert scan_at(appointment.ends_at + timedelta(days=30)) == 0
    time.sleep(1)
    assert len(mailbox.messages) == 3

    forbidden = [name.lower() for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name)]
    forbidden += [regimen.name.lower() for regimen in Regimen.objects.all()] + [" mg", "multiple sclerosis"]
    local_start = appointment.starts_at.astimezone(clinic_a.tz)
    when = f"{local_start:%A} {local_start.day} {local_start:%B %Y} at 10:00"
    assert [message["Subject"] for message in mailbox.messages] == [
        f"Booked: your appointment at {clinic_a.name}: {when}",
        f"Your appointment at {clinic_a.name}: {when}",
        f"Your appointment at {clinic_a.name}: {when}",
    ]
    for message in mailbox.messages:
        assert message["To"] == "robin@patients.example.org"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert "10:00" in text and clinic_a.address in text and clinic_a.phone in text
        assert "https://chairside.example.org/scheduling/reminders/unsubscribe/" in text
        whole = (message["Subject"] + text + html).lower()
        assert not [word for word in forbidden if word in whole]
        ics = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
        assert len(ics) == 1
        calendar = Calendar.from_ical(ics[0].get_content())
        (event,) = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == appointment.starts_at
        assert event.decoded("dtend") == appointment.ends_at
        assert not [word for word in forbidden if word in calendar.to_ical().decode().lower()]


def test_the_same_row_enqueued_twice_sends_one_email(clinic_a, front_desk, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    rows = list(Reminder.objects.filter(appointment=booked_visit(clinic_a, front_desk)).order_by("due_at"))
    assert len(rows) == 3  # the confirmation and two reminders
    assert scan_at(rows[-1].due_at + timedelta(minutes=1)) == 3
    for row in rows:
        tasks.reminder_send.delay(reminder_id=row.pk)
        tasks.reminder_send.delay(reminder_id=row.pk)

    assert wait_until(lambda: all(status_of(row) == Status.SENT for row in rows))
    time.sleep(2)
    assert len(mailbox.messages) == 3


def test_smtp_down_fails_a_reminder_once_it_is_too_late_and_staff_see_it(clinic_a, manager, smtp_server, client):
    worker = Worker(free_port()).start()  # nothing listens on that port
    try:
        # A visit starting in 30 seconds, its reminder due a minute ago: the one retry there is
        # time for would come after the visit began.
        course = make_course(clinic_a, first_name="Robin", email="robin@patients.example.org")
        starts_at = timezone.now() + timedelta(seconds=30)
        appointment = book_directly(course=course, starts_at=starts_at)
        row = Reminder.objects.create(
            clinic=clinic_a,
            patient=course.patient,
            appointment=appointment,
            course=course,
            kind=Reminder.Kind.APPOINTMENT_UPCOMING,
            key=Reminder.upcoming_key(appointment, 1),
            due_at=timezone.now() - timedelta(minutes=1),
        )
        assert scan_at(timezone.now()) == 1
        assert wait_until(lambda: status_of(row) != Status.SENDING)
        row.refresh_from_db()
        assert (row.status, row.attempts) == (Status.FAILED, 1)
        assert "stopped being useful when the visit began" in row.last_error
        assert "ConnectionRefusedError" in row.last_error
        assert scan_at(timezone.now() + timedelta(hours=1)) == 0
    finally:
        worker.stop()

    client.login(username="max", password=DEMO_PASSWORD)
    page = client.get(reverse("scheduling:reminders_failed"))
    assert page.status_code == 200
    assert "Robin" in page.content.decode() and "ConnectionRefusedError" in page.content.decode()


def test_a_worker_per_queue_one_scans_and_one_sends(clinic_a, front_desk, smtp_server):
    controller, mailbox = smtp_server
    scan_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    send_queue = f"{scan_queue}.send"
    assert settings.CELERY_TASK_ROUTES["scheduling.tasks.reminder_send"] == {"queue": send_queue}
    scanner = Worker(controller.port, queues=[scan_queue]).start()
    sender_worker = None
    try:
        today = timezone.localdate(timezone=clinic_a.tz)
        missed = make_course(clinic_a, "tysabri", start=today - timedelta(days=1), first_name="Sam")
        yesterday = today - timedelta(days=1)
        book(missed, local(clinic_a, yesterday.year, yesterday.month, yesterday.day, 10, 0), status="no_show")
        row = Reminder.objects.get(course=missed)

        tasks.reminders_dispatch_due.delay()
        # The scan ran on the scan worker; nothing consumes the send queue yet.
        assert wait_until(lambda: status_of(row) == Status.SENDING)
        time.sleep(2)
        assert mailbox.messages == [] and status_of(row) == Status.SENDING

        sender_worker = Worker(controller.port, queues=[send_queue]).start()
        assert len(mailbox.wait_for(1)) == 1
        assert wait_until(lambda: status_of(row) == Status.SENT)
        assert "Task scheduling.tasks.reminders_dispatch_due[" in scanner.text()
        assert "Task scheduling.tasks.reminder_send[" not in scanner.text()
        assert "Task scheduling.tasks.reminder_send[" in sender_worker.text()
    finally:
        scanner.stop()
        if sender_worker:
            sender_worker.stop()


def test_the_beat_tasks_plan_and_send_on_the_worker(clinic_a, smtp_server, worker):
    _controller, mailbox = smtp_server
    worker.start()
    today = timezone.localdate(timezone=clinic_a.tz)
    # A Tysabri dose given 25 days ago: the next is due in 3 days and is not booked.
    planned = make_course(clinic_a, "tysabri", start=today - timedelta(days=25))
    give(planned, today - timedelta(days=25))
    # A visit missed yesterday: the rebook reminder is due at once.
    missed = make_course(clinic_a, "tysabri", start=today - timedelta(days=1), first_name="Sam")
    yesterday = today - timedelta(days=1)
    book(missed, local(clinic_a, yesterday.year, yesterday.month, yesterday.day, 10, 0), status="no_show")

    tasks.reminders_plan.delay()
    assert wait_until(lambda: Reminder.objects.filter(course=planned, kind=Reminder.Kind.DOSE_DUE_SOON).exists())
    tasks.reminders_dispatch_due.delay()
    assert len(mailbox.wait_for(1)) >= 1
    subjects = [message["Subject"] for message in mailbox.messages]
    assert f"We missed you at {clinic_a.name}" in subjects
    assert wait_until(lambda: Reminder.objects.get(course=missed).status == Status.SENT)
