"""Calendar feeds: unguessable, revocable, initials only, the right events for the roster and for a nurse."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from icalendar import Calendar

from config.logging import HidePatientDataFilter
from scheduling.doses import clinic_today
from scheduling.feeds.calendar import initials
from scheduling.feeds.services import feed_create, feed_revoke
from scheduling.models import CalendarFeed, NurseAssignment
from tests.helpers import book_directly, local, make_course, make_staff

pytestmark = pytest.mark.django_db


def _events(response) -> list:
    return [component for component in Calendar.from_ical(response.content).walk("VEVENT")]


@pytest.fixture
def visits(clinic_a):
    """Tomorrow at clinic A: Alice Brown (RX1) in the first chair, Carl Dunn in the second."""
    day = clinic_today(clinic_a) + timedelta(days=1)
    chairs = list(clinic_a.chairs.order_by("position"))
    alice = make_course(clinic_a, "ocrevus", start=day, first_name="Alice", last_name="Brown", mrn="RX1")
    carl = make_course(clinic_a, "tysabri", start=day, first_name="Carl", last_name="Dunn", mrn="RX2")
    return day, [
        book_directly(course=alice, chair=chairs[0], starts_at=local(clinic_a, day, 9)),
        book_directly(course=carl, chair=chairs[1], starts_at=local(clinic_a, day, 10)),
    ]


def test_a_feed_token_is_long_random_and_only_its_hash_is_kept(clinic_a, manager):
    feed, token = feed_create(kind=CalendarFeed.Kind.CLINIC, clinic=clinic_a, created_by=manager)
    _other, second = feed_create(kind=CalendarFeed.Kind.CLINIC, clinic=clinic_a, created_by=manager)

    assert len(token) >= 64 and token != second
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not CalendarFeed.objects.filter(token_hash=token).exists()


def test_the_roster_feed_shows_each_visit_with_initials_and_nothing_sensitive(client, clinic_a, manager, nurse, visits):
    day, (alice_visit, carl_visit) = visits
    NurseAssignment.objects.create(clinic=clinic_a, day=day, chair=alice_visit.chair, nurse=nurse, assigned_by=manager)
    _feed, token = feed_create(kind=CalendarFeed.Kind.CLINIC, clinic=clinic_a, created_by=manager)

    response = client.get(reverse("feeds:calendar", args=[token]))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    events = _events(response)
    assert [(str(event["summary"]), event.decoded("dtstart")) for event in events] == [
        (f"{alice_visit.chair.name}: A.B.", alice_visit.starts_at),
        (f"{carl_visit.chair.name}: C.D.", carl_visit.starts_at),
    ]
    assert "Nurse: Nina" in str(events[0]["description"])
    body = response.content.decode()
    for secret in ("Alice", "Brown", "Carl", "Dunn", "RX1", "RX2", "Ocrevus", "ocrelizumab", "Tysabri", "natalizumab"):
        assert secret not in body, secret


def test_a_nurses_feed_holds_their_days_and_the_visits_on_their_chairs_only(client, clinic_a, manager, nurse, visits):
    day, (alice_visit, _carl_visit) = visits
    NurseAssignment.objects.create(clinic=clinic_a, day=day, chair=alice_visit.chair, nurse=nurse, assigned_by=manager)
    other = make_staff("olga", "Nurse", clinic_a)
    NurseAssignment.objects.create(clinic=clinic_a, day=day, chair=_carl_visit.chair, nurse=other, assigned_by=manager)
    _feed, token = feed_create(kind=CalendarFeed.Kind.NURSE, clinic=clinic_a, nurse=nurse, created_by=nurse)

    events = _events(client.get(reverse("feeds:calendar", args=[token])))

    assert [str(event["summary"]) for event in events] == [
        f"{alice_visit.chair.name} at {clinic_a.name}",
        f"{alice_visit.chair.name}: A.B.",
    ]
    assert events[0].decoded("dtstart") == day


def test_a_revoked_or_unknown_token_gets_404(client, clinic_a, manager):
    feed, token = feed_create(kind=CalendarFeed.Kind.CLINIC, clinic=clinic_a, created_by=manager)
    url = reverse("feeds:calendar", args=[token])
    assert client.get(url).status_code == 200

    feed_revoke(feed=feed, by=manager)

    assert client.get(url).status_code == 404
    assert client.get(reverse("feeds:calendar", args=[token[:-1] + "x"])).status_code == 404


def test_a_nurses_feed_stops_when_the_nurse_is_deactivated(client, clinic_a, nurse):
    _feed, token = feed_create(kind=CalendarFeed.Kind.NURSE, clinic=clinic_a, nurse=nurse, created_by=nurse)
    nurse.is_active = False
    nurse.save()

    assert client.get(reverse("feeds:calendar", args=[token])).status_code == 404


def test_a_fetch_is_counted_and_logged_by_the_feeds_id_never_its_token(client, clinic_a, manager, caplog):
    feed, token = feed_create(kind=CalendarFeed.Kind.CLINIC, clinic=clinic_a, created_by=manager)

    with caplog.at_level(logging.INFO):
        client.get(reverse("feeds:calendar", args=[token]))
        client.get(reverse("feeds:calendar", args=[token]))

    feed.refresh_from_db()
    assert feed.fetch_count == 2 and feed.last_fetched_at is not None
    assert f"feed={feed.pk}" in caplog.text
    assert token not in caplog.text
    line = HidePatientDataFilter.strip_query_strings(f"GET /feeds/{token}.ics 200")
    assert token not in line and "/feeds/[token].ics" in line


def test_a_manager_makes_and_revokes_the_clinic_feed_from_the_page(client, clinic_a, manager):
    client.force_login(manager)

    made = client.post(reverse("scheduling:feeds"), {"kind": "clinic", "clinic": clinic_a.pk, "label": "Ward PC"})

    feed = CalendarFeed.objects.get()
    token = made.context["created_url"].rsplit("/", 1)[1].removesuffix(".ics")
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert "Ward PC" in made.content.decode()
    client.post(reverse("scheduling:feed_revoke", args=[feed.pk]))
    feed.refresh_from_db()
    assert feed.revoked_by == manager
    assert "Revoked" in client.get(reverse("scheduling:feeds")).content.decode()


def test_a_nurse_makes_only_their_own_feed(client, clinic_a, nurse):
    client.force_login(nurse)

    refused = client.post(reverse("scheduling:feeds"), {"kind": "clinic", "clinic": clinic_a.pk})
    made = client.post(reverse("scheduling:feeds"), {"kind": "nurse", "clinic": clinic_a.pk})

    assert refused.status_code == 404
    assert made.status_code == 200
    assert list(CalendarFeed.objects.values_list("kind", "nurse")) == [("nurse", nurse.pk)]


def test_staff_of_another_clinic_neither_make_nor_see_nor_revoke_its_feeds(client, clinic_a, clinic_b, manager, nurse):
    manager_b = make_staff("bea", "Clinic manager", clinic_b)
    nurse_b = make_staff("nell", "Nurse", clinic_b)
    clinic_feed, _token = feed_create(kind=CalendarFeed.Kind.CLINIC, clinic=clinic_a, created_by=manager)
    own_feed, _token = feed_create(kind=CalendarFeed.Kind.NURSE, clinic=clinic_a, nurse=nurse, created_by=nurse)

    client.force_login(manager_b)
    made = client.post(reverse("scheduling:feeds"), {"kind": "clinic", "clinic": clinic_a.pk})
    page = client.get(reverse("scheduling:feeds"))
    revoke = client.post(reverse("scheduling:feed_revoke", args=[clinic_feed.pk]))
    client.force_login(nurse_b)
    revoke_own = client.post(reverse("scheduling:feed_revoke", args=[own_feed.pk]))

    assert made.status_code == 400 and CalendarFeed.objects.count() == 2
    assert f'data-feed="{clinic_feed.pk}"' not in page.content.decode()
    assert revoke.status_code == 404 and revoke_own.status_code == 404
    assert not CalendarFeed.objects.filter(revoked_at__isnull=False).exists()


def test_a_feed_shows_no_visit_of_another_clinic(client, clinic_a, clinic_b, manager):
    day = clinic_today(clinic_b) + timedelta(days=1)
    book_directly(course=make_course(clinic_b, "ocrevus", start=day), starts_at=local(clinic_b, day, 9))
    _feed, token = feed_create(kind=CalendarFeed.Kind.CLINIC, clinic=clinic_a, created_by=manager)

    assert _events(client.get(reverse("feeds:calendar", args=[token]))) == []


def test_initials_are_the_first_letter_of_each_name():
    assert initials("alice", "o'Brien") == "A.O."
    assert initials("", "") == "?"
