"""The reminder outbox: which rows a booking change and the planner write, and how a row is sent once.

Runs against the configured database (PostgreSQL in CI: the claims use row locks) with
Django's in-memory email backend; the real worker and SMTP server are in
test_reminder_pipeline.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem

from scheduling.models import Appointment, Reminder
from scheduling.reminders import channels, dispatcher, outbox, planner, sender
from scheduling.reminders.outbox import appointment_reminders_sync
from tests.helpers import book, change, free_port, give, local, make_course

Kind = Reminder.Kind
Status = Reminder.Status


# --- helpers shared by the reminder tests ----------------------------------------------------


def open_rows(**filters):
    return Reminder.objects.filter(status__in=(Status.PENDING, Status.SENDING), **filters)


def not_queued(reminder_id: int) -> None:
    """The tests send the claimed rows themselves, in this process."""


def dispatch_due(*, now: datetime, limit: int) -> int:
    """The minute scan, with nothing queued for a worker."""
    return dispatcher.reminders_dispatch_due(now=now, limit=limit, enqueue=not_queued)


def run_scan_and_send(now: datetime) -> list[str]:
    """One minute scan at `now`, then each claimed row sent in this process (no broker)."""
    dispatch_due(now=now, limit=1000)
    return [
        sender.reminder_deliver(reminder_id=pk)
        for pk in Reminder.objects.filter(status=Status.SENDING).values_list("pk", flat=True)
    ]


@pytest.fixture
def march_2027():
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


# --- appointment reminders -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_booking_creates_reminders_seven_days_and_one_day_before_at_nine_local(clinic_a, march_2027):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))

    rows = Reminder.objects.filter(appointment=appointment, kind=Kind.APPOINTMENT_UPCOMING).order_by("due_at")
    assert [row.due_at.astimezone(clinic_a.tz) for row in rows] == [
        local(clinic_a, 2027, 3, 10, 9, 0),
        local(clinic_a, 2027, 3, 16, 9, 0),
    ]
    assert {row.status for row in rows} == {Status.PENDING}
    assert all(str(appointment.pk) in row.key and "20270317T1030Z" in row.key for row in rows)


@pytest.mark.django_db
def test_syncing_twice_creates_no_second_row(clinic_a, march_2027):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    appointment_reminders_sync(appointment=appointment)
    assert Reminder.objects.filter(appointment=appointment).count() == 2


@pytest.mark.django_db
def test_the_clinic_offsets_and_hour_are_followed(clinic_a, march_2027):
    clinic_a.reminder_days_before = "3"
    clinic_a.reminder_local_time = "17:30"
    clinic_a.save()
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    assert [row.due_at.astimezone(clinic_a.tz) for row in Reminder.objects.filter(appointment=appointment)] == [
        local(clinic_a, 2027, 3, 14, 17, 30)
    ]


@pytest.mark.django_db
def test_a_late_booking_gets_only_the_reminders_still_ahead(clinic_a, march_2027):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 4, 10, 0))
    assert [row.key.rsplit(":", 1)[1] for row in Reminder.objects.filter(appointment=appointment)] == ["1d"]


@pytest.mark.django_db
def test_a_daylight_saving_weekend_keeps_the_local_hour_in_london(clinic_a, march_2027):
    # Clocks go forward in the UK on Sunday 28 March 2027.
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 30, 10, 0))
    due = [row.due_at for row in Reminder.objects.filter(appointment=appointment).order_by("due_at")]
    assert due == [datetime(2027, 3, 23, 9, 0, tzinfo=UTC), datetime(2027, 3, 29, 8, 0, tzinfo=UTC)]
    assert {moment.astimezone(clinic_a.tz).hour for moment in due} == {9}


@pytest.mark.django_db
def test_a_daylight_saving_weekend_keeps_the_local_hour_in_new_york_and_in_autumn(clinic_b, march_2027):
    # US clocks go forward on Sunday 14 March 2027 and UK clocks go back on 31 October 2027.
    spring = book(make_course(clinic_b), local(clinic_b, 2027, 3, 15, 9, 30))
    assert [row.due_at for row in Reminder.objects.filter(appointment=spring).order_by("due_at")] == [
        datetime(2027, 3, 8, 14, 0, tzinfo=UTC),
        datetime(2027, 3, 14, 13, 0, tzinfo=UTC),
    ]
    autumn = book(make_course(clinic_b), local(clinic_b, 2027, 11, 8, 9, 30))
    assert [row.due_at.astimezone(clinic_b.tz).hour for row in Reminder.objects.filter(appointment=autumn)] == [9, 9]


@pytest.mark.django_db
def test_a_cancelled_appointment_keeps_no_pending_reminder(clinic_a, march_2027):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    change(appointment, status=Appointment.Status.CANCELLED)

    assert not open_rows(appointment=appointment).exists()
    assert set(Reminder.objects.filter(appointment=appointment).values_list("last_error", flat=True)) == {
        "The appointment was cancelled."
    }
    march_2027.move_to(datetime(2027, 3, 16, 12, 0, tzinfo=UTC))
    assert run_scan_and_send(datetime(2027, 3, 16, 12, 0, tzinfo=UTC)) == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_rescheduled_appointment_is_reminded_at_its_new_time_only(clinic_a, march_2027):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    old_keys = set(Reminder.objects.filter(appointment=appointment).values_list("key", flat=True))
    change(appointment, starts_at=local(clinic_a, 2027, 3, 24, 14, 0), ends_at=local(clinic_a, 2027, 3, 24, 18, 0))

    pending = open_rows(appointment=appointment).order_by("due_at")
    assert [row.due_at.astimezone(clinic_a.tz) for row in pending] == [
        local(clinic_a, 2027, 3, 17, 9, 0),
        local(clinic_a, 2027, 3, 23, 9, 0),
    ]
    assert not open_rows(key__in=old_keys).exists()

    # Walk the whole month: exactly the two reminders of the new time go out.
    sent = []
    for day in range(2, 25):
        moment = datetime(2027, 3, day, 10, 0, tzinfo=UTC)
        march_2027.move_to(moment)
        sent += run_scan_and_send(moment)
    assert sent == ["sent", "sent"]
    assert [message.subject for message in mail.outbox] == [
        f"Your appointment at {clinic_a.name}: Wednesday 24 March 2027 at 14:00"
    ] * 2


@pytest.mark.django_db
def test_moving_an_appointment_back_to_its_first_time_reuses_its_rows(clinic_a, march_2027):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    first = set(Reminder.objects.filter(appointment=appointment).values_list("pk", flat=True))
    change(appointment, starts_at=local(clinic_a, 2027, 3, 24, 14, 0), ends_at=local(clinic_a, 2027, 3, 24, 18, 0))
    change(appointment, starts_at=local(clinic_a, 2027, 3, 17, 10, 30), ends_at=local(clinic_a, 2027, 3, 17, 14, 30))

    assert set(open_rows(appointment=appointment).values_list("pk", flat=True)) == first
    assert Reminder.objects.filter(appointment=appointment).count() == 4


@pytest.mark.django_db
def test_a_patient_without_consent_an_email_or_who_unsubscribed_gets_no_rows(clinic_a, march_2027):
    starts = local(clinic_a, 2027, 3, 17, 10, 30)
    for patient in (
        {"reminder_consent": False},
        {"email": ""},
        {"reminder_channel": "none"},
        {"unsubscribed_at": datetime(2027, 2, 1, tzinfo=UTC)},
    ):
        book(make_course(clinic_a, **patient), starts)
        starts += timedelta(days=1)
    assert not Reminder.objects.exists()


@pytest.mark.django_db
def test_an_unsubscribed_patient_gets_nothing_further(clinic_a, march_2027):
    course = make_course(clinic_a)
    book(course, local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 5, tzinfo=UTC)
    march_2027.move_to(moment)
    assert run_scan_and_send(moment) == ["sent"]

    assert outbox.patient_unsubscribe(patient=course.patient) is True
    assert outbox.patient_unsubscribe(patient=course.patient) is False
    assert not open_rows(patient=course.patient).exists()
    march_2027.move_to(datetime(2027, 3, 16, 9, 5, tzinfo=UTC))
    assert run_scan_and_send(datetime(2027, 3, 16, 9, 5, tzinfo=UTC)) == []
    assert planner.reminders_plan(now=datetime(2027, 3, 16, 9, 5, tzinfo=UTC)) == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_consent_withdrawn_after_the_claim_cancels_the_send(clinic_a, march_2027):
    course = make_course(clinic_a)
    book(course, local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 5, tzinfo=UTC)
    march_2027.move_to(moment)
    assert dispatch_due(now=moment, limit=10) == 1
    course.patient.reminder_consent = False
    course.patient.save()

    row = Reminder.objects.get(status=Status.SENDING)
    assert sender.reminder_deliver(reminder_id=row.pk) == "cancelled"
    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.CANCELLED, "The patient does not want email reminders.")
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_no_show_asks_the_patient_to_rebook_and_a_new_booking_stops_it(clinic_a, march_2027):
    course = make_course(clinic_a)
    appointment = book(course, local(clinic_a, 2027, 3, 2, 10, 0))
    march_2027.move_to(datetime(2027, 3, 2, 12, 0, tzinfo=UTC))
    change(appointment, status=Appointment.Status.NO_SHOW)

    missed = Reminder.objects.get(kind=Kind.MISSED_APPOINTMENT)
    assert missed.status == Status.PENDING
    assert not open_rows(kind=Kind.APPOINTMENT_UPCOMING).exists()
    assert run_scan_and_send(datetime(2027, 3, 2, 12, 1, tzinfo=UTC)) == ["sent"]
    assert mail.outbox[0].subject == f"We missed you at {clinic_a.name}"

    # A second no-show, then a new booking before the scan: the rebook reminder is not sent.
    second = book(course, local(clinic_a, 2027, 3, 3, 10, 0))
    march_2027.move_to(datetime(2027, 3, 3, 12, 0, tzinfo=UTC))
    change(second, status=Appointment.Status.NO_SHOW)
    book(course, local(clinic_a, 2027, 3, 10, 10, 0))
    assert Reminder.objects.get(appointment=second, kind=Kind.MISSED_APPOINTMENT).status == Status.CANCELLED


# --- sending: once, retried, failed ----------------------------------------------------------


@pytest.mark.django_db
def test_a_row_marked_sent_is_never_sent_again(clinic_a, march_2027):
    book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    assert run_scan_and_send(moment) == ["sent"]
    row = Reminder.objects.get(status=Status.SENT)

    # The task delivered again, and later scans: nothing more goes out.
    assert sender.reminder_deliver(reminder_id=row.pk) == "skipped"
    assert run_scan_and_send(moment + timedelta(hours=1)) == []
    assert dispatch_due(now=moment + timedelta(days=1), limit=10) == 0
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.sent_at == moment and row.attempts == 1


@pytest.mark.django_db
def test_the_same_row_enqueued_twice_is_sent_once(clinic_a, march_2027):
    book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    assert dispatch_due(now=moment, limit=10) == 1
    row = Reminder.objects.get(status=Status.SENDING)

    outcomes = [sender.reminder_deliver(reminder_id=row.pk), sender.reminder_deliver(reminder_id=row.pk)]
    assert outcomes == ["sent", "skipped"]
    assert len(mail.outbox) == 1


def smtp_refusing(settings) -> None:
    """Email goes to an SMTP port nothing listens on: every connection is refused at once."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2


def attempt_until(traveller, row: Reminder, until: datetime) -> list[tuple[datetime, str]]:
    """Scan and send at each moment the row's backoff allows, up to `until`: (moment, outcome) pairs."""
    attempts = []
    moment = row.due_at
    while moment <= until:
        traveller.move_to(moment)
        outcomes = run_scan_and_send(moment)
        attempts += [(moment, outcome) for outcome in outcomes]
        row.refresh_from_db()
        if row.status != Status.PENDING:
            break
        moment = row.claimed_at + outbox.retry_wait(row.attempts)
    return attempts


@pytest.mark.django_db
def test_smtp_down_is_retried_every_15_minutes_until_the_visit_starts_then_failed(clinic_a, march_2027, settings):
    smtp_refusing(settings)
    # Booked three days ahead: only the reminder of the day before, at 09:00 on the 3rd.
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 4, 10, 30))
    row = Reminder.objects.get(appointment=appointment)

    attempts = attempt_until(march_2027, row, appointment.starts_at + timedelta(days=1))
    row.refresh_from_db()

    # 09:00 on the 3rd to 10:30 on the 4th: after 1, 2, 4 and 8 minutes, then every 15.
    minutes = [int((moment - row.due_at).total_seconds() // 60) for moment, _ in attempts]
    assert minutes[:8] == [0, 1, 3, 7, 15, 30, 45, 60]
    assert all(later - earlier == 15 for earlier, later in zip(minutes[4:], minutes[5:], strict=False))
    assert max(moment for moment, _ in attempts) < appointment.starts_at
    assert [outcome for _, outcome in attempts] == ["retry"] * (len(attempts) - 1) + ["failed"]
    assert row.status == Status.FAILED and row.attempts == len(attempts) > 90
    assert row.last_error.startswith(
        f"Not sent: every one of {row.attempts} attempts failed, and the reminder stopped being useful "
        "when the visit began (last error: ConnectionRefusedError"
    )
    assert list(Reminder.objects.filter(clinic=clinic_a, status=Status.FAILED)) == [row]


@pytest.mark.django_db
def test_a_dose_reminder_is_retried_until_a_day_after_it_was_due(clinic_a, march_2027, settings):
    smtp_refusing(settings)
    course = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    give(course, date(2027, 1, 5))
    plan_on(march_2027, date(2027, 1, 12))
    row = Reminder.objects.get(kind=Kind.DOSE_DUE_SOON)

    attempts = attempt_until(march_2027, row, row.due_at + timedelta(days=2))
    row.refresh_from_db()

    assert row.status == Status.FAILED
    assert row.due_at + timedelta(hours=23, minutes=30) <= attempts[-1][0] < row.due_at + timedelta(days=1)
    assert "stopped being useful a day after it was due" in row.last_error


@pytest.mark.django_db
def test_a_reminder_still_goes_out_when_the_mail_server_answers_again(clinic_a, march_2027, settings):
    smtp_refusing(settings)
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    row = Reminder.objects.filter(appointment=appointment).earliest("due_at")
    # Refused for three hours: far more than the five attempts that used to be all.
    attempts = attempt_until(march_2027, row, row.due_at + timedelta(hours=3))
    assert len(attempts) >= 15 and {outcome for _, outcome in attempts} == {"retry"}

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row.refresh_from_db()
    later = row.claimed_at + outbox.RETRY_EVERY
    march_2027.move_to(later)
    assert run_scan_and_send(later) == ["sent"]
    row.refresh_from_db()
    assert (row.status, row.last_error, row.send_started_at) == (Status.SENT, "", None)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_retries_wait_longer_each_time_then_every_15_minutes(clinic_a, march_2027, settings):
    smtp_refusing(settings)
    book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    start = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    attempts_at = []
    for minute in range(50):
        moment = start + timedelta(minutes=minute)
        march_2027.move_to(moment)
        if run_scan_and_send(moment):
            attempts_at.append(minute)
    assert attempts_at == [0, 1, 3, 7, 15, 30, 45]


@pytest.mark.django_db
def test_a_worker_lost_mid_send_leaves_a_row_the_scan_claims_again(clinic_a, march_2027):
    book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    assert dispatch_due(now=moment, limit=10) == 1
    # What a worker killed after its claim leaves behind: 'sending', one attempt used and started.
    Reminder.objects.filter(status=Status.SENDING).update(attempts=1, send_started_at=moment)

    assert dispatch_due(now=moment + timedelta(minutes=2), limit=10) == 0
    later = moment + outbox.SENDING_TIMEOUT + timedelta(minutes=1)
    march_2027.move_to(later)
    assert run_scan_and_send(later) == ["sent"]
    assert len(mail.outbox) == 1
    row = Reminder.objects.get(status=Status.SENT)
    assert (row.attempts, row.lost_attempts, row.send_started_at) == (2, 0, None)


@pytest.mark.django_db
def test_a_row_that_keeps_killing_its_worker_ends_failed_for_staff(clinic_a, march_2027):
    book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    dispatch_due(now=moment, limit=10)
    row = Reminder.objects.get(status=Status.SENDING)
    # Two attempts died already and a third started and died too.
    Reminder.objects.filter(pk=row.pk).update(
        attempts=3, lost_attempts=outbox.MAX_LOST_ATTEMPTS - 1, send_started_at=moment
    )

    assert sender.reminder_deliver(reminder_id=row.pk) == "failed"
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert "stopped part-way 3 times in a row" in row.last_error
    assert "Check with the patient whether it arrived" in row.last_error
    assert mail.outbox == []


@pytest.mark.django_db
def test_an_appointment_cancelled_while_its_reminder_is_on_its_way_is_recorded_as_sent(
    clinic_a, march_2027, monkeypatch
):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    dispatch_due(now=moment, limit=10)
    row = Reminder.objects.get(status=Status.SENDING)

    def cancelled_while_sending(content, *, still_wanted):
        assert still_wanted()
        change(appointment, status=Appointment.Status.CANCELLED)  # holds no lock the send needs
        return True  # the server had the message already

    monkeypatch.setitem(channels.CHANNELS, Reminder.Channel.EMAIL, cancelled_while_sending)
    assert sender.reminder_deliver(reminder_id=row.pk) == "sent"
    row.refresh_from_db()
    assert (row.status, row.sent_at, row.send_started_at) == (Status.SENT, moment, None)
    assert row.last_error == (
        "Sent while it was being cancelled: the appointment was cancelled. Make sure the patient knows what stands."
    )
    # The visit moved back to the same time later gets no second copy of what the patient has.
    assert not open_rows(appointment=appointment).exists()


@pytest.mark.django_db
def test_a_cancellation_saved_while_connecting_stops_the_message(clinic_a, march_2027, monkeypatch):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    dispatch_due(now=moment, limit=10)
    row = Reminder.objects.get(status=Status.SENDING)
    real_open = locmem.EmailBackend.open

    def slow_to_connect(backend):
        change(appointment, status=Appointment.Status.CANCELLED)
        return real_open(backend)

    monkeypatch.setattr(locmem.EmailBackend, "open", slow_to_connect)
    assert sender.reminder_deliver(reminder_id=row.pk) == "cancelled"
    row.refresh_from_db()
    assert (row.status, row.last_error, row.sent_at, row.send_started_at) == (
        Status.CANCELLED,
        "The appointment was cancelled.",
        None,
        None,
    )
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_claimed_reminder_of_an_appointment_cancelled_meanwhile_is_not_sent(clinic_a, march_2027):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    dispatch_due(now=moment, limit=10)
    row = Reminder.objects.get(status=Status.SENDING)
    change(appointment, status=Appointment.Status.CANCELLED)

    assert sender.reminder_deliver(reminder_id=row.pk) == "skipped"
    assert Reminder.objects.get(pk=row.pk).status == Status.CANCELLED
    assert mail.outbox == []


@pytest.mark.django_db
def test_staff_retry_of_a_failed_reminder_sends_it(clinic_a, manager, march_2027, settings):
    book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    row = Reminder.objects.order_by("due_at").first()
    Reminder.objects.filter(pk=row.pk).update(status=Status.FAILED, attempts=5, last_error="SMTPServerDisconnected")

    outbox.reminder_retry(reminder=row, by=manager)
    with pytest.raises(outbox.ReminderError, match="not failed"):
        outbox.reminder_retry(reminder=row, by=manager)
    moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    assert run_scan_and_send(moment) == ["sent"]


# --- the planner -----------------------------------------------------------------------------


def plan_on(traveller, day: date, hour: int = 0) -> int:
    moment = datetime(day.year, day.month, day.day, hour, 5, tzinfo=UTC)
    traveller.move_to(moment)
    return planner.reminders_plan(now=moment)


@pytest.mark.django_db
def test_the_due_soon_reminder_follows_ocrevus_maintenance_from_infusion_1(clinic_a, march_2027):
    course = make_course(clinic_a, "ocrevus", start=date(2027, 1, 4))
    give(course, date(2027, 1, 4), dose_number=1)
    give(course, date(2027, 1, 18), dose_number=2)
    # Maintenance is due 6 months after infusion 1 (4 July 2027), not after infusion 2.
    assert plan_on(march_2027, date(2027, 6, 12)) == 0
    assert plan_on(march_2027, date(2027, 6, 13)) == 1

    row = Reminder.objects.get()
    assert (row.kind, row.course, row.key) == (Kind.DOSE_DUE_SOON, course, f"due-soon:{course.pk}:3")
    assert row.due_at.astimezone(clinic_a.tz) == local(clinic_a, 2027, 6, 13, 9, 0)
    assert plan_on(march_2027, date(2027, 6, 14)) == 0  # one reminder per dose


@pytest.mark.django_db
def test_the_due_soon_reminder_follows_tysabri_every_4_weeks_or_6_when_extended(clinic_a, march_2027):
    four = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    six = make_course(clinic_a, "tysabri", start=date(2027, 1, 5), options={"extended_interval": True})
    give(four, date(2027, 1, 5))
    give(six, date(2027, 1, 5))
    # Next doses due 2 February (4 weeks) and 16 February (6 weeks); reminders 21 days before.
    assert plan_on(march_2027, date(2027, 1, 11)) == 0
    assert plan_on(march_2027, date(2027, 1, 12)) == 1
    assert Reminder.objects.get().course == four
    assert plan_on(march_2027, date(2027, 1, 25)) == 0
    assert plan_on(march_2027, date(2027, 1, 26)) == 1
    assert Reminder.objects.filter(course=six, kind=Kind.DOSE_DUE_SOON).count() == 1


@pytest.mark.django_db
def test_a_booked_dose_gets_no_due_soon_reminder_and_booking_cancels_one(clinic_a, march_2027):
    course = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    give(course, date(2027, 1, 5))
    plan_on(march_2027, date(2027, 1, 12))
    book(course, local(clinic_a, 2027, 2, 2, 10, 0), dose_number=2)
    assert Reminder.objects.get(kind=Kind.DOSE_DUE_SOON).status == Status.CANCELLED
    assert plan_on(march_2027, date(2027, 1, 13)) == 0


@pytest.mark.django_db
def test_an_overdue_dose_is_reminded_weekly_at_most_three_times(clinic_a, march_2027):
    course = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    give(course, date(2027, 1, 5))
    # Due 2 February (still due on the 9th), overdue after the 7-day window: from 10 February.
    sent_on = []
    day = date(2027, 2, 9)
    while day < date(2027, 4, 15):
        plan_on(march_2027, day, hour=0)
        moment = datetime(day.year, day.month, day.day, 9, 1, tzinfo=UTC)
        march_2027.move_to(moment)
        if run_scan_and_send(moment) == ["sent"]:
            sent_on.append((day, Reminder.objects.filter(status=Status.SENT).latest("sent_at").kind))
        day += timedelta(days=1)
    assert sent_on == [
        (date(2027, 2, 9), Kind.DOSE_DUE_SOON),
        (date(2027, 2, 10), Kind.DOSE_OVERDUE),
        (date(2027, 2, 17), Kind.DOSE_OVERDUE),
        (date(2027, 2, 24), Kind.DOSE_OVERDUE),
    ]


@pytest.mark.django_db
def test_lemtrada_monitoring_brings_monthly_lab_reminders(clinic_a, march_2027):
    course = make_course(clinic_a, "lemtrada", start=date(2027, 1, 4))
    for number, day in enumerate(range(4, 9), start=1):
        give(course, date(2027, 1, day), dose_number=number)
    for month in (2, 3, 4):
        plan_on(march_2027, date(2027, month, 1))
    labs = Reminder.objects.filter(kind=Kind.MONITORING_LABS).order_by("due_at")
    assert [row.key.rsplit(":", 1)[1] for row in labs] == ["2027-02-04", "2027-03-04", "2027-04-04"]
    assert [row.due_at.astimezone(clinic_a.tz) for row in labs] == [
        local(clinic_a, 2027, 2, 1, 9, 0),
        local(clinic_a, 2027, 3, 1, 9, 0),
        local(clinic_a, 2027, 4, 1, 9, 0),
    ]


@pytest.mark.django_db
def test_the_planner_reads_courses_in_chunks_with_the_same_result(clinic_a, march_2027):
    for number in range(7):
        give(make_course(clinic_a, "tysabri", start=date(2027, 1, 5)), date(2027, 1, 5), hour=8 + number)
    moment = datetime(2027, 1, 12, 1, 0, tzinfo=UTC)
    march_2027.move_to(moment)
    assert planner.reminders_plan(now=moment, chunk=2) == 7
    assert planner.reminders_plan(now=moment) == 0
    assert Reminder.objects.filter(kind=Kind.DOSE_DUE_SOON).count() == 7


@pytest.mark.django_db
def test_a_patient_just_asked_to_rebook_a_missed_visit_is_not_also_told_to_book(clinic_a, march_2027):
    course = make_course(clinic_a, "tysabri", start=date(2027, 3, 2))
    appointment = book(course, local(clinic_a, 2027, 3, 2, 10, 0))
    march_2027.move_to(datetime(2027, 3, 2, 12, 0, tzinfo=UTC))
    change(appointment, status=Appointment.Status.NO_SHOW)

    assert plan_on(march_2027, date(2027, 3, 3)) == 0
    assert list(Reminder.objects.values_list("kind", flat=True)) == [Kind.MISSED_APPOINTMENT]
    # A week on, still unbooked: the usual reminders take over.
    assert plan_on(march_2027, date(2027, 3, 10)) == 1
    assert Reminder.objects.filter(kind=Kind.DOSE_OVERDUE).count() == 1


@pytest.mark.django_db
def test_the_booking_services_keep_the_outbox_in_step(clinic_a, front_desk, march_2027):
    from scheduling.booking.services import booking_cancel, booking_create, booking_reschedule

    course = make_course(clinic_a, "ocrevus", start=date(2027, 3, 17))
    chair = clinic_a.chairs.order_by("position").first()
    appointment = booking_create(
        course=course, chair=chair, starts_at=local(clinic_a, 2027, 3, 17, 9, 0), booked_by=front_desk
    )
    now = local(clinic_a, 2027, 3, 1, 12, 0)

    def open_kinds_and_times():
        return [(row.kind, row.due_at.astimezone(clinic_a.tz)) for row in open_rows().order_by("due_at", "pk")]

    assert open_kinds_and_times() == [
        (Kind.BOOKING_CONFIRMED, now),
        (Kind.APPOINTMENT_UPCOMING, local(clinic_a, 2027, 3, 10, 9, 0)),
        (Kind.APPOINTMENT_UPCOMING, local(clinic_a, 2027, 3, 16, 9, 0)),
    ]

    appointment = booking_reschedule(
        appointment=appointment, chair=chair, starts_at=local(clinic_a, 2027, 3, 18, 9, 0), by=front_desk
    )
    assert open_kinds_and_times() == [
        (Kind.BOOKING_CONFIRMED, now),
        (Kind.APPOINTMENT_MOVED, now),
        (Kind.APPOINTMENT_UPCOMING, local(clinic_a, 2027, 3, 11, 9, 0)),
        (Kind.APPOINTMENT_UPCOMING, local(clinic_a, 2027, 3, 17, 9, 0)),
    ]

    booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell.")
    # Only the cancellation notice is left to send; the four reminders, the confirmation and
    # the move notice of the cancelled visit are cancelled.
    assert open_kinds_and_times() == [(Kind.APPOINTMENT_CANCELLED, now)]
    assert Reminder.objects.filter(status=Status.CANCELLED).count() == 6
