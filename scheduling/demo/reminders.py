"""Reminders whose sending failed, as the outbox records them: what the manager retries.

A few patients booked for the coming days had their reminder due in the last days, and
the mail server refused it. The rows are written as the sender leaves them: failed, the
attempts made and the server's answer, due inside the period the retry page offers.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from clinic.models import Clinic
from scheduling.demo.plans import FAILED_REMINDER_ERRORS
from scheduling.models import Appointment, Reminder
from scheduling.reminders.times import local_moment


def failed_reminders_write(clinic: Clinic, *, count: int, rng: random.Random, now: datetime) -> int:
    """Up to `count` failed visit reminders of `clinic`, due in the last six days; returns how many."""
    today = now.astimezone(clinic.tz).date()
    upcoming = list(
        Appointment.objects.filter(
            clinic=clinic,
            status=Appointment.Status.BOOKED,
            starts_at__gt=now + timedelta(days=1),
            starts_at__lt=now + timedelta(days=6),
            patient__reminder_consent=True,
        )
        .select_related("patient")
        .order_by("starts_at")
    )
    rng.shuffle(upcoming)
    rows = []
    for appointment in upcoming:
        if len(rows) == count:
            break
        start_day = appointment.starts_at.astimezone(clinic.tz).date()
        # The offsets whose hour has passed: the outbox wrote no row for them at booking.
        for days_before in clinic.reminder_offsets:
            due_at = local_moment(clinic, start_day - timedelta(days=days_before))
            if due_at < now - timedelta(hours=1) and due_at.astimezone(clinic.tz).date() >= today - timedelta(days=6):
                error = FAILED_REMINDER_ERRORS[len(rows) % len(FAILED_REMINDER_ERRORS)]
                rows.append(
                    Reminder(
                        clinic=clinic,
                        patient=appointment.patient,
                        appointment=appointment,
                        course_id=appointment.course_id,
                        kind=Reminder.Kind.APPOINTMENT_UPCOMING,
                        key=Reminder.upcoming_key(appointment, days_before),
                        due_at=due_at,
                        status=Reminder.Status.FAILED,
                        attempts=1 if error.startswith("SMTP 55") else 5,
                        last_error=error.format(email=appointment.patient.email),
                    )
                )
                break
    Reminder.objects.bulk_create(rows)
    for row in rows:
        # Failed minutes after it fell due (or after the retries through the next hours).
        failed_at = min(now - timedelta(minutes=5), row.due_at + timedelta(minutes=rng.randint(1, 240)))
        Reminder.objects.filter(pk=row.pk).update(created_at=row.due_at - timedelta(days=3), updated_at=failed_at)
    return len(rows)
