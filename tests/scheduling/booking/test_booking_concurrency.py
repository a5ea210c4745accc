"""Many people booking at the same moment: exactly one wins a slot, and the nurse rules hold.

Real threads, each with its own PostgreSQL connection, released together by a barrier so
their transactions overlap. The per-clinic-day advisory lock serialises the nurse-rule
check; the exclusion constraints are the last word on chair and patient overlaps.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
import requests
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.models import Chair, Regimen
from clinic.roles import sync_roles
from scheduling.booking.services import BookingError, booking_create
from scheduling.models import Appointment
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import ensure_formulary, make_clinic

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 24


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    ensure_formulary()
    sync_roles()


def next_monday_in_two_weeks(clinic):
    today = timezone.now().astimezone(clinic.tz).date()
    return today + timedelta(days=14 - today.weekday())


def at(clinic, day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=clinic.tz)


def tysabri_course(clinic, start):
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code="tysabri"), start_date=start
    )


def run_together(count: int, work) -> list:
    """Run `work(index)` in `count` threads released at once; each closes its connection after."""
    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("booked", work(index))
        except BookingError as refusal:
            outcomes[index] = ("refused", refusal)
        except Exception as error:  # noqa: BLE001 - any other error fails the test below
            outcomes[index] = ("error", error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def most_in_chairs_at_once(clinic) -> int:
    """The busiest moment of the clinic's active appointments, counted from the rows."""
    events = []
    for starts_at, ends_at in Appointment.objects.active().filter(clinic=clinic).values_list("starts_at", "ends_at"):
        events += [(starts_at, 1), (ends_at, -1)]
    current = peak = 0
    for _, change in sorted(events, key=lambda event: (event[0], event[1])):
        current += change
        peak = max(peak, current)
    return peak


def test_twenty_four_people_booking_the_same_slot_leave_exactly_one_appointment(front_desk, clinic_a):
    monday = next_monday_in_two_weeks(clinic_a)
    chair = Chair.objects.filter(clinic=clinic_a).first()
    courses = [tysabri_course(clinic_a, monday) for _ in range(THREADS)]
    starts_at = at(clinic_a, monday, 9)

    outcomes = run_together(
        THREADS,
        lambda index: booking_create(course=courses[index], chair=chair, starts_at=starts_at, booked_by=front_desk),
    )

    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds == {"booked": 1, "refused": THREADS - 1}, outcomes
    assert Appointment.objects.filter(chair=chair).count() == 1
    refusals = {refusal.message for kind, refusal in outcomes if kind == "refused"}
    assert all("Chair 1" in message and "Choose another" in message for message in refusals)


def test_twenty_bookings_of_one_patient_at_once_leave_one_appointment(front_desk):
    clinic = make_clinic("Riverside Infusions", chairs=20, nurses=20)
    monday = next_monday_in_two_weeks(clinic)
    chairs = list(Chair.objects.filter(clinic=clinic))
    course = tysabri_course(clinic, monday)
    starts_at = at(clinic, monday, 10)

    outcomes = run_together(
        20,
        lambda index: booking_create(course=course, chair=chairs[index], starts_at=starts_at, booked_by=front_desk),
    )

    assert Counter(kind for kind, _ in outcomes) == {"booked": 1, "refused": 19}, outcomes
    assert Appointment.objects.filter(patient=course.patient).count() == 1


def test_concurrent_bookings_of_different_chairs_keep_the_patients_per_nurse_limit(front_desk):
    # One nurse for three patients at once; starts are not the limit here.
    clinic = make_clinic("Valley Infusions", chairs=12, nurses=1, patients_per_nurse=3, starts_per_nurse=12)
    monday = next_monday_in_two_weeks(clinic)
    chairs = list(Chair.objects.filter(clinic=clinic))
    courses = [tysabri_course(clinic, monday) for _ in chairs]
    starts_at = at(clinic, monday, 9)

    outcomes = run_together(
        len(chairs),
        lambda index: booking_create(
            course=courses[index], chair=chairs[index], starts_at=starts_at, booked_by=front_desk
        ),
    )

    assert Counter(kind for kind, _ in outcomes) == {"booked": 3, "refused": 9}, outcomes
    assert most_in_chairs_at_once(clinic) == 3
    assert all("nurses on duty" in refusal.message for kind, refusal in outcomes if kind == "refused")


def test_concurrent_bookings_of_different_chairs_keep_the_staggered_starts(front_desk):
    # Two nurses, one infusion start each per 15 minutes: at most two starts at 09:00.
    clinic = make_clinic("Hillside Infusions", chairs=10, nurses=2, patients_per_nurse=10, starts_per_nurse=1)
    monday = next_monday_in_two_weeks(clinic)
    chairs = list(Chair.objects.filter(clinic=clinic))
    courses = [tysabri_course(clinic, monday) for _ in chairs]
    starts_at = at(clinic, monday, 9)

    outcomes = run_together(
        len(chairs),
        lambda index: booking_create(
            course=courses[index], chair=chairs[index], starts_at=starts_at, booked_by=front_desk
        ),
    )

    assert Counter(kind for kind, _ in outcomes) == {"booked": 2, "refused": 8}, outcomes
    assert Appointment.objects.filter(clinic=clinic, starts_at=starts_at).count() == 2


def test_twenty_people_booking_the_same_slot_over_http_leave_exactly_one_appointment(live_server, front_desk, clinic_a):
    monday = next_monday_in_two_weeks(clinic_a)
    chair = Chair.objects.filter(clinic=clinic_a).first()
    courses = [tysabri_course(clinic_a, monday) for _ in range(20)]
    starts_param = at(clinic_a, monday, 9).astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")

    login = Client()
    login.force_login(front_desk)
    cookies = {"sessionid": login.cookies["sessionid"].value}
    first_url = live_server.url + reverse("scheduling:book_confirm", args=[courses[0].pk])
    page = requests.get(first_url, params={"chair": chair.pk, "starts_at": starts_param}, cookies=cookies, timeout=30)
    assert page.status_code == 200
    cookies["csrftoken"] = page.cookies["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    barrier = threading.Barrier(len(courses))
    statuses: list[int] = [0] * len(courses)

    def post(index: int) -> None:
        url = live_server.url + reverse("scheduling:book_confirm", args=[courses[index].pk])
        barrier.wait(timeout=30)
        response = requests.post(
            url,
            data={"chair": chair.pk, "starts_at": starts_param, "csrfmiddlewaretoken": token},
            cookies=cookies,
            headers={"Referer": url},
            allow_redirects=False,
            timeout=60,
        )
        statuses[index] = response.status_code

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(courses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert Counter(statuses) == {302: 1, 409: 19}, statuses
    assert Appointment.objects.filter(chair=chair).count() == 1
