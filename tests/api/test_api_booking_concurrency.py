"""Twenty systems booking one slot through the API at the same moment: exactly one gets it.

Real threads over a live server, each with its own HTTP connection and so its own PostgreSQL
connection, released together by a barrier. Each books a different patient into the same
chair at the same time; the booking service's lock and the exclusion constraint leave one.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date

import pytest
import requests
from django.db import connections

from api.services import api_client_create
from clinic.roles import sync_roles
from scheduling.models import Appointment
from tests.helpers import ensure_formulary, local, make_clinic, make_course

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BOOKERS = 20
MONDAY = date(2027, 1, 4)


def test_twenty_concurrent_api_bookings_of_one_slot_leave_exactly_one(live_server):
    ensure_formulary()
    sync_roles()
    clinic = make_clinic("Concurrent Infusion Centre", chairs=3, nurses=10)
    made = api_client_create(name="Busy portal", clinics=[clinic], scope="book")
    token = requests.post(
        f"{live_server.url}/fhir/oauth/token/",
        data={
            "grant_type": "client_credentials",
            "client_id": made.client.application.client_id,
            "client_secret": made.client_secret,
        },
        timeout=30,
    ).json()["access_token"]
    chair = clinic.chairs.order_by("position").first()
    starts_at = local(clinic, MONDAY, 9).astimezone(UTC)
    courses = [make_course(clinic, start=MONDAY) for _ in range(BOOKERS)]
    connections.close_all()
    barrier = threading.Barrier(BOOKERS)
    answers: list = [None] * BOOKERS

    def book(index: int) -> None:
        course = courses[index]
        body = {
            "resourceType": "Appointment",
            "slot": [{"reference": f"Slot/course{course.pk}-dose1-chair{chair.pk}-{starts_at:%Y%m%d%H%M}Z"}],
            "participant": [{"actor": {"reference": f"Patient/{course.patient_id}"}}],
        }
        with requests.Session() as session:
            barrier.wait(timeout=60)
            response = session.post(
                f"{live_server.url}/fhir/Appointment",
                json=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
                timeout=120,
            )
        answers[index] = (response.status_code, response.json())

    threads = [threading.Thread(target=book, args=(index,)) for index in range(BOOKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)

    statuses = Counter(status for status, _body in answers)
    assert statuses == {201: 1, 422: BOOKERS - 1}, statuses
    for status, body in answers:
        if status == 422:
            assert body["resourceType"] == "OperationOutcome"
            assert "Choose another chair or time" in body["issue"][0]["details"]["text"], body
    assert Appointment.objects.filter(chair=chair, starts_at=starts_at).active().count() == 1
