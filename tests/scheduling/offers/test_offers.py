"""Earlier-time offers: freed chair time offered to the patients whose next dose fits it, in order, a few at a
time; the first to take it is booked through the booking services, the others are told; offers end and the
next patients are asked; no message names a drug."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from clinic.models import Drug, Regimen
from scheduling.booking.services import booking_create
from scheduling.models import Appointment, AppointmentEvent, ChairOpening, Reminder, SlotOffer
from scheduling.offers.services import OfferAnswer, offer_accept, offer_decline, offers_advance
from scheduling.reminders.content import reminder_content
from tests.helpers import local
from tests.scheduling.offers.support import (
    LINK,
    booked_later,
    due_course,
    freed_opening,
    mark_offers_sent,
    offer_links,
    offer_row,
    opening_day,
    path,
    set_policy,
)

pytestmark = pytest.mark.django_db

Offer = SlotOffer.Status
Kind = Reminder.Kind


@pytest.fixture
def day(clinic_a):
    return opening_day(clinic_a)


def asked(opening) -> list[str]:
    return list(opening.offers.order_by("pk").values_list("patient__first_name", flat=True))


def test_a_cancelled_visit_is_offered_to_due_doses_longest_waiting_first_then_to_patients_booked_later_who_opted_in(
    clinic_a, front_desk, day
):
    set_policy(clinic_a, offers_at_once=10)
    due_course(clinic_a, day, days_into_window=2, first_name="Blake")
    due_course(clinic_a, day, days_into_window=5, first_name="Avery")
    due_course(clinic_a, day, days_into_window=-3, first_name="Early")  # window opens in 3 days
    due_course(clinic_a, day, days_into_window=9, first_name="Lapsed")  # window closed 2 days ago
    due_course(clinic_a, day, days_into_window=1, first_name="Silent", reminder_consent=False)  # takes no messages
    booked_later(clinic_a, day, front_desk, days_later=2, first_name="Near")
    booked_later(clinic_a, day, front_desk, days_later=6, first_name="Far")
    booked_later(clinic_a, day, front_desk, days_later=4, first_name="Content", opted_in=False)
    opening = freed_opening(clinic_a, day, front_desk)
    assert opening.status == ChairOpening.Status.NEW and opening.cause == ChairOpening.Cause.CANCELLED

    assert offers_advance() == 4

    opening.refresh_from_db()
    assert opening.status == ChairOpening.Status.OFFERING and opening.rounds == 1
    assert asked(opening) == ["Avery", "Blake", "Far", "Near"]
    for offer in opening.offers.all():
        assert (offer.chair_id, offer.starts_at) == (opening.chair_id, opening.starts_at)
        assert offer.ends_at - offer.starts_at == timedelta(hours=2)
        assert offer_row(offer).status == Reminder.Status.PENDING
    later = opening.offers.filter(appointment__isnull=False)
    assert {offer.patient.first_name for offer in later} == {"Far", "Near"}


def test_only_a_few_are_asked_at_once_and_the_next_when_the_offers_end(clinic_a, front_desk, day):
    set_policy(clinic_a, offers_at_once=2, offer_minutes=120)
    for index, name in enumerate(["Avery", "Blake", "Cody"]):
        due_course(clinic_a, day, days_into_window=5 - index, first_name=name)
    opening = freed_opening(clinic_a, day, front_desk)
    now = timezone.now()
    assert offers_advance(now=now) == 2
    assert asked(opening) == ["Avery", "Blake"]
    first = list(opening.offers.all())
    assert all(offer.expires_at == now + timedelta(minutes=120) for offer in first)

    assert offers_advance(now=now + timedelta(minutes=119)) == 0  # still waiting for an answer
    assert offers_advance(now=now + timedelta(minutes=121)) == 1
    assert asked(opening) == ["Avery", "Blake", "Cody"]
    assert {offer.status for offer in SlotOffer.objects.filter(pk__in=[item.pk for item in first])} == {Offer.EXPIRED}
    assert {offer_row(offer).status for offer in first} == {Reminder.Status.CANCELLED}  # never sent: too late now
    opening.refresh_from_db()
    assert opening.rounds == 2

    assert offers_advance(now=now + timedelta(minutes=250)) == 0
    opening.refresh_from_db()
    assert opening.status == ChairOpening.Status.CLOSED
    assert opening.outcome == "Nobody else's next dose fits this time."


def test_an_offer_never_lasts_past_the_start_of_its_time(clinic_a, front_desk, day):
    set_policy(clinic_a, offer_minutes=180)
    due_course(clinic_a, day, days_into_window=3, first_name="Avery")
    opening = freed_opening(clinic_a, day, front_desk, hour=11)
    morning = local(clinic_a, day, 9)
    with time_machine.travel(morning, tick=False):
        assert offers_advance(now=morning) == 1
    offer = opening.offers.get()
    assert offer.expires_at == offer.starts_at == local(clinic_a, day, 11)


def test_the_first_to_take_the_time_is_booked_and_the_others_are_told_it_was_taken(client, clinic_a, front_desk, day):
    for index, name in enumerate(["Avery", "Blake", "Cody"]):
        due_course(clinic_a, day, days_into_window=5 - index, first_name=name)
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    avery, blake, cody = opening.offers.order_by("pk")
    mark_offers_sent([avery, blake])  # Cody's offer is still waiting in the outbox

    page = client.get(path(offer_links(blake)["take_offer"]))
    assert page.status_code == 200 and "Take this time" in page.content.decode()
    response = client.post(path(offer_links(blake)["take_offer"]), {"purpose": "take_offer"})
    assert response.status_code == 200
    assert "this time is yours" in response.content.decode()

    blake.refresh_from_db()
    assert blake.status == Offer.ACCEPTED and blake.booked is not None
    booked = blake.booked
    assert (booked.chair_id, booked.starts_at, booked.status) == (opening.chair_id, opening.starts_at, "booked")
    assert booked.course == blake.course and booked.dose_number == 2
    assert AppointmentEvent.objects.filter(
        appointment=booked, reason="Booked by the patient from an offer of an earlier time."
    ).exists()
    assert Reminder.objects.filter(appointment=booked, kind=Kind.BOOKING_CONFIRMED).exists()
    opening.refresh_from_db()
    assert (opening.status, opening.filled_by) == (ChairOpening.Status.FILLED, booked)
    avery.refresh_from_db()
    cody.refresh_from_db()
    assert (avery.status, cody.status) == (Offer.TAKEN, Offer.TAKEN)
    # Avery read the offer, so Avery hears it was taken; Cody's offer was never sent, and nothing goes.
    assert offer_row(avery, Kind.SLOT_OFFER_TAKEN).status == Reminder.Status.PENDING
    assert not Reminder.objects.filter(key=Reminder.offer_taken_key(cody.pk)).exists()
    assert offer_row(cody).status == Reminder.Status.CANCELLED

    late = client.post(path(offer_links(avery)["take_offer"]), {"purpose": "take_offer"})
    assert late.status_code == 409
    assert "This time was taken by another patient" in late.content.decode()
    assert Appointment.objects.filter(course=avery.course).upcoming().count() == 0


def test_a_patient_booked_later_who_takes_it_is_moved_and_their_old_time_is_offered_in_turn(
    client, clinic_a, front_desk, day
):
    visit = booked_later(clinic_a, day, front_desk, days_later=5, first_name="Far")
    old = (visit.chair_id, visit.starts_at)
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    offer = opening.offers.get()
    assert offer.appointment == visit

    answer = offer_accept(token=offer_links(offer)["take_offer"])
    assert answer.outcome == OfferAnswer.BOOKED
    visit.refresh_from_db()
    assert (visit.chair_id, visit.starts_at) == (opening.chair_id, opening.starts_at)
    assert Appointment.objects.filter(course=visit.course).upcoming().count() == 1  # moved, not booked twice
    assert AppointmentEvent.objects.filter(appointment=visit, action=AppointmentEvent.Action.RESCHEDULED).exists()
    released = ChairOpening.objects.get(freed_by=visit, cause=ChairOpening.Cause.MOVED)
    assert (released.chair_id, released.starts_at) == old


def test_an_answer_that_no_longer_fits_the_booking_rules_leaves_the_patient_as_they_were(clinic_a, front_desk, day):
    course = due_course(clinic_a, day, days_into_window=3, first_name="Avery")
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    offer = opening.offers.get()
    # Booked meanwhile by the front desk, at another time the same day.
    booking_create(
        course=course,
        chair=clinic_a.chairs.order_by("position")[2],
        starts_at=local(clinic_a, day, 14),
        booked_by=front_desk,
    )

    answer = offer_accept(token=offer_links(offer)["take_offer"])
    assert answer.outcome == OfferAnswer.REFUSED
    assert "can no longer be booked for you" in answer.sentence
    offer.refresh_from_db()
    assert (
        offer.status == Offer.WITHDRAWN
        and offer.outcome == "Dose 2 is already booked. Reschedule that appointment instead."
    )
    assert Appointment.objects.filter(course=course).upcoming().count() == 1


def test_no_thanks_changes_nothing_and_the_next_patient_is_asked_at_once(client, clinic_a, front_desk, day):
    set_policy(clinic_a, offers_at_once=1)
    due_course(clinic_a, day, days_into_window=5, first_name="Avery")
    due_course(clinic_a, day, days_into_window=1, first_name="Blake")
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    avery = opening.offers.get()
    links = offer_links(avery)

    response = client.post(path(links["decline_offer"]), {"purpose": "decline_offer"})
    assert response.status_code == 200 and "do not want this time" in response.content.decode()
    avery.refresh_from_db()
    assert avery.status == Offer.DECLINED and avery.answered_at is not None
    assert asked(opening) == ["Avery", "Blake"]
    # The link is used, and the decline link does not take the time.
    assert client.post(path(links["decline_offer"]), {"purpose": "decline_offer"}).status_code == 410
    assert client.post(path(links["take_offer"]), {"purpose": "take_offer"}).status_code == 410
    assert not Appointment.objects.filter(course=avery.course).upcoming().exists()


def test_an_offer_cannot_be_taken_once_its_time_has_begun(client, clinic_a, front_desk, day):
    due_course(clinic_a, day, days_into_window=3, first_name="Avery")
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    offer = opening.offers.get()
    token = offer_links(offer)["take_offer"]
    with time_machine.travel(offer.starts_at + timedelta(minutes=1), tick=False):
        response = client.post(path(token), {"purpose": "take_offer"})
        assert response.status_code == 410
        assert "This offer has ended" in response.content.decode()
        assert offer_accept(token=token).outcome == OfferAnswer.REFUSED
    assert not Appointment.objects.filter(course=offer.course).upcoming().exists()
    offer.refresh_from_db()
    assert offer.status == Offer.OPEN  # the scan ends it as expired


def test_a_link_made_up_or_of_another_purpose_takes_nothing(client, clinic_a, front_desk, day):
    due_course(clinic_a, day, days_into_window=3, first_name="Avery")
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    offer = opening.offers.get()
    links = offer_links(offer)
    assert client.post(path(links["decline_offer"]), {"purpose": "take_offer"}).status_code == 410
    assert offer_decline(token=links["take_offer"]).outcome == OfferAnswer.REFUSED
    assert offer_accept(token="not-a-real-token0").outcome == OfferAnswer.REFUSED
    offer.refresh_from_db()
    assert offer.status == Offer.OPEN


def _drug_words() -> list[str]:
    words = [name for drug in Drug.objects.all() for name in (drug.brand_name, drug.generic_name)]
    words += [regimen.name for regimen in Regimen.objects.all()]
    return [word.lower() for word in words if word] + [" dose", "multiple sclerosis"]


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_the_offer_and_the_taken_news_name_no_drug_and_the_offer_carries_both_links(
    settings, clinic_a, front_desk, day, channel
):
    settings.SMS_ENABLED = True
    course = due_course(clinic_a, day, days_into_window=3, first_name="Avery", phone="+447700900123", sms_consent=True)
    due_course(clinic_a, day, days_into_window=1, first_name="Blake")
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    offer = opening.offers.get(course=course)
    content = reminder_content(offer_row(offer, channel=channel))
    text = " ".join([content.subject, content.text, content.html]).lower()
    assert len(LINK.findall(content.text)) == 2
    words = LINK.sub("", text)
    assert not [word for word in _drug_words() if word in words]
    assert course.patient.last_name.lower() not in words
    assert "avery" in words and clinic_a.name.lower()[:16] in words

    mark_offers_sent(opening.offers.all())
    other = opening.offers.exclude(pk=offer.pk).get()
    offer_accept(token=offer_links(other)["take_offer"])
    taken = reminder_content(offer_row(offer, Kind.SLOT_OFFER_TAKEN, channel=channel))
    text = " ".join([taken.subject, taken.text, taken.html]).lower()
    assert "taken" in text and not [word for word in _drug_words() if word in text]


ENGLISH_WORDS = {"your", "please", "appointment", "place", "time", "thanks", "offer", "taken", "take"}


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_a_spanish_speaking_patient_is_offered_the_time_told_it_was_taken_and_answers_in_spanish(
    settings, client, clinic_a, front_desk, day, channel
):
    settings.SMS_ENABLED = True
    texts = {"phone": "+447700900123", "sms_consent": True}
    lucia = due_course(clinic_a, day, days_into_window=3, first_name="Lucía", language="es", **texts)
    due_course(clinic_a, day, days_into_window=1, first_name="Blake", **texts)
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    offer = opening.offers.get(course=lucia)
    content = reminder_content(offer_row(offer, channel=channel))
    words = set(
        re.findall(r"[a-záéíóúñ]+", LINK.sub("", " ".join([content.subject, content.text, content.html]).lower()))
    )
    assert {"plaza", "libre"} <= words and not ENGLISH_WORDS & words, content.text
    assert len(LINK.findall(content.text)) == 2

    page = client.get(path(offer_links(offer)["take_offer"])).content.decode()
    assert 'lang="es"' in page and "¿Desea esta hora?" in page and "Aceptar esta hora" in page
    assert "Duración" in page and "Take this time" not in page

    mark_offers_sent(opening.offers.all())
    blake = opening.offers.exclude(pk=offer.pk).get()
    offer_accept(token=offer_links(blake)["take_offer"])
    taken = reminder_content(offer_row(offer, Kind.SLOT_OFFER_TAKEN, channel=channel))
    words = set(re.findall(r"[a-záéíóúñ]+", " ".join([taken.subject, taken.text, taken.html]).lower()))
    assert "otro" in words and "paciente" in words and not ENGLISH_WORDS & words, taken.text
    late = client.post(path(offer_links(offer)["take_offer"]), {"purpose": "take_offer"})
    assert late.status_code == 409
    assert "Otro paciente acaba de tomar esta hora" in late.content.decode()


def test_the_front_desk_sees_their_clinic_s_offers_and_outcomes_only(
    client, clinic_a, clinic_b, front_desk, staff_b, day
):
    due_course(clinic_a, day, days_into_window=3, first_name="Avery")
    opening = freed_opening(clinic_a, day, front_desk)
    offers_advance()
    client.force_login(front_desk)
    page = client.get(reverse("scheduling:offers")).content.decode()
    assert f'id="opening-{opening.pk}"' in page and "Avery" in page and "waiting for an answer" in page

    offer_accept(token=offer_links(opening.offers.get())["take_offer"])
    page = client.get(reverse("scheduling:offers")).content.decode()
    assert "Taken from an offer" in page and "took the time" in page

    client.force_login(staff_b)
    page = client.get(reverse("scheduling:offers")).content.decode()
    assert f'id="opening-{opening.pk}"' not in page and "Avery" not in page


def test_a_no_show_and_a_move_free_their_time_and_a_visit_booked_does_not(clinic_a, front_desk, day):
    course = due_course(clinic_a, day, first_name="Avery")
    chair = clinic_a.chairs.order_by("position").first()
    visit = booking_create(course=course, chair=chair, starts_at=local(clinic_a, day, 10), booked_by=front_desk)
    assert not ChairOpening.objects.exists()
    from scheduling.booking.services import booking_mark_no_show, booking_reschedule

    booking_reschedule(appointment=visit, chair=chair, starts_at=local(clinic_a, day, 13), by=front_desk)
    moved = ChairOpening.objects.get()
    assert (moved.cause, moved.starts_at, moved.ends_at) == (
        "moved",
        local(clinic_a, day, 10),
        local(clinic_a, day, 12),
    )
    with time_machine.travel(local(clinic_a, day, 13, 30), tick=False):
        booking_mark_no_show(appointment=visit, by=front_desk)
    missed = ChairOpening.objects.get(cause="no_show")
    assert (missed.starts_at, missed.ends_at) == (local(clinic_a, day, 13, 30), local(clinic_a, day, 15))


def test_beat_runs_the_offer_scan_every_minute_and_the_task_asks_the_patients(settings, clinic_a, front_desk, day):
    from scheduling import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["offers-advance"]
    assert entry["task"] == tasks.offers_advance.name == "scheduling.tasks.offers_advance"
    assert entry["schedule"] == timedelta(seconds=60)
    due_course(clinic_a, day, days_into_window=3, first_name="Avery")
    opening = freed_opening(clinic_a, day, front_desk)
    assert tasks.offers_advance() == 1
    assert asked(opening) == ["Avery"]
    assert tasks.offers_advance() == 0  # asked once: the offer is waiting for an answer
