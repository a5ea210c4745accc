"""The links in a patient's message: confirm, cancel, ask for another time, with no login.

GET shows the question, only a POST with its CSRF token acts; a link does one thing, for one
visit at one time, once, and never after the visit has begun. The pages give the clinic, the
time and the first name: no surname, no drug, no MRN.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.test import Client
from django.urls import reverse

from clinic.models import Drug, Regimen
from scheduling.booking.services import booking_reschedule
from scheduling.models import AnswerLink, Appointment, AppointmentEvent, PatientAnswer
from scheduling.reminders.answer_links import answer_urls
from scheduling.roster.selectors import roster_for_day
from scheduling.worklist.selectors import worklist_rows
from tests.scheduling.answers.support import confirmation_links, path
from tests.scheduling.reminders.support import booked_visit

pytestmark = pytest.mark.django_db

Status = Appointment.Status


@pytest.fixture
def visit(clinic_a, front_desk):
    return booked_visit(clinic_a, front_desk, first_name="Robin")


def _forbidden_words(appointment) -> list[str]:
    words = [appointment.patient.last_name, appointment.patient.mrn]
    words += [name for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name)]
    words += [regimen.name for regimen in Regimen.objects.all()]
    return [word.lower() for word in words if word]


def test_the_confirmation_carries_three_links_and_each_page_shows_the_first_name_only(client, visit):
    links = confirmation_links(visit)
    for token in links.values():
        response = client.get(path(token))
        assert response.status_code == 200
        page = response.content.decode().lower()
        assert "robin" in page and visit.clinic.name.lower() in page and "10:00" in page
        assert not [word for word in _forbidden_words(visit) if word in page]
    assert not PatientAnswer.objects.exists()  # looking acts on nothing


def test_confirming_works_once_and_the_roster_shows_it(client, visit):
    token = confirmation_links(visit)["confirm"]
    response = client.post(path(token), {"purpose": "confirm"})
    assert response.status_code == 200
    assert "We have noted that you will come" in response.content.decode()
    answer = PatientAnswer.objects.get()
    assert answer.kind == PatientAnswer.Kind.CONFIRMED and answer.appointment == visit and len(answer.ip_hash) == 64
    assert AppointmentEvent.objects.filter(
        appointment=visit, reason="Attendance confirmed by the patient from the message."
    ).exists()
    day = visit.starts_at.astimezone(visit.clinic.tz).date()
    (shown,) = [item for item in roster_for_day(clinic=visit.clinic, day=day).visits if item.pk == visit.pk]
    assert shown.confirmed

    again = client.post(path(token), {"purpose": "confirm"})
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert PatientAnswer.objects.count() == 1


def test_a_link_does_only_its_own_purpose(client, visit):
    token = confirmation_links(visit)["confirm"]
    response = client.post(path(token), {"purpose": "cancel", "note": "sneaky"})
    assert response.status_code == 409
    assert "cannot do that" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED
    assert not PatientAnswer.objects.exists()


def test_a_link_acts_on_its_own_appointment_only(client, clinic_a, front_desk, visit):
    other = booked_visit(clinic_a, front_desk, first_name="Sam", chair=clinic_a.chairs.order_by("position")[1])
    other_links = confirmation_links(other)
    response = client.post(path(other_links["cancel"]), {"purpose": "cancel"})
    assert response.status_code == 200
    visit.refresh_from_db()
    other.refresh_from_db()
    assert (visit.status, other.status) == (Status.BOOKED, Status.CANCELLED)
    # Visit A's page never shows visit B's patient, and a token made up is no link at all.
    assert "Sam" not in client.get(path(confirmation_links(visit)["confirm"])).content.decode()
    assert client.get(path("not-a-real-token0")).status_code == 404


def test_a_link_stops_working_once_the_visit_has_started(client, visit):
    token = confirmation_links(visit)["confirm"]
    with time_machine.travel(visit.starts_at + timedelta(seconds=1), tick=False):
        response = client.post(path(token), {"purpose": "confirm"})
        assert response.status_code == 410
        assert "already started" in response.content.decode()
        assert client.get(path(token)).status_code == 410
    assert not PatientAnswer.objects.exists()


def test_a_moved_visit_s_old_link_does_not_act_on_the_new_time(client, visit, front_desk):
    old = confirmation_links(visit)
    moved = booking_reschedule(
        appointment=visit, chair=visit.chair, starts_at=visit.starts_at + timedelta(hours=1), by=front_desk
    )
    response = client.post(path(old["cancel"]), {"purpose": "cancel"})
    assert response.status_code == 410
    assert "has moved" in response.content.decode()
    moved.refresh_from_db()
    assert moved.status == Status.BOOKED
    # The move notice carries links for the new time, and those work.
    new = answer_urls(moved)
    assert new["cancel"] != old["cancel"]
    token = AnswerLink.objects.get(appointment=moved, purpose="confirm", starts_at=moved.starts_at).token
    assert client.post(path(token), {"purpose": "confirm"}).status_code == 200
    assert PatientAnswer.objects.get().starts_at == moved.starts_at


def test_cancelling_goes_through_the_booking_service_and_tells_the_front_desk(client, visit, front_desk):
    token = confirmation_links(visit)["cancel"]
    response = client.post(path(token), {"purpose": "cancel", "note": "I have a cold"})
    assert response.status_code == 200
    visit.refresh_from_db()
    assert visit.status == Status.CANCELLED
    event = AppointmentEvent.objects.get(appointment=visit, action=AppointmentEvent.Action.CANCELLED)
    assert event.reason == "Cancelled by the patient from the message. Their words: I have a cold"
    assert event.by is None
    # The chair is free at once: the same slot books again.
    assert not Appointment.objects.active().filter(chair=visit.chair, starts_at=visit.starts_at).exists()
    # The dose is due again on the worklist.
    assert visit.course_id in {row.course.pk for row in worklist_rows(clinics=[visit.clinic], weeks=52)}

    staff = Client()
    staff.force_login(front_desk)
    page = staff.get(reverse("scheduling:worklist")).content.decode()
    assert "Patient answers" in page and "I have a cold" in page and visit.patient.last_name in page


def test_asking_for_another_time_keeps_the_visit_and_puts_the_note_before_the_front_desk(client, visit, front_desk):
    token = confirmation_links(visit)["other_time"]
    response = client.post(path(token), {"purpose": "other_time", "note": "Mornings after 11 please"})
    assert response.status_code == 200
    visit.refresh_from_db()
    assert visit.status == Status.BOOKED
    answer = PatientAnswer.objects.get()
    assert (answer.kind, answer.note) == (PatientAnswer.Kind.OTHER_TIME, "Mornings after 11 please")

    staff = Client()
    staff.force_login(front_desk)
    assert "Mornings after 11 please" in staff.get(reverse("scheduling:worklist")).content.decode()
    done = staff.post(reverse("scheduling:patient_answer_handled", args=[answer.pk]))
    assert done.status_code == 302
    assert "Mornings after 11 please" not in staff.get(reverse("scheduling:worklist")).content.decode()
    answer.refresh_from_db()
    assert answer.handled_by == front_desk


def test_only_a_post_with_its_csrf_token_acts(visit):
    token = confirmation_links(visit)["confirm"]
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(path(token), {"purpose": "confirm"}).status_code == 403
    assert not PatientAnswer.objects.exists()


def test_too_many_tries_at_one_link_get_429_and_a_sentence(client, visit, settings):
    settings.ANSWER_RATE_LIMITS = {"link": (3, 600), "address": (100, 600)}
    token = confirmation_links(visit)["confirm"]
    assert [client.get(path(token)).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(path(token))
    assert response.status_code == 429
    assert "opened too many times in a short while" in response.content.decode()
    # Even a POST is turned away: nothing is recorded.
    assert client.post(path(token), {"purpose": "confirm"}).status_code == 429
    assert not PatientAnswer.objects.exists()


def test_too_many_tries_from_one_address_get_429_whatever_the_token(client, settings):
    settings.ANSWER_RATE_LIMITS = {"link": (100, 600), "address": (5, 600)}
    codes = [client.get(path(f"guess{number:012d}")).status_code for number in range(7)]
    assert codes == [404] * 5 + [429] * 2
    assert Client(REMOTE_ADDR="192.0.2.7").get(path("guess000000000000")).status_code == 404


def test_every_view_and_every_answer_is_in_the_audit_trail(client, visit):
    token = confirmation_links(visit)["confirm"]
    client.get(path(token), REMOTE_ADDR="198.51.100.4")
    client.post(path(token), {"purpose": "confirm"}, REMOTE_ADDR="198.51.100.4")
    link = AnswerLink.objects.get(token=token)
    entries = LogEntry.objects.get_for_object(link)
    assert entries.filter(action=LogEntry.Action.ACCESS, remote_addr="198.51.100.4").count() == 2
    assert entries.filter(action=LogEntry.Action.UPDATE).exists()  # used up
    assert token not in str(list(entries.values_list("changes", flat=True)))
    assert LogEntry.objects.get_for_object(PatientAnswer.objects.get()).filter(action=LogEntry.Action.CREATE).exists()
