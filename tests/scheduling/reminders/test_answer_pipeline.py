"""Answering from a real message: a Celery worker on Redis sends the confirmation (or an offer of an
earlier time) to a real SMTP server (aiosmtpd), and the links in the email that arrived are followed.

As in test_reminder_pipeline.py, the worker is a separate process on the test database, so
the rows are committed (`transaction=True`).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scheduling.models import AnswerLink, Appointment, PatientAnswer, Reminder, SlotOffer
from scheduling.offers.services import offers_advance
from tests.scheduling.answers.support import links_in, path
from tests.scheduling.offers.support import LINK, due_course, freed_opening, offer_row, opening_day
from tests.scheduling.reminders.support import booked_visit, scan_at, status_of, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

Status = Appointment.Status


def _emailed_links(mailbox, count: int, to: str) -> dict[str, str]:
    messages = mailbox.wait_for(count)
    (message,) = [item for item in messages if item["To"] == to and item["Subject"].startswith("Booked")]
    return links_in(message.get_body(("plain",)).get_content())


def test_the_links_in_a_sent_confirmation_confirm_once_cancel_through_the_service_and_ask_for_another_time(
    clinic_a, front_desk, smtp_server, worker
):
    _controller, mailbox = smtp_server
    worker.start()
    chairs = list(clinic_a.chairs.order_by("position"))
    robin = booked_visit(clinic_a, front_desk, first_name="Robin", chair=chairs[0])
    sam = booked_visit(clinic_a, front_desk, first_name="Sam", chair=chairs[1])
    kim = booked_visit(clinic_a, front_desk, first_name="Kim", chair=chairs[2], hour=13)
    assert scan_at(timezone.now()) == 3
    assert len(mailbox.wait_for(3)) == 3
    robin_links = _emailed_links(mailbox, 3, "robin@patients.example.org")
    sam_links = _emailed_links(mailbox, 3, "sam@patients.example.org")
    kim_links = _emailed_links(mailbox, 3, "kim@patients.example.org")
    patient = Client()

    # Confirm: once, for Robin's visit only.
    assert patient.post(path(robin_links["confirm"]), {"purpose": "confirm"}).status_code == 200
    assert patient.post(path(robin_links["confirm"]), {"purpose": "confirm"}).status_code == 410
    assert list(PatientAnswer.objects.values_list("appointment_id", "kind")) == [(robin.pk, "confirmed")]
    # Not after the start: Sam's confirm link, opened once the visit has begun.
    with time_machine.travel(sam.starts_at + timedelta(minutes=1), tick=False):
        late = patient.post(path(sam_links["confirm"]), {"purpose": "confirm"})
    assert late.status_code == 410 and "already started" in late.content.decode()

    # Cancel: through the booking service; the chair is free at once and the patient is told.
    response = patient.post(path(sam_links["cancel"]), {"purpose": "cancel", "note": "Moving house"})
    assert response.status_code == 200
    sam.refresh_from_db()
    assert sam.status == Status.CANCELLED
    replacement = booked_visit(clinic_a, front_desk, first_name="Lee", chair=chairs[1])
    assert (replacement.chair, replacement.starts_at) == (sam.chair, sam.starts_at)
    notice = Reminder.objects.get(appointment=sam, kind=Reminder.Kind.APPOINTMENT_CANCELLED)
    assert scan_at(timezone.now()) == 2  # Sam's cancellation notice, Lee's confirmation
    assert wait_until(lambda: status_of(notice) == Reminder.Status.SENT)
    assert any(item["Subject"].startswith("Cancelled") for item in mailbox.wait_for(5))

    # Another time: the visit stays; the note is on the front desk's worklist.
    assert (
        patient.post(path(kim_links["other_time"]), {"purpose": "other_time", "note": "Fridays only"}).status_code
        == 200
    )
    kim.refresh_from_db()
    assert kim.status == Status.BOOKED
    desk = Client()
    desk.force_login(front_desk)
    page = desk.get(reverse("scheduling:worklist")).content.decode()
    assert "Fridays only" in page and "Moving house" in page
    # No link acted on a visit but its own.
    robin.refresh_from_db()
    assert robin.status == Status.BOOKED
    assert set(PatientAnswer.objects.values_list("appointment_id", "kind")) == {
        (robin.pk, "confirmed"),
        (sam.pk, "cancelled"),
        (kim.pk, "other_time"),
    }


def test_an_earlier_time_offer_is_sent_taken_from_the_email_and_the_other_patient_hears_it_was_taken(
    clinic_a, front_desk, smtp_server, worker
):
    _controller, mailbox = smtp_server
    worker.start()
    day = opening_day(clinic_a)
    due_course(clinic_a, day, days_into_window=4, first_name="Avery")
    due_course(clinic_a, day, days_into_window=2, first_name="Blake")
    opening = freed_opening(clinic_a, day, front_desk)
    assert scan_at(timezone.now()) == 1  # the cancelled patient's notice
    mailbox.wait_for(1)

    assert offers_advance() == 2
    assert scan_at(timezone.now()) == 2
    messages = mailbox.wait_for(3)
    offers = {message["To"]: message for message in messages if message["Subject"].startswith("An earlier time")}
    assert set(offers) == {"avery@patients.example.org", "blake@patients.example.org"}
    body = offers["blake@patients.example.org"].get_body(("plain",)).get_content()
    tokens = dict(AnswerLink.objects.filter(token__in=LINK.findall(body)).values_list("purpose", "token"))
    assert set(tokens) == {"take_offer", "decline_offer"}
    assert all(
        wait_until(lambda offer=offer: status_of(offer_row(offer)) == Reminder.Status.SENT)
        for offer in opening.offers.all()
    )

    response = Client().post(path(tokens["take_offer"]), {"purpose": "take_offer"})
    assert response.status_code == 200 and "this time is yours" in response.content.decode()
    blake = opening.offers.get(patient__first_name="Blake")
    blake.refresh_from_db()
    assert blake.status == SlotOffer.Status.ACCEPTED
    assert (blake.booked.chair_id, blake.booked.starts_at) == (opening.chair_id, opening.starts_at)

    assert scan_at(timezone.now()) == 2  # Blake's booking confirmation, Avery's news that the time was taken
    messages = mailbox.wait_for(5)
    subjects = {(message["To"], message["Subject"].split(":")[0]) for message in messages[3:]}
    assert ("blake@patients.example.org", "Booked") in subjects
    (taken,) = [message for message in messages[3:] if message["To"] == "avery@patients.example.org"]
    assert "has been taken" in taken["Subject"]
    assert "Nothing has changed for you" in taken.get_body(("plain",)).get_content()
