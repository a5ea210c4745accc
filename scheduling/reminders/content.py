"""What a reminder says: subject, plain text and HTML from `templates/emails/`, a calendar file.

The content is built once, as data, from the row and the facts the sender passes in (the
next dose's target date, the lab tests' date); a channel (`channels.py`) sends it. Nothing
here reads the dosing rules or the other reminder modules.

What a patient reads says when and where, in their clinic's time, and how to reach the
clinic. It never names a drug, a dose or a diagnosis: an email can be read over a
shoulder or on a shared screen. Each one carries a link that turns reminder emails off
without logging in; its token is random, kept on the patient, and names nobody.

Everything a patient reads is in the patient's language (`Patient.language`): the
content is built under `translation.override`, the templates mark their words with
`{% translate %}` and `{% blocktranslate %}`, and dates follow `clinic.dates`' patient
formats in that language. What staff read of a row (its reasons, its history) stays English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlparse

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, pgettext
from icalendar import Calendar, Event

from clinic import dates
from patients.services import patient_sms_stop_token, patient_unsubscribe_token
from scheduling.models import Appointment, AppointmentEvent, Reminder, SlotOffer
from scheduling.reminders.answer_links import answer_urls, offer_answer_urls
from scheduling.reminders.sms import MAX_LENGTH as SMS_MAX_LENGTH
from scheduling.reminders.sms import gsm7, gsm7_length, tidy


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
    Reminder.Kind.BOOKING_CONFIRMED: "booking-confirmed",
    Reminder.Kind.APPOINTMENT_MOVED: "appointment-moved",
    Reminder.Kind.APPOINTMENT_CANCELLED: "appointment-cancelled",
    Reminder.Kind.SLOT_OFFER: "slot-offer",
    Reminder.Kind.SLOT_OFFER_TAKEN: "slot-offer-taken",
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


def phone_link(phone: str) -> str:
    """The clinic's phone number as a link a phone can call, for an HTML message or page ('' without one)."""
    return format_html('<a href="tel:{}">{}</a>', phone.replace(" ", ""), phone) if phone else ""


def sms_stop_url(patient) -> str:
    """The link in a text that stops the patient's text messages: short, no login, names nobody."""
    token = patient_sms_stop_token(patient=patient)
    return settings.SITE_URL + reverse("sms_stop:stop", args=[token])


def page_sms_stop_url(patient) -> str:
    """The stop link on the pages a text's answer links open ('' for a patient who gets no texts):
    a text with links has no room for one more."""
    return sms_stop_url(patient) if settings.SMS_ENABLED and patient.wants_sms_reminders else ""


def format_long_day(day: date) -> str:
    """A date the way a letter writes it, in the active language: Monday 8 March 2027."""
    return dates.written_out(day)


def format_long_moment(moment: datetime, tz) -> str:
    """A day and time the way a letter writes it, in the active language: Monday 8 March 2027 at 10:00."""
    local = moment.astimezone(tz)
    return pgettext("a day and a time of day", "%(day)s at %(time)s") % {
        "day": format_long_day(local.date()),
        "time": f"{local:%H:%M}",
    }


def format_short_moment(moment: datetime, tz) -> str:
    """A moment the way a text message gives it, in the active language: Mon 8 Mar 10:00."""
    return dates.text_moment(moment.astimezone(tz))


# The messages that ask the patient to confirm, cancel or ask for another time (links in them).
ASKING_KINDS = (Reminder.Kind.APPOINTMENT_UPCOMING, Reminder.Kind.BOOKING_CONFIRMED, Reminder.Kind.APPOINTMENT_MOVED)


def _context(reminder: Reminder, *, due_date: date | None, visits: list[Appointment]) -> dict:
    clinic = reminder.clinic
    address_line = ", ".join(line.strip() for line in clinic.address.splitlines() if line.strip())
    context = {
        "reminder": reminder,
        "first_name": reminder.patient.first_name,
        "clinic": clinic,
        "clinic_address_line": address_line,
        "unsubscribe_url": unsubscribe_url(reminder.patient),
        # Plain values for {% blocktranslate %}: the same sentence serves the text and the HTML email.
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_phone_html": phone_link(clinic.phone),
        "where": f"{clinic.name}, {address_line}" if address_line else clinic.name,
    }
    appointment = reminder.appointment
    if appointment is not None:
        minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
        context.update(
            when=format_long_moment(appointment.starts_at, clinic.tz),
            time_zone=clinic.time_zone,
            duration=_duration(minutes),
        )
    if reminder.kind in Reminder.BOOKING_NOTICE_KINDS:
        context["visits"] = [_visit(item, clinic) for item in visits]
    asked_about = (visits[0] if visits else None) if reminder.kind in Reminder.BOOKING_NOTICE_KINDS else appointment
    if reminder.kind in ASKING_KINDS and asked_about is not None:
        # A series asks about its first visit; each later one is asked about in its own reminders.
        context.update(
            answer_urls=answer_urls(asked_about),
            answer_urls_first_only=len(visits) > 1,
            answer_urls_when=format_long_moment(asked_about.starts_at, clinic.tz),
            short_when=format_short_moment(asked_about.starts_at, clinic.tz),
        )
    elif appointment is not None:
        context["short_when"] = format_short_moment(appointment.starts_at, clinic.tz)
    if reminder.kind in Reminder.OFFER_KINDS:
        context.update(_offer_context(reminder, clinic))
    context["more_visits"] = max(len(visits) - 1, 0)
    if due_date is not None:
        context["due_day"] = format_long_day(due_date)
    return context


def _offer_context(reminder: Reminder, clinic) -> dict:
    """An offer's time, how long it is, when the offer ends, the visit it would replace, and its two links."""
    offer = SlotOffer.objects.get(pk=reminder.offer_id_from_key)
    minutes = int((offer.ends_at - offer.starts_at).total_seconds() // 60)
    context = {
        "offer": offer,
        "when": format_long_moment(offer.starts_at, clinic.tz),
        "short_when": format_short_moment(offer.starts_at, clinic.tz),
        "time_zone": clinic.time_zone,
        "duration": _duration(minutes),
        "offer_ends": format_long_moment(offer.expires_at, clinic.tz),
        "offer_ends_short": format_short_moment(offer.expires_at, clinic.tz),
        "current_when": format_long_moment(offer.appointment_starts_at, clinic.tz) if offer.appointment_id else "",
        "current_short_when": (
            format_short_moment(offer.appointment_starts_at, clinic.tz) if offer.appointment_id else ""
        ),
    }
    if reminder.kind == Reminder.Kind.SLOT_OFFER:
        context["offer_urls"] = offer_answer_urls(offer)
    return context


def _visit(appointment: Appointment, clinic) -> dict:
    """One visit of a notice, the way the message gives it."""
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return {"when": format_long_moment(appointment.starts_at, clinic.tz), "duration": _duration(minutes)}


def notice_appointments(reminder: Reminder) -> list[Appointment]:
    """The visits a booking, move or cancellation notice gives, in order.

    A confirmation or a move gives those of its visits still booked (one cancelled since has
    its own notice); a cancellation gives every visit it cancelled.
    """
    ids = reminder.appointment_ids or [reminder.appointment_id]
    appointments = Appointment.objects.in_bulk(ids)
    listed = [appointments[pk] for pk in ids if pk in appointments]
    if reminder.kind == Reminder.Kind.APPOINTMENT_CANCELLED:
        return listed
    return [item for item in listed if item.status == Appointment.Status.BOOKED]


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
    if hours:
        return ngettext("%(hours)s hour", "%(hours)s hours", hours) % {"hours": hours}
    return ngettext("%(minutes)s minute", "%(minutes)s minutes", rest) % {"minutes": rest}


def calendar_sequence(appointment) -> int:
    """The visit's calendar SEQUENCE: how many times it was moved. One UID per visit, a higher
    SEQUENCE after each move, so calendars update the event instead of adding one."""
    return AppointmentEvent.objects.filter(appointment=appointment, action=AppointmentEvent.Action.RESCHEDULED).count()


def visits_calendar(appointments, *, clinic, cancelled: bool = False) -> bytes:
    """An iCalendar file with one event per visit: start and end, where, and no word of treatment,
    in the active language (the patient's, when a message is built).

    `cancelled` makes it a cancellation (METHOD:CANCEL, each event STATUS:CANCELLED, one
    SEQUENCE higher than the visit's last), which removes the events from the calendar.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Chairside//Reminders//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    host = urlparse(settings.SITE_URL).hostname or "chairside.invalid"
    for appointment in appointments:
        event = Event()
        event.add("uid", f"appointment-{appointment.pk}@{host}")
        event.add("sequence", calendar_sequence(appointment) + (1 if cancelled else 0))
        event.add("dtstamp", timezone.now())
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        summary = gettext("Appointment at %(clinic)s") % {"clinic": clinic.name}
        if cancelled:
            summary = gettext("Cancelled: %(appointment)s") % {"appointment": summary}
        event.add("summary", summary)
        event.add("location", ", ".join(line.strip() for line in clinic.address.splitlines() if line.strip()))
        if cancelled:
            event.add("status", "CANCELLED")
        elif clinic.phone:
            event.add(
                "description",
                gettext("To change or cancel, call %(clinic)s on %(phone)s.")
                % {"clinic": clinic.name, "phone": clinic.phone},
            )
        calendar.add_component(event)
    return calendar.to_ical()


def appointment_calendar(appointment) -> bytes:
    """An iCalendar file for one visit."""
    return visits_calendar([appointment], clinic=appointment.clinic)


def _attachments(reminder: Reminder, visits: list[Appointment]) -> tuple[Attachment, ...]:
    if reminder.kind == Reminder.Kind.APPOINTMENT_UPCOMING:
        return (Attachment("appointment.ics", appointment_calendar(reminder.appointment), "text/calendar"),)
    if reminder.kind in Reminder.BOOKING_NOTICE_KINDS:
        # A whole series in one file: one event per visit.
        calendar = visits_calendar(
            visits, clinic=reminder.clinic, cancelled=reminder.kind == Reminder.Kind.APPOINTMENT_CANCELLED
        )
        return (Attachment("appointment.ics", calendar, "text/calendar"),)
    return ()


# How much of a clinic's name and a patient's first name a text gives, longest first: the first
# that fits two segments is sent.
SMS_NAME_CLIPS = ((40, 20), (24, 12), (16, 0))


def _clip(text: str, length: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "."


def sms_text(name: str, context: dict) -> str:
    """The text of `templates/sms/<name>.txt`: plain GSM-7, at most two segments (306 characters).

    A long clinic or first name is shortened until it fits; the links, the time and the
    clinic's phone number are never cut.
    """
    clinic = context["clinic"]
    text = ""
    for clinic_length, name_length in SMS_NAME_CLIPS:
        sms_context = {
            **context,
            "sms_clinic": gsm7(_clip(clinic.name, clinic_length)),
            "sms_first_name": gsm7(_clip(context["first_name"], name_length)) if name_length else "",
            "sms_phone": gsm7(clinic.phone.replace(" ", "")),
        }
        text = gsm7(tidy(render_to_string(f"sms/{name}.txt", sms_context)))
        if gsm7_length(text) <= SMS_MAX_LENGTH:
            return text
    return text


def reminder_content(reminder: Reminder, *, due_date: date | None = None) -> ReminderContent:
    """The message for one reminder row (its clinic, patient and appointment loaded), on its channel,
    in the patient's language.

    `due_date` is the day the message is about: the next dose's target date for a due-soon
    or overdue reminder, the lab tests' date for a monitoring one.
    """
    with translation.override(reminder.patient.language):
        return _reminder_content(reminder, due_date=due_date)


def _reminder_content(reminder: Reminder, *, due_date: date | None) -> ReminderContent:
    name = TEMPLATE_NAMES[reminder.kind]
    visits = notice_appointments(reminder) if reminder.kind in Reminder.BOOKING_NOTICE_KINDS else []
    context = _context(reminder, due_date=due_date, visits=visits)
    if reminder.channel == Reminder.Channel.SMS:
        if "answer_urls" not in context and "offer_urls" not in context:
            # A text without answer links has room for the link that stops texts; one with them
            # has it on the pages its links open (the answer pages).
            context["sms_stop_url"] = sms_stop_url(reminder.patient)
        return ReminderContent(
            to=reminder.patient.phone,
            subject="",
            text=sms_text(name, context),
            html="",
            headers={"X-Chairside-Reminder": str(reminder.pk)},
        )
    headers = {
        "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Chairside-Reminder": str(reminder.pk),
        # The language it is written in (RFC 3282), for mail clients that read it aloud or translate.
        "Content-Language": translation.get_language(),
    }
    if reminder.clinic.email:
        headers["Reply-To"] = reminder.clinic.email
    attachments = _attachments(reminder, visits)
    return ReminderContent(
        to=reminder.patient.email,
        subject=" ".join(render_to_string(f"emails/{name}-subject.txt", context).split()),
        text=render_to_string(f"emails/{name}-body.txt", context),
        html=render_to_string(f"emails/{name}-body.html", context),
        headers=headers,
        attachments=attachments,
    )
