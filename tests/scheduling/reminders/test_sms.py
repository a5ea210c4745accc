"""Text messages: a second channel beside email, through the same outbox, retries and failure list.

The provider is a local HTTP server speaking Twilio's shape (`http.server` in a thread);
SMS_URL points at it with `twilio+http://`. Sends run in-process through the sender, as a
worker runs them.
"""

from __future__ import annotations

import base64
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import Drug, Regimen
from scheduling.booking.services import booking_create
from scheduling.models import Reminder
from scheduling.reminders import dispatcher, sender
from scheduling.reminders.content import reminder_content
from scheduling.reminders.sms import MAX_LENGTH, gsm7, gsm7_length, provider_from_url, segments
from tests.helpers import book_directly, local, make_course
from tests.scheduling.answers.support import without_links
from tests.scheduling.reminders.support import visit_day

pytestmark = pytest.mark.django_db

Status = Reminder.Status
PHONE = "+447700900123"


class Provider:
    """What the stand-in provider received, and the status codes it answers with, in turn (then 201)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[int] = []


@pytest.fixture
def provider(settings):
    received = Provider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length", 0))
            form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
            received.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "form": form})
            status = received.answers.pop(0) if received.answers else 201
            body = b'{"sid": "SM123"}' if status < 300 else b'{"message": "Service unavailable"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SMS_SECRET_URL = f"twilio+http://ACtest:s3cret@127.0.0.1:{server.server_port}?from=%2B15550001111"
    settings.SMS_ENABLED = True
    yield received
    server.shutdown()
    server.server_close()


def _forbidden() -> list[str]:
    words = [name for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name)]
    words += [regimen.name for regimen in Regimen.objects.all()] + ["mg", "sclerosis", "infusion of"]
    return [word.lower() for word in words]


def _send(row: Reminder, *, now=None) -> str:
    """Claim the row as the minute scan does, then send it as the worker does."""
    dispatcher.reminders_dispatch_due(now=now or timezone.now(), enqueue=lambda reminder_id: None)
    assert Reminder.objects.get(pk=row.pk).status == Status.SENDING
    return sender.reminder_deliver(reminder_id=row.pk)


@pytest.fixture
def texted_visit(clinic_a, front_desk, provider):
    return _visit(clinic_a, front_desk)


def _visit(clinic, front_desk):
    """A visit booked 10 days ahead for Robin, who wants texts as well as emails."""
    day = visit_day(clinic)
    course = make_course(clinic, start=day, first_name="Robin", email="robin@patients.example.org", phone=PHONE)
    course.patient.sms_consent = True
    course.patient.save(update_fields=["sms_consent"])
    return booking_create(
        course=course,
        chair=clinic.chairs.order_by("position").first(),
        starts_at=local(clinic, day, 10),
        booked_by=front_desk,
    )


def test_a_patient_who_wants_texts_gets_each_message_once_on_each_channel(texted_visit, provider):
    rows = Reminder.objects.filter(appointment=texted_visit)
    by_channel = {
        channel: sorted(rows.filter(channel=channel).values_list("kind", flat=True)) for channel in ("email", "sms")
    }
    assert (
        by_channel["email"]
        == by_channel["sms"]
        == sorted(["booking_confirmed", "appointment_upcoming", "appointment_upcoming"])
    )

    text_row = rows.get(kind=Reminder.Kind.BOOKING_CONFIRMED, channel="sms")
    assert _send(text_row) == sender.SENT
    assert len(provider.requests) == 1
    request = provider.requests[0]
    assert request["path"] == "/2010-04-01/Accounts/ACtest/Messages.json"
    assert base64.b64decode(request["auth"].split()[1]).decode() == "ACtest:s3cret"
    assert request["form"]["To"] == PHONE and request["form"]["From"] == "+15550001111"
    body = request["form"]["Body"]
    assert body.startswith("Robin, you are booked at Northside Infusion Centre: ")
    assert body.count("/a/") == 3 and gsm7_length(body) <= MAX_LENGTH
    assert texted_visit.patient.last_name.lower() not in body.lower()
    assert not [word for word in _forbidden() if word in without_links(body).lower()]
    text_row.refresh_from_db()
    assert text_row.status == Status.SENT

    # Sent is sent: the same row delivered again sends nothing.
    assert sender.reminder_deliver(reminder_id=text_row.pk) == sender.SKIPPED
    assert len(provider.requests) == 1


def test_a_5xx_from_the_provider_is_retried_and_then_sent(texted_visit, provider):
    provider.answers = [503]
    row = Reminder.objects.get(appointment=texted_visit, kind=Reminder.Kind.BOOKING_CONFIRMED, channel="sms")
    assert _send(row) == sender.RETRY
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "503" in row.last_error and "Robin" not in row.last_error

    assert _send(row, now=timezone.now() + timedelta(minutes=2)) == sender.SENT
    assert len(provider.requests) == 2
    row.refresh_from_db()
    assert row.status == Status.SENT


def test_a_text_that_keeps_failing_is_failed_and_listed_for_staff(clinic_a, manager, provider, client):
    provider.answers = [500] * 5
    course = make_course(clinic_a, first_name="Robin", phone=PHONE, email="")
    course.patient.sms_consent = True
    course.patient.save(update_fields=["sms_consent"])
    appointment = book_directly(course=course, starts_at=timezone.now() + timedelta(seconds=30))
    row = Reminder.objects.create(
        clinic=clinic_a,
        patient=course.patient,
        appointment=appointment,
        course=course,
        kind=Reminder.Kind.APPOINTMENT_UPCOMING,
        channel=Reminder.Channel.SMS,
        key=Reminder.channel_key(Reminder.upcoming_key(appointment, 1), "sms"),
        due_at=timezone.now() - timedelta(minutes=1),
    )
    # The one retry there is time for would come after the visit began: failed now.
    assert _send(row) == sender.FAILED
    row.refresh_from_db()
    assert row.status == Status.FAILED and "500" in row.last_error

    client.force_login(manager)
    page = client.get(reverse("scheduling:reminders_failed")).content.decode()
    assert "Text message" in page and course.patient.full_name in page


def test_texts_stop_when_the_patient_withdraws_text_consent(texted_visit, provider):
    row = Reminder.objects.get(appointment=texted_visit, kind=Reminder.Kind.BOOKING_CONFIRMED, channel="sms")
    patient = texted_visit.patient
    patient.sms_consent = False
    patient.save(update_fields=["sms_consent"])
    assert _send(row) == sender.CANCELLED
    row.refresh_from_db()
    assert row.last_error == "The patient does not want text message reminders."
    assert provider.requests == []


def test_the_file_backend_writes_a_text_a_person_can_read(texted_visit, settings, tmp_path):
    settings.SMS_SECRET_URL = f"file://{tmp_path}"
    settings.SMS_ENABLED = True
    row = Reminder.objects.get(appointment=texted_visit, kind=Reminder.Kind.BOOKING_CONFIRMED, channel="sms")
    assert _send(row) == sender.SENT
    (written,) = tmp_path.iterdir()
    text = written.read_text(encoding="utf-8")
    assert text.startswith(f"To: {PHONE}\nSegments: 2\n\nRobin, you are booked at Northside Infusion Centre")
    assert "Confirm: " in text


def test_a_real_confirmation_text_fits_with_a_long_clinic_name(clinic_a, front_desk, settings):
    settings.SMS_ENABLED = True
    clinic_a.name = "Saint Bartholomew's Regional Neurology & Neuro-Immunology Infusion Day Unit – East Wing, Level 4"
    clinic_a.save(update_fields=["name"])
    visit = _visit(clinic_a, front_desk)
    row = Reminder.objects.get(appointment=visit, kind=Reminder.Kind.BOOKING_CONFIRMED, channel="sms")
    text = reminder_content(row).text
    assert gsm7_length(text) <= MAX_LENGTH and text.count("/a/") == 3
    assert "–" not in text  # made plain: one non-GSM character would make it a UCS-2 text


def test_gsm7_makes_other_letters_plain_and_counts_extension_characters_twice():
    assert gsm7("Łódź “Infusion” – Suite…") == 'Lodz "Infusion" - Suite...'
    assert gsm7_length("[€]") == 6
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2


def test_sms_url_names_the_provider(tmp_path):
    twilio = provider_from_url("twilio://AC1:tok@api.twilio.com?from=+15550001111")
    assert (twilio.base_url, twilio.account_sid, twilio.auth_token, twilio.sender) == (
        "https://api.twilio.com",
        "AC1",
        "tok",
        "+15550001111",
    )
    assert provider_from_url(f"file://{tmp_path}").directory == tmp_path
    with pytest.raises(ValueError, match="unknown scheme"):
        provider_from_url("carrier-pigeon://x")
