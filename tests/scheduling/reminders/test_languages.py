"""A patient's messages and answer pages come in the patient's language, whatever the browser says.

Spanish here: the email's subject, text, HTML and calendar file, the texts, and the answer
pages; dates as Spanish writes them ("miércoles, 17 de marzo de 2027"), no English word of
the templates left, and still no drug.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from clinic.models import Chair, Drug, Regimen
from scheduling.booking.services import booking_cancel, booking_create, booking_reschedule
from scheduling.models import Reminder
from scheduling.reminders.channels import email_message
from scheduling.reminders.content import reminder_content
from scheduling.reminders.sender import reminder_content_at
from scheduling.reminders.sms import gsm7_length, segments
from tests.helpers import local, make_course
from tests.scheduling.answers.support import links_in, path

pytestmark = pytest.mark.django_db

Kind = Reminder.Kind
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
VISIT_DAY = date(2027, 3, 17)  # a Wednesday
PHONE = "+447700900123"
URL = re.compile(r"https?://[^\s\"'<>]+")
# Words of the English templates that a Spanish message must not keep.
ENGLISH = [
    "dear",
    "your appointment",
    "please",
    "booked",
    "calendar file",
    "when:",
    "where:",
    "wednesday",
    "march",
    " at 10:00",
    "reminder",
    "cancelled",
    "moved",
    "confirm here",
    "you receive",
    "stop reminder",
    "time)",
    "times are shown",
    'aria-label="main"',
]


@pytest.fixture(autouse=True)
def march_2027():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sms(settings):
    settings.SMS_ENABLED = True


@pytest.fixture
def chair(clinic_a):
    return Chair.objects.filter(clinic=clinic_a).order_by("position").first()


def _visit(clinic, chair, front_desk, *, language="es"):
    course = make_course(
        clinic, "ocrevus", start=VISIT_DAY, first_name="Lucía", phone=PHONE, sms_consent=True, language=language
    )
    return booking_create(course=course, chair=chair, starts_at=local(clinic, VISIT_DAY, 10), booked_by=front_desk)


def _content(row: Reminder):
    row = Reminder.objects.select_related("clinic", "patient", "appointment", "course").get(pk=row.pk)
    return reminder_content_at(row, now=timezone.now())


def _forbidden() -> list[str]:
    words = [name for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name)]
    return [word.lower() for word in words + [regimen.name for regimen in Regimen.objects.all()]]


def _words(text: str) -> str:
    """The message without its links (a random token may hold any letters), in lower case."""
    return URL.sub("", text).lower()


def _assert_spanish(text: str, *expected: str) -> None:
    words = _words(text)
    for phrase in expected:
        assert phrase.lower() in words, (phrase, text)
    assert not [word for word in ENGLISH if word in words], text
    assert not [word for word in _forbidden() if word in words], text


def test_a_spanish_speaking_patient_gets_the_confirmation_in_spanish(clinic_a, chair, front_desk):
    appointment = _visit(clinic_a, chair, front_desk)
    row = Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED, channel="email")
    message = email_message(_content(row))
    html = message.alternatives[0][0]

    assert message.subject == (f"Reservada: su cita en {clinic_a.name}: miércoles, 17 de marzo de 2027, a las 10:00")
    _assert_spanish(
        message.body,
        "Estimado/a Lucía:",
        "Su cita en Northside Infusion Centre está reservada.",
        "(hora de Europe/London)",
        "Cuente con aproximadamente",
        "¿Asistirá? Confírmelo aquí:",
        "Recibe estos recordatorios",
    )
    _assert_spanish(html, "Asistiré", "Pedir otra hora", "Dejar de recibir recordatorios por correo")
    assert '<html lang="es">' in html and message.extra_headers["Content-Language"] == "es"
    assert "<strong>miércoles, 17 de marzo de 2027, a las 10:00</strong>" in html
    (ics,) = [content for _name, content, mimetype in message.attachments if mimetype == "text/calendar"]
    (event,) = Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["summary"]) == f"Cita en {clinic_a.name}"
    assert str(event["description"]).startswith(f"Para cambiarla o cancelarla, llame a {clinic_a.name}")
    assert appointment.patient.last_name.lower() not in _words(message.body + html)


def test_the_reminder_before_the_visit_is_in_spanish(clinic_a, chair, front_desk):
    _visit(clinic_a, chair, front_desk)
    row = Reminder.objects.filter(kind=Kind.APPOINTMENT_UPCOMING, channel="email").order_by("due_at").first()
    content = _content(row)

    assert content.subject == f"Su cita en {clinic_a.name}: miércoles, 17 de marzo de 2027, a las 10:00"
    _assert_spanish(content.text, "Le recordamos su cita en", "Cuándo:", "Dónde:", "Si no puede venir")
    _assert_spanish(content.html, "Duración", "aproximadamente ")


def test_the_move_and_cancellation_notices_are_in_spanish(clinic_a, chair, front_desk):
    appointment = _visit(clinic_a, chair, front_desk)
    booking_reschedule(
        appointment=appointment, chair=chair, starts_at=local(clinic_a, date(2027, 3, 18), 11), by=front_desk
    )
    moved = _content(Reminder.objects.get(kind=Kind.APPOINTMENT_MOVED, channel="email"))
    assert moved.subject == f"Cambio: su cita en {clinic_a.name} es ahora el jueves, 18 de marzo de 2027, a las 11:00"
    _assert_spanish(moved.text, "Su cita en Northside Infusion Centre ha cambiado. La nueva hora:")

    appointment.refresh_from_db()
    booking_cancel(appointment=appointment, by=front_desk, reason="Clinic closed")
    cancelled = _content(Reminder.objects.get(kind=Kind.APPOINTMENT_CANCELLED, channel="email"))
    assert cancelled.subject == f"Cancelada: su cita en {clinic_a.name} del jueves, 18 de marzo de 2027, a las 11:00"
    _assert_spanish(cancelled.text, "Se ha cancelado su cita", "Llámenos al")
    (event,) = Calendar.from_ical(cancelled.attachments[0].content).walk("VEVENT")
    assert str(event["summary"]) == f"Cancelada: Cita en {clinic_a.name}"


def test_the_texts_are_in_spanish_and_in_gsm7(clinic_a, chair, front_desk, sms):
    appointment = _visit(clinic_a, chair, front_desk)
    text = _content(Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED, channel="sms")).text

    # GSM-7 keeps é and ñ; the letters it lacks (í, á, ó, ú) are made plain in a text.
    assert text.startswith("Lucia, tiene cita en Northside Infusion Centre: mié 17 mar 10:00.\nConfirmar: ")
    assert "Otra hora: " in text and "Cancelar: " in text
    assert gsm7_length(text) <= 306 and segments(text) <= 2
    _assert_spanish(text)
    assert len(links_in(text)) == 3

    booking_cancel(appointment=appointment, by=front_desk, reason="Clinic closed")
    text = _content(Reminder.objects.get(kind=Kind.APPOINTMENT_CANCELLED, channel="sms")).text
    assert text.startswith("Lucia, su cita en Northside Infusion Centre del mié 17 mar 10:00 esta cancelada.")
    assert "\nNo recibir SMS: http://" in text
    _assert_spanish(text)


def test_an_english_speaking_patient_still_gets_english(clinic_a, chair, front_desk, sms):
    _visit(clinic_a, chair, front_desk, language="en")
    email = _content(Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED, channel="email"))
    text = _content(Reminder.objects.get(kind=Kind.BOOKING_CONFIRMED, channel="sms")).text
    assert email.subject == f"Booked: your appointment at {clinic_a.name}: Wednesday 17 March 2027 at 10:00"
    assert text.startswith("Lucia, you are booked at Northside Infusion Centre: Wed 17 Mar 10:00.")


def test_the_answer_pages_follow_the_patients_language_not_the_browsers(clinic_a, chair, front_desk, sms):
    spanish = _visit(clinic_a, chair, front_desk)
    row = Reminder.objects.get(appointment=spanish, kind=Kind.BOOKING_CONFIRMED, channel="email")
    links = links_in(_content(row).text)
    browser = Client(headers={"accept-language": "en-GB,en;q=0.9"})

    page = browser.get(path(links["confirm"])).content.decode()
    assert '<html lang="es">' in page
    _assert_spanish(
        page,
        "Hola, Lucía. ¿Asistirá a su cita?",
        "Sí, asistiré",
        "Cuándo",
        "Dejar de recibir SMS",
        "zona horaria de cada clínica",
    )
    assert "will you come" not in page.lower()

    page = browser.get(path(links["cancel"])).content.decode()
    _assert_spanish(page, "¿Por qué cancela la cita? (opcional)", "Cancelar mi cita")
    response = browser.post(path(links["cancel"]), {"purpose": "cancel", "note": "x" * 1001})
    assert response.status_code == 400
    _assert_spanish(response.content.decode(), "Escriba como máximo 1000 caracteres")

    response = browser.post(path(links["confirm"]), {"purpose": "confirm"})
    _assert_spanish(response.content.decode(), "Hemos anotado que asistirá el miércoles, 17 de marzo de 2027")
    used = browser.get(path(links["confirm"]))
    assert used.status_code == 410
    _assert_spanish(used.content.decode(), "Este enlace ya se ha usado.")

    english = _visit(clinic_a, Chair.objects.filter(clinic=clinic_a).order_by("position")[1], front_desk, language="en")
    row = Reminder.objects.get(appointment=english, kind=Kind.BOOKING_CONFIRMED, channel="email")
    token = links_in(_content(row).text)["confirm"]
    page = Client(headers={"accept-language": "es"}).get(path(token)).content.decode()
    assert "will you come to your appointment?" in page and "Asistirá" not in page


def test_a_link_that_names_no_patient_is_answered_in_every_language(client):
    page = client.get(path("NoSuchTokenHere0")).content.decode()
    assert "This link is not valid" in page and "Este enlace no es válido" in page


def test_the_dose_due_messages_are_in_spanish(clinic_a, sms):
    course = make_course(clinic_a, "ocrevus", first_name="Lucía", phone=PHONE, sms_consent=True, language="es")
    for channel in ("email", "sms"):
        row = Reminder.objects.create(
            clinic=clinic_a,
            patient=course.patient,
            course=course,
            kind=Kind.DOSE_DUE_SOON,
            channel=channel,
            key=Reminder.channel_key(Reminder.due_soon_key(course.pk, 1), channel),
            due_at=NOW,
        )
        content = reminder_content(row, due_date=date(2027, 4, 1))
        if channel == "email":
            assert content.subject == f"Es hora de reservar su próxima visita en {clinic_a.name}"
            _assert_spanish(content.text, "debería ser hacia el jueves, 1 de abril de 2027")
        else:
            assert content.text.startswith("Lucia, es hora de reservar su proxima cita en Northside Infusion Centre")
            assert "(hacia el jueves, 1 de abril de 2027)" in content.text and "No recibir SMS: " in content.text
            _assert_spanish(content.text)
