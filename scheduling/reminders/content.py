"""What a reminder says: subject, plain text and HTML from `templates/emails/`, a calendar file.

The content is built once, as data, from the row and the facts the sender passes in (the
next dose's target date, the lab tests' date); a channel (`channels.py`) sends it. Nothing
here reads the dosing rules or the other reminder modules.

What a patient reads says when and where, in their clinic's time, and how to reach the
clinic. It never names a drug, a dose or a diagnosis: an email can be read over a
shoulder or on a shared screen. Each one carries a link that turns reminder emails off
without logging in; its token is random, kept on the patient, and names nobody.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlparse

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from patients.services import patient_unsubscribe_token
from scheduling.models import AppointmentEvent, Reminder


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class ReminderContent:
    """One reminder's message, ready for a channel: who to, what it says, and its headers."""

    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


UNSUBSCRIBE_SALT = "chairside.reminders.unsubscribe"

TEMPLATE_NAMES = {
    Reminder.Kind.APPOINTMENT_UPCOMING: "appointment-upcoming",
    Reminder.Kind.DOSE_DUE_SOON: "dose-due-soon",
    Reminder.Kind.DOSE_OVERDUE: "dose-overdue",
    Reminder.Kind.MISSED_APPOINTMENT: "missed-appointment",
    Reminder.Kind.MONITORING_LABS: "monitoring-labs",
}


def patient_id_from_signed_unsubscribe_token(token: str) -> int | None:
    """The patient of a link from an email sent before links carried a random token.

    Those links signed the patient's id and never expired; they keep working for as long as
    such an email may be opened. No new link is made this way.
    """
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) else None


def unsubscribe_url(patient) -> str:
    token = patient_unsubscribe_token(patient=patient)
    return settings.SITE_URL + reverse("scheduling:reminders_unsubscribe", args=[token])


def format_long_day(day: date) -> str:
    """A date the way a letter writes it: Monday 8 March 2027."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def format_long_moment(moment: datetime, tz) -> str:
    local = moment.astimezone(tz)
    return f"{format_long_day(local.date())} at {local:%H:%M}"


def _context(reminder: Reminder, *, due_date: date | None) -> dict:
    clinic = reminder.clinic
    context = {
        "reminder": reminder,
        "first_name": reminder.patient.first_name,
        "clinic": clinic,
        "clinic_address_line": ", ".join(line.strip() for line in clinic.address.splitlines() if line.strip()),
        "unsubscribe_url": unsubscribe_url(reminder.patient),
    }
    appointment = reminder.appointment
    if appointment is not None:
        minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        context.update(
            when=format_long_moment(appointment.starts_at, clinic.tz),
            time_zone=clinic.time_zone,
            duration=_duration(minutes),
        )
    if due_date is not None:
        context["due_day"] = format_long_day(due_date)
    return context


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    if hours:
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{rest} minutes"


def appointment_calendar(appointment) -> bytes:
    """An iCalendar file for the visit: its start and end, where, and no word of treatment."""
    clinic = appointment.clinic
    calendar = Calendar()
    calendar.add("prodid", "-//Chairside//Reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    host = urlparse(settings.SITE_URL).hostname or "chairside.invalid"
    # One UID per appointment, a higher SEQUENCE after each move: calendars update the event.
    event.add("uid", f"appointment-{appointment.pk}@{host}")
    event.add(
        "sequence",
        AppointmentEvent.objects.filter(appointment=appointment, action=AppointmentEvent.Action.RESCHEDULED).count(),
    )
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    event.add("summary", f"Appointment at {clinic.name}")
    event.add("location", ", ".join(line.strip() for line in clinic.address.splitlines() if line.strip()))
    if clinic.phone:
        event.add("description", f"To change or cancel, call {clinic.name} on {clinic.phone}.")
    calendar.add_component(event)
    return calendar.to_ical()


def reminder_content(reminder: Reminder, *, due_date: date | None = None) -> ReminderContent:
    """The message for one reminder row (its clinic, patient and appointment loaded).

    `due_date` is the day the message is about: the next dose's target date for a due-soon
    or overdue reminder, the lab tests' date for a monitoring one.
    """
    name = TEMPLATE_NAMES[reminder.kind]
    context = _context(reminder, due_date=due_date)
    headers = {
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Chairside-Reminder": str(reminder.pk),
    }
    if reminder.clinic.email:
        headers["Reply-To"] = reminder.clinic.email
    attachments = ()
    if reminder.kind == Reminder.Kind.APPOINTMENT_UPCOMING:
        attachments = (Attachment("appointment.ics", appointment_calendar(reminder.appointment), "text/calendar"),)
    return ReminderContent(
        to=reminder.patient.email,
        subject=" ".join(render_to_string(f"emails/{name}-subject.txt", context).split()),
        text=render_to_string(f"emails/{name}-body.txt", context),
        html=render_to_string(f"emails/{name}-body.html", context),
        headers=headers,
        attachments=attachments,
    )
