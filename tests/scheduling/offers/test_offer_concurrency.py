"""Twenty patients take the same offered time at the same moment: exactly one is booked, the others are told.

Real threads, each with its own PostgreSQL connection, released together by a barrier so their
transactions overlap (as in tests/scheduling/booking/test_booking_concurrency.py). The opening's
row lock queues the answers; the booking services' checks and the exclusion constraints are the
last word on the chair and the patients.
"""

from __future__ import annotations

import pytest
from django.db.models import Count

from clinic.roles import sync_roles
from scheduling.models import Appointment, ChairOpening, Reminder, SlotOffer
from scheduling.offers.services import OfferAnswer, offer_accept, offers_advance
from tests.helpers import ensure_formulary
from tests.scheduling.booking.test_booking_concurrency import run_together
from tests.scheduling.offers.support import (
    due_course,
    freed_opening,
    mark_offers_sent,
    offer_links,
    offer_row,
    opening_day,
    set_policy,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PATIENTS = 20


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    ensure_formulary()
    sync_roles()


def test_twenty_patients_taking_the_same_time_at_once_book_it_exactly_once_and_the_others_are_told(
    clinic_a, front_desk
):
    day = opening_day(clinic_a)
    set_policy(clinic_a, offers_at_once=PATIENTS)
    for index in range(PATIENTS):
        due_course(clinic_a, day, days_into_window=index % 7, first_name=f"Patient{index:02d}")
    opening = freed_opening(clinic_a, day, front_desk)
    assert offers_advance() == PATIENTS
    offers = list(opening.offers.order_by("pk"))
    mark_offers_sent(offers)
    tokens = [offer_links(offer)["take_offer"] for offer in offers]

    outcomes = run_together(PATIENTS, lambda index: offer_accept(token=tokens[index]))

    assert [kind for kind, _value in outcomes].count("booked") == PATIENTS, outcomes  # no error escaped
    answers = [value for _kind, value in outcomes]
    booked = [answer for answer in answers if answer.outcome == OfferAnswer.BOOKED]
    assert len(booked) == 1, [answer.outcome for answer in answers]
    taken = [answer for answer in answers if answer.outcome == OfferAnswer.TAKEN]
    assert len(taken) == PATIENTS - 1
    assert {answer.sentence for answer in taken} == {
        "This time was taken by another patient a moment ago. Nothing has changed for you."
    }

    winner = booked[0].offer
    opening.refresh_from_db()
    assert opening.status == ChairOpening.Status.FILLED and opening.filled_by_id == booked[0].appointment.pk
    statuses = dict(opening.offers.values_list("pk", "status"))
    assert statuses.pop(winner.pk) == SlotOffer.Status.ACCEPTED
    assert set(statuses.values()) == {SlotOffer.Status.TAKEN}
    # Every other patient is told, once.
    for offer in offers:
        if offer.pk != winner.pk:
            assert offer_row(offer, Reminder.Kind.SLOT_OFFER_TAKEN).status == Reminder.Status.PENDING
    assert Reminder.objects.filter(kind=Reminder.Kind.SLOT_OFFER_TAKEN).count() == PATIENTS - 1

    # The chair holds one visit at that time, and nobody is booked twice.
    active = Appointment.objects.active().filter(clinic=clinic_a)
    assert active.overlapping(opening.starts_at, opening.ends_at).filter(chair=opening.chair).count() == 1
    upcoming = Appointment.objects.upcoming().filter(clinic=clinic_a)
    assert not upcoming.values("patient").annotate(visits=Count("pk")).filter(visits__gt=1).exists()
    assert upcoming.filter(course__in=[offer.course for offer in offers]).count() == 1
