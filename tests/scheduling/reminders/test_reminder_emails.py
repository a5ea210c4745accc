"""Reminder emails: what the patient reads, the calendar file, and the unsubscribe link."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from clinic.models import Drug, Regimen, RegimenPhase
from scheduling.models import Appointment, ChairOpening, Reminder, SlotOffer
from scheduling.reminders import planner
from scheduling.reminders.channels import email_message
from scheduling.reminders.content import unsubscribe_url
from scheduling.reminders.outbox import booking_messages, offer_message
from scheduling.reminders.sender import reminder_content_at
from tests.helpers import book, change, give, local, make_course
from tests.scheduling.answers.support import without_links

Kind = Reminder.Kind
Status = Reminder.Status


@pytest.fixture
def traveller():
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False) as machine:
        yield machine


def reminder_message(reminder: Reminder):
    """The email the sender would send for this row now."""
    return email_message(reminder_content_at(reminder, now=timezone.now()))


def forbidden_words() -> list[str]:
    """Every drug and regimen name and dose label Chairside knows, and words that give a diagnosis away."""
    words = {name.lower() for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name, drug.code)}
    words |= {regimen.name.lower() for regimen in Regimen.objects.all()}
    words |= {phase.dose_label.lower() for phase in RegimenPhase.objects.all()}
    words |= {"mg", "dose", "multiple sclerosis", "sclerosis", "infusion", "drug", "medication", "natalizumab"}
    return sorted(words)


def everything_in(message) -> str:
    parts = [message.subject, message.body] + [content for content, _type in message.alternatives]
    parts += [
        content.decode() if isinstance(content, bytes) else str(content)
        for _name, content, _type in message.attachments
    ]
    return "\n".join(parts)


def words_found(text: str) -> list[str]:
    import re

    lowered = text.lower()
    return [word for word in forbidden_words() if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered)]


@pytest.mark.django_db
def test_no_email_of_any_kind_names_a_drug_a_dose_or_a_diagnosis(clinic_a, traveller):
    # One patient per regimen, each with a booked visit, confirmed; one moved, one cancelled; a
    # no-show; due-soon, overdue and lab reminders.
    visits = []
    for number, regimen in enumerate(Regimen.objects.order_by("code")):
        course = make_course(clinic_a, regimen.code, start=date(2027, 3, 20))
        visits.append(book(course, local(clinic_a, 2027, 3, 20 + number % 5, 8 + number, 0), minutes=60))
        booking_messages(kind=Kind.BOOKING_CONFIRMED, appointments=[visits[-1]])
    moved = change(
        visits[0], starts_at=visits[0].starts_at + timedelta(days=1), ends_at=visits[0].ends_at + timedelta(days=1)
    )
    booking_messages(kind=Kind.APPOINTMENT_MOVED, appointments=[moved])
    booking_messages(
        kind=Kind.APPOINTMENT_CANCELLED, appointments=[change(visits[1], status=Appointment.Status.CANCELLED)]
    )
    no_show = make_course(clinic_a, "tysabri", start=date(2027, 2, 26))
    traveller.move_to(datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    change(book(no_show, local(clinic_a, 2027, 3, 1, 8, 0), minutes=60), status=Appointment.Status.NO_SHOW)
    due_soon = make_course(clinic_a, "ocrevus", start=date(2026, 9, 20))
    give(due_soon, date(2026, 9, 20), dose_number=1)
    give(due_soon, date(2026, 10, 4), dose_number=2)
    overdue = make_course(clinic_a, "tysabri", start=date(2027, 1, 5))
    give(overdue, date(2027, 1, 5))
    labs = make_course(clinic_a, "lemtrada", start=date(2027, 1, 4))
    for dose_number, day in enumerate(range(4, 9), start=1):
        give(labs, date(2027, 1, day), dose_number=dose_number, hour=14)
    planner.reminders_plan(now=datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    # An earlier time offered to a patient booked later, and the news that it was taken (rows written straight).
    later = book(make_course(clinic_a, "tysabri", start=date(2027, 3, 25)), local(clinic_a, 2027, 3, 26, 9, 0))
    freed = local(clinic_a, 2027, 3, 24, 15, 0)
    opening = ChairOpening.objects.create(
        clinic=clinic_a,
        chair=later.chair,
        starts_at=freed,
        ends_at=freed + timedelta(hours=2),
        cause="cancelled",
        freed_by=visits[1],
    )
    offer = SlotOffer.objects.create(
        opening=opening,
        patient=later.patient,
        course=later.course,
        dose_number=1,
        appointment=later,
        appointment_starts_at=later.starts_at,
        chair=later.chair,
        starts_at=freed,
        ends_at=freed + timedelta(hours=2),
        expires_at=freed - timedelta(hours=1),
    )
    offer_message(kind=Kind.SLOT_OFFER, offer=offer)
    offer_message(kind=Kind.SLOT_OFFER_TAKEN, offer=offer)

    rows = Reminder.objects.select_related("patient", "clinic", "appointment", "course")
    assert set(rows.values_list("kind", flat=True)) == set(Kind.values)
    for row in rows:
        message = reminder_message(row)
        # The clinic's own name ("Northside Infusion Centre") is where, not what; the tokens in
        # the unsubscribe and answer links are random letters.
        text = without_links(
            everything_in(message).replace(clinic_a.name, "the clinic").replace(unsubscribe_url(row.patient), "")
        )
        assert words_found(text) == [], row.kind
        assert clinic_a.phone in message.body and clinic_a.name in message.body
        assert unsubscribe_url(row.patient) in message.body


@pytest.mark.django_db
def test_the_appointment_email_says_when_and_where_in_the_clinic_time_zone(clinic_b, traveller):
    course = make_course(clinic_b, "tysabri", first_name="Jo")
    appointment = book(course, local(clinic_b, 2027, 3, 16, 10, 30), minutes=120)
    row = Reminder.objects.filter(appointment=appointment).earliest("due_at")

    message = reminder_message(row)
    assert message.to == [course.patient.email]
    assert message.subject == f"Your appointment at {clinic_b.name}: Tuesday 16 March 2027 at 10:30"
    assert "Dear Jo," in message.body
    assert "Tuesday 16 March 2027 at 10:30 (America/New_York time)" in message.body
    assert clinic_b.address in message.body and clinic_b.phone in message.body
    assert "about 2 hours" in message.body
    html = message.alternatives[0][0]
    assert "Tuesday 16 March 2027 at 10:30" in html and "<strong>" in html

    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype) == ("appointment.ics", "text/calendar")
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2027, 3, 16, 14, 30, tzinfo=UTC)  # 10:30 EDT
    assert event.decoded("dtend") == datetime(2027, 3, 16, 16, 30, tzinfo=UTC)
    assert str(event["location"]) == clinic_b.address
    assert str(event["summary"]) == f"Appointment at {clinic_b.name}"


@pytest.mark.django_db
def test_a_moved_appointment_keeps_its_calendar_uid(clinic_a, traveller):
    appointment = book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    first = Calendar.from_ical(reminder_message(Reminder.objects.earliest("due_at")).attachments[0][1])
    change(appointment, starts_at=local(clinic_a, 2027, 3, 24, 14, 0), ends_at=local(clinic_a, 2027, 3, 24, 18, 0))
    moved = Reminder.objects.filter(status=Status.PENDING).earliest("due_at")
    second = Calendar.from_ical(reminder_message(moved).attachments[0][1])
    assert first.walk("VEVENT")[0]["uid"] == second.walk("VEVENT")[0]["uid"]
    assert second.walk("VEVENT")[0].decoded("dtstart") == local(clinic_a, 2027, 3, 24, 14, 0)


@pytest.mark.django_db
def test_the_email_carries_one_click_unsubscribe_headers(clinic_a, traveller):
    book(make_course(clinic_a), local(clinic_a, 2027, 3, 17, 10, 30))
    row = Reminder.objects.earliest("due_at")
    message = reminder_message(row)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url(row.patient)}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url(row.patient).startswith(settings.SITE_URL + "/scheduling/reminders/unsubscribe/")


@pytest.mark.django_db
def test_the_unsubscribe_link_needs_no_login_and_asks_before_it_acts(clinic_a, traveller):
    course = make_course(clinic_a)
    book(course, local(clinic_a, 2027, 3, 17, 10, 30))
    url = unsubscribe_url(course.patient).split("://", 1)[1].split("/", 1)[1]
    anonymous = Client(enforce_csrf_checks=True)

    page = anonymous.get(f"/{url}")
    assert page.status_code == 200
    assert b"Stop reminder emails" in page.content
    assert course.patient.last_name.encode() not in page.content
    course.patient.refresh_from_db()
    assert course.patient.unsubscribed_at is None  # a link scanner's GET changes nothing

    done = anonymous.post(f"/{url}")
    assert done.status_code == 200 and b"Reminder emails stopped" in done.content
    course.patient.refresh_from_db()
    assert course.patient.unsubscribed_at == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    assert not Reminder.objects.filter(status__in=(Status.PENDING, Status.SENDING)).exists()
    assert b"already turned off" in anonymous.get(f"/{url}").content


@pytest.mark.django_db
def test_a_mail_client_one_click_post_unsubscribes(clinic_a, traveller):
    course = make_course(clinic_a)
    url = "/" + unsubscribe_url(course.patient).split("://", 1)[1].split("/", 1)[1]
    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    course.patient.refresh_from_db()
    assert course.patient.unsubscribed_at is not None


@pytest.mark.django_db
def test_an_unsubscribe_link_that_names_no_one_says_what_to_do_in_every_language():
    response = Client().get(reverse("scheduling:reminders_unsubscribe", args=["nonsense"]))

    assert response.status_code == 400
    page = response.content.decode()
    assert "Open it again from the email, or call your clinic and ask them to stop reminder emails." in page
    assert "Ábralo de nuevo desde el correo, o llame a su clínica y pida que dejen de enviarle recordatorios" in page
    assert "text message" not in page and "SMS" not in page


@pytest.mark.django_db
def test_a_tampered_unsubscribe_link_is_refused(clinic_a, traveller):
    course = make_course(clinic_a)
    other = make_course(clinic_a)
    token = unsubscribe_url(course.patient).rstrip("/").rsplit("/", 1)[1]
    signed_for_something_else = signing.dumps(other.patient.pk, salt="another purpose", compress=True)
    for bad in ("nonsense", signed_for_something_else, token[:-2]):
        response = Client().post(reverse("scheduling:reminders_unsubscribe", args=[bad]))
        assert response.status_code == 400
        assert b"This link is not valid" in response.content
    course.patient.refresh_from_db()
    other.patient.refresh_from_db()
    assert course.patient.unsubscribed_at is None and other.patient.unsubscribed_at is None


@pytest.mark.django_db
def test_a_due_soon_email_gives_the_target_date_and_asks_to_call(clinic_a, traveller):
    course = make_course(clinic_a, "tysabri", start=date(2027, 2, 8))
    give(course, date(2027, 2, 8))
    planner.reminders_plan(now=datetime(2027, 3, 1, 12, 0, tzinfo=UTC))
    message = reminder_message(Reminder.objects.get(kind=Kind.DOSE_DUE_SOON))
    assert message.subject == f"Time to book your next visit at {clinic_a.name}"
    assert "around Monday 8 March 2027" in message.body
    assert f"call us on {clinic_a.phone}" in message.body
    assert message.attachments == []
