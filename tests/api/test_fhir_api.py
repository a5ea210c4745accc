"""The FHIR API: tokens and scopes, clinic boundaries, the audit trail, booking through the rules, and valid R4.

Clients of clinic A (read-only `reader_a`, booking `booker_a`) and of clinic B (`booker_b`);
every resource the API sends in these tests is checked against fhir.resources' R4 models.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from fhir.resources.R4B import get_fhir_model_class

from api.models import ApiClient
from api.services import api_client_create
from clinic.models import Closure
from scheduling.models import Appointment, AppointmentEvent
from tests.api.conftest import Fhir, token_for
from tests.helpers import book_directly, give, local, make_clinic, make_course

MONDAY = date(2027, 1, 4)


def valid(resource: dict) -> dict:
    """The resource, checked against its R4 model (and, for a Bundle, every entry's)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        valid(entry["resource"])
    return resource


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/fhir+json"
    # Patients' records: never kept by a cache on the way.
    assert "no-store" in response["Cache-Control"]
    return valid(response.json())


def refused(response, status: int) -> str:
    assert response.status_code == status, response.content
    body = valid(response.json())
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]["details"]["text"]


def utc_slot(course, chair, starts_at, **options) -> str:
    from datetime import UTC

    return (
        f"{options.get('kind', 'course')}{course.pk}-dose{options.get('dose', 1)}-chair{chair.pk}-"
        f"{starts_at.astimezone(UTC):%Y%m%d%H%M}Z"
    )


def booking(course, chair, starts_at, **options) -> dict:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{utc_slot(course, chair, starts_at, **options)}"}],
        "participant": [{"actor": {"reference": f"Patient/{course.patient_id}"}, "status": "accepted"}],
    }


@pytest.fixture
def world(clinic_a, clinic_b):
    """A patient in each clinic, each with a booked and a given dose."""
    course_a = make_course(clinic_a, mrn="A-1", first_name="Ada", last_name="Lovelace", date_of_birth=date(1970, 3, 1))
    course_b = make_course(clinic_b, mrn="B-1", first_name="Bea", last_name="Barnes")
    for course in (course_a, course_b):
        give(course, date(2026, 6, 1))
        book_directly(
            course=course,
            starts_at=local(course.patient.clinic, date(2026, 12, 1) + timedelta(days=30), 9),
            dose_number=2,
        )
    return {"a": course_a, "b": course_b}


# --- Tokens, scopes and clinics -------------------------------------------------------------------


def test_a_request_without_a_valid_token_gets_401_with_an_operation_outcome(anonymous, world):
    assert refused(anonymous.get("/fhir/Patient"), 401).startswith("Send a valid access token")
    assert refused(Fhir("not-a-token").get("/fhir/Patient"), 401).startswith("Send a valid access token")


def test_metadata_and_the_openapi_description_are_open_and_say_what_is_supported(anonymous):
    statement = ok(anonymous.get("/fhir/metadata"))
    kinds = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert {
        "Patient",
        "Appointment",
        "Slot",
        "Schedule",
        "Location",
        "ActivityDefinition",
        "MedicationAdministration",
    } <= kinds
    openapi = anonymous.get("/fhir/openapi.json").json()
    assert "/fhir/Appointment" in openapi["paths"]


def test_a_resource_type_the_server_does_not_serve_gets_a_404_operation_outcome(reader_a, anonymous):
    for fhir_client in (reader_a, anonymous):
        assert "GET /fhir/metadata lists them" in refused(fhir_client.get("/fhir/Observation"), 404)


def test_an_id_that_is_not_a_plain_number_is_simply_not_found(reader_a, world):
    # "²" is a digit to Python's str.isdigit, but no number int() reads.
    for path in ("/fhir/Patient/²", "/fhir/Appointment/1.5", "/fhir/Location/-1"):
        refused(reader_a.get(path), 404)
    assert ok(reader_a.get("/fhir/Appointment", {"patient": "Patient/²"}))["total"] == 0


def test_a_method_an_operation_does_not_take_gets_a_405_operation_outcome(reader_a):
    response = reader_a.http.delete("/fhir/Patient/1", HTTP_AUTHORIZATION=f"Bearer {reader_a.token}")
    assert "takes GET only" in refused(response, 405)
    assert response["Allow"] == "GET"


def test_a_read_only_client_reads_but_cannot_book_or_cancel(reader_a, world, clinic_a):
    course = world["a"]
    ok(reader_a.get(f"/fhir/Patient/{course.patient_id}"))
    chair = clinic_a.chairs.first()
    text = refused(reader_a.post("/fhir/Appointment", booking(course, chair, local(clinic_a, MONDAY, 9), dose=3)), 403)
    assert "book scope" in text
    appointment = course.appointments.get(dose_number=2)
    refused(reader_a.patch(f"/fhir/Appointment/{appointment.pk}", {"status": "cancelled"}), 403)
    assert Appointment.objects.count() == 4
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_a_client_of_one_clinic_sees_nothing_of_another(booker_b, world):
    course = world["a"]
    appointment = course.appointments.get(dose_number=2)
    given = course.appointments.get(dose_number=1)
    for path in (
        f"/fhir/Patient/{course.patient_id}",
        f"/fhir/Appointment/{appointment.pk}",
        f"/fhir/MedicationAdministration/{given.pk}",
        f"/fhir/Location/{course.patient.clinic_id}",
        f"/fhir/Schedule/{appointment.chair_id}",
    ):
        refused(booker_b.get(path), 404)
    names = {entry["resource"]["name"][0]["family"] for entry in ok(booker_b.get("/fhir/Patient")).get("entry", [])}
    assert names == {"Barnes"}
    for path, params in (
        ("/fhir/Patient", {"identifier": "A-1"}),
        ("/fhir/Appointment", {"patient": f"Patient/{course.patient_id}"}),
        ("/fhir/MedicationAdministration", {"patient": course.patient_id}),
        ("/fhir/Slot", {"course": course.pk}),
        ("/fhir/Schedule", {"actor": f"Location/{course.patient.clinic_id}"}),
        ("/fhir/Location", {"name": "Northside"}),
    ):
        assert ok(booker_b.get(path, params))["total"] == 0, path
    # Nor can it book or cancel there.
    chair = course.patient.clinic.chairs.first()
    refused(booker_b.post("/fhir/Appointment", booking(course, chair, local(chair.clinic, MONDAY, 9), dose=3)), 404)
    refused(booker_b.patch(f"/fhir/Appointment/{appointment.pk}", {"status": "cancelled"}), 404)


def test_a_revoked_client_gets_no_token_and_its_token_stops_working(client, clinic_a, world):
    made = api_client_create(name="Old lab", clinics=[clinic_a], scope="read")
    token = client.post(
        "/fhir/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": made.client.application.client_id,
            "client_secret": made.client_secret,
        },
    ).json()["access_token"]
    ok(Fhir(token).get("/fhir/Patient"))
    call_command("api_client", "revoke", "Old lab")
    refused(Fhir(token).get("/fhir/Patient"), 401)
    again = client.post(
        "/fhir/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": made.client.application.client_id,
            "client_secret": made.client_secret,
        },
    )
    assert again.status_code == 401


def test_a_client_cannot_ask_for_a_scope_it_was_not_given(client, clinic_a):
    made = api_client_create(name="Reader", clinics=[clinic_a], scope="read")
    response = client.post(
        "/fhir/oauth/token/",
        {
            "grant_type": "client_credentials",
            "scope": "read book",
            "client_id": made.client.application.client_id,
            "client_secret": made.client_secret,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_the_command_creates_lists_and_revokes_clients(clinic_a, clinic_b, capsys):
    call_command(
        "api_client",
        "create",
        "--name",
        "EHR",
        "--clinic",
        clinic_a.name,
        "--clinic",
        str(clinic_b.pk),
        "--scope",
        "book",
    )
    created = json.loads(capsys.readouterr().out)
    assert created["client_id"] and created["client_secret"]
    client = ApiClient.objects.get(name="EHR")
    assert set(client.clinics.all()) == {clinic_a, clinic_b}
    assert client.scopes == ["read", "book"]
    # Only a hash of the secret is kept.
    assert client.application.client_secret != created["client_secret"]
    call_command("api_client", "list")
    listed = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in listed] == ["EHR"] and listed[0]["revoked_at"] is None
    call_command("api_client", "revoke", created["client_id"])
    client.refresh_from_db()
    assert client.is_revoked


def test_a_client_over_its_rate_limit_gets_429_with_an_operation_outcome(reader_a, settings, world):
    settings.API_RATE_LIMIT = (3, 60)
    for _ in range(3):
        ok(reader_a.get("/fhir/Location"))
    response = reader_a.get("/fhir/Location")
    assert "Too many requests" in refused(response, 429)
    assert response["Retry-After"] == "60"


# --- Reading, and the audit trail -----------------------------------------------------------------


def test_every_patient_read_or_found_is_in_the_audit_trail_as_the_clients_view(reader_a, world, clinic_a):
    course = world["a"]
    other = make_course(clinic_a, mrn="A-2", last_name="Lamarr")
    ok(reader_a.get(f"/fhir/Patient/{course.patient_id}"))
    found = ok(reader_a.get("/fhir/Patient", {"name": "L"}))
    assert found["total"] == 2
    views = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).order_by("pk")
    assert [(entry.object_id, entry.actor.api_client.name) for entry in views] == [
        (course.patient_id, "Lab system A"),
        (other.patient_id, "Lab system A"),  # Lamarr, then Lovelace: the search's order
        (course.patient_id, "Lab system A"),
    ]
    assert {entry.additional_data["via"] for entry in views} == {"api"}


def test_patient_search_by_mrn_name_and_birth_date(reader_a, world, clinic_a):
    course = world["a"]
    system = f"urn:chairside:clinic:{clinic_a.pk}:mrn"
    for params in (
        {"identifier": "A-1"},
        {"identifier": f"{system}|A-1"},
        {"name": "ada"},
        {"birthdate": "1970-03-01"},
        {"birthdate": "le1970-12-31"},
    ):
        found = ok(reader_a.get("/fhir/Patient", params))
        assert [entry["resource"]["id"] for entry in found["entry"]] == [str(course.patient_id)], params
    assert ok(reader_a.get("/fhir/Patient", {"identifier": "urn:other|A-1"}))["total"] == 0
    assert "not a real date" in refused(reader_a.get("/fhir/Patient", {"birthdate": "1970-02-31"}), 400)


def test_search_pages_follow_next_links_until_every_entry_is_seen(reader_a, clinic_a):
    ids = {str(make_course(clinic_a).patient_id) for _ in range(5)}
    seen, url, pages = set(), "/fhir/Patient?_count=2", 0
    while url:
        page = ok(reader_a.get(url))
        pages += 1
        seen |= {entry["resource"]["id"] for entry in page.get("entry", [])}
        url = next(
            (link["url"].replace("http://testserver", "") for link in page["link"] if link["relation"] == "next"), None
        )
    assert seen == ids and pages == 3


def test_appointments_search_by_patient_date_status_and_location(reader_a, world, clinic_a):
    course = world["a"]
    booked = course.appointments.get(dose_number=2)
    given = course.appointments.get(dose_number=1)
    day = booked.starts_at.date().isoformat()
    for params, expected in (
        ({"patient": f"Patient/{course.patient_id}"}, [given, booked]),
        ({"date": day}, [booked]),
        ({"date": ["ge2026-01-01", "le2026-07-01"]}, [given]),
        ({"status": "booked"}, [booked]),
        ({"status": "fulfilled,cancelled"}, [given]),
        ({"location": f"Location/{clinic_a.pk}", "status": "booked"}, [booked]),
    ):
        found = ok(reader_a.get("/fhir/Appointment", params))
        assert [entry["resource"]["id"] for entry in found.get("entry", [])] == [str(a.pk) for a in expected], params


def test_a_date_search_means_the_day_in_the_clinics_own_time_zone(db, client):
    pacific = make_clinic("Bayside Infusion Center", time_zone="America/Los_Angeles")
    reader = Fhir(token_for(client, name="Lab system Bayside", clinics=[pacific], scope="read"))
    # 20:00 on Monday in Los Angeles is 04:00 on Tuesday in UTC.
    evening = book_directly(course=make_course(pacific), starts_at=local(pacific, MONDAY, 20), minutes=60)

    def found(params) -> list[str]:
        return [entry["resource"]["id"] for entry in ok(reader.get("/fhir/Appointment", params)).get("entry", [])]

    monday, tuesday = MONDAY.isoformat(), (MONDAY + timedelta(days=1)).isoformat()
    assert found({"date": monday}) == [str(evening.pk)]
    assert found({"date": tuesday}) == []
    assert found({"date": f"le{monday}"}) == [str(evening.pk)]
    assert found({"date": f"gt{monday}"}) == []
    assert found({"date": "2027-01-05T04:00:00Z"}) == [str(evening.pk)]


def test_every_resource_kind_reads_as_valid_r4(reader_a, world, clinic_a):
    course = world["a"]
    given = course.appointments.get(dose_number=1)
    chair = clinic_a.chairs.first()
    for path in (
        f"/fhir/Appointment/{given.pk}",
        f"/fhir/MedicationAdministration/{given.pk}",
        "/fhir/MedicationAdministration",
        f"/fhir/Location/{clinic_a.pk}",
        "/fhir/Location",
        f"/fhir/Schedule/{chair.pk}",
        "/fhir/Schedule",
        f"/fhir/ActivityDefinition/{course.regimen_id}",
        "/fhir/ActivityDefinition",
        "/fhir/metadata",
    ):
        ok(reader_a.get(path))
    administered = ok(reader_a.get(f"/fhir/MedicationAdministration/{given.pk}"))
    assert administered["subject"]["reference"] == f"Patient/{course.patient_id}"
    regimens = ok(reader_a.get("/fhir/ActivityDefinition", {"_count": 100}))
    assert "ocrevus" in {entry["resource"]["identifier"][0]["value"] for entry in regimens["entry"]}


def test_slots_for_a_courses_next_dose_and_for_a_regimens_dose(reader_a, clinic_a):
    course = make_course(clinic_a, start=MONDAY)
    found = ok(
        reader_a.get("/fhir/Slot", {"course": course.pk, "start": ["ge2027-01-04", "le2027-01-04"], "_count": 500})
    )
    starts = {entry["resource"]["start"] for entry in found["entry"]}
    # Ocrevus dose 1 takes a chair for hours: the last start of a day 08:00-18:00 is well before closing.
    assert "2027-01-04T08:00:00Z" in starts and "2027-01-04T17:00:00Z" not in starts
    assert found["total"] == len(found["entry"])
    by_regimen = ok(
        reader_a.get(
            "/fhir/Slot",
            {
                "regimen": "tysabri",
                "location": f"Location/{clinic_a.pk}",
                "start": ["ge2027-01-04", "le2027-01-04"],
                "_count": 1,
            },
        )
    )
    assert by_regimen["total"] > 1 and by_regimen["entry"][0]["resource"]["id"].startswith("regimen")
    assert any(link["relation"] == "next" for link in by_regimen["link"])


# --- Booking and cancelling -----------------------------------------------------------------------


def test_a_booking_client_books_a_slot_it_found_through_the_booking_service(booker_a, clinic_a):
    course = make_course(clinic_a, start=MONDAY)
    found = ok(
        booker_a.get("/fhir/Slot", {"course": course.pk, "start": ["ge2027-01-04", "le2027-01-04"], "_count": 1})
    )
    slot = found["entry"][0]["resource"]
    response = booker_a.post(
        "/fhir/Appointment",
        {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot['id']}"}],
            "participant": [{"actor": {"reference": f"Patient/{course.patient_id}"}}],
        },
    )
    created = ok(response, 201)
    appointment = Appointment.objects.get(pk=created["id"])
    assert response["Location"].endswith(f"/fhir/Appointment/{appointment.pk}")
    assert created["start"] == slot["start"] and created["status"] == "booked"
    assert appointment.booked_by.api_client.name == "Portal A"
    created_entry = LogEntry.objects.get_for_object(appointment).get(action=LogEntry.Action.CREATE)
    assert created_entry.actor == appointment.booked_by
    assert created_entry.additional_data == {"via": "api", "api_client": "Portal A"}
    assert appointment.events.get().action == AppointmentEvent.Action.BOOKED
    # The booking wrote its reminders like any other (the outbox).
    assert appointment.reminders.exists()


def test_a_booking_past_closing_time_gets_the_pages_sentence(booker_a, clinic_a):
    course = make_course(clinic_a, start=MONDAY)
    text = refused(
        booker_a.post("/fhir/Appointment", booking(course, clinic_a.chairs.first(), local(clinic_a, MONDAY, 16))), 422
    )
    assert "after the clinic closes at 18:00. Choose an earlier start or another day." in text


def test_a_booking_over_the_nurses_limit_gets_the_pages_sentence(booker_a, clinic_a):
    clinic_a.patients_per_nurse = 1
    clinic_a.save(update_fields=["patients_per_nurse"])
    chairs = list(clinic_a.chairs.order_by("position"))
    for chair, hour in zip(chairs[:2], (8, 9), strict=True):
        book_directly(course=make_course(clinic_a, start=MONDAY), chair=chair, starts_at=local(clinic_a, MONDAY, hour))
    course = make_course(clinic_a, start=MONDAY)
    text = refused(booker_a.post("/fhir/Appointment", booking(course, chairs[2], local(clinic_a, MONDAY, 10))), 422)
    assert "the 2 nurses on duty already look after 2 patients, their limit of 2. Choose another time." in text
    assert not course.appointments.exists()


def test_a_dose_before_its_earliest_date_is_refused_with_the_pages_sentence(booker_a, clinic_a):
    course = make_course(clinic_a, start=date(2027, 3, 1))
    text = refused(
        booker_a.post("/fhir/Appointment", booking(course, clinic_a.chairs.first(), local(clinic_a, MONDAY, 9))), 422
    )
    assert text.startswith("Too early: dose 1 may not be given before")
    assert "or ask a clinic manager to override with a written reason." in text
    assert not course.appointments.exists()


def test_a_series_slot_books_the_whole_series_or_nothing(booker_a, clinic_a):
    course = make_course(clinic_a, start=MONDAY)  # Ocrevus: two initiation doses 14 days apart
    found = ok(
        booker_a.get(
            "/fhir/Slot",
            {"course": course.pk, "series": "true", "start": ["ge2027-01-04", "le2027-01-04"], "_count": 1},
        )
    )
    slot = found["entry"][0]["resource"]
    assert slot["id"].startswith("series")
    Closure.objects.create(
        clinic=clinic_a,
        starts_on=MONDAY + timedelta(days=14),
        ends_on=MONDAY + timedelta(days=14),
        reason="Staff training",
    )
    body = {
        "resourceType": "Appointment",
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [{"actor": {"reference": f"Patient/{course.patient_id}"}}],
    }
    text = refused(booker_a.post("/fhir/Appointment", body), 422)
    assert text.startswith("The series was not booked: dose 2")
    assert text.endswith("Nothing was booked; choose another start day.")
    assert not course.appointments.exists()
    Closure.objects.all().delete()
    ok(booker_a.post("/fhir/Appointment", body), 201)
    assert list(course.appointments.order_by("dose_number").values_list("dose_number", flat=True)) == [1, 2]


def test_booking_a_lemtrada_series_answers_every_appointment_booked(booker_a, clinic_a):
    course = make_course(clinic_a, "lemtrada", start=MONDAY)  # 5 consecutive days, Monday to Friday
    found = ok(
        booker_a.get(
            "/fhir/Slot",
            {"course": course.pk, "series": "true", "start": ["ge2027-01-04", "le2027-01-04"], "_count": 1},
        )
    )
    slot = found["entry"][0]["resource"]
    body = {
        "resourceType": "Appointment",
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [{"actor": {"reference": f"Patient/{course.patient_id}"}}],
    }

    response = booker_a.post("/fhir/Appointment", body)

    answer = ok(response, 201)
    booked = list(course.appointments.order_by("dose_number"))
    assert [appointment.dose_number for appointment in booked] == [1, 2, 3, 4, 5]
    assert answer["resourceType"] == "Bundle" and answer["type"] == "transaction-response"
    assert [entry["response"]["location"] for entry in answer["entry"]] == [f"Appointment/{a.pk}" for a in booked]
    assert {entry["response"]["status"] for entry in answer["entry"]} == {"201 Created"}
    assert [entry["resource"]["start"][:10] for entry in answer["entry"]] == [
        (MONDAY + timedelta(days=day)).isoformat() for day in range(5)
    ]
    assert answer["entry"][0]["fullUrl"] == f"http://testserver/fhir/Appointment/{booked[0].pk}"
    assert response["Location"] == answer["entry"][0]["fullUrl"]
    for entry in answer["entry"]:
        assert ok(booker_a.get(entry["fullUrl"].replace("http://testserver", ""))) == entry["resource"]


def test_a_slot_for_another_patient_or_a_made_up_slot_is_refused(booker_a, clinic_a):
    course = make_course(clinic_a, start=MONDAY)
    other = make_course(clinic_a, start=MONDAY)
    body = booking(course, clinic_a.chairs.first(), local(clinic_a, MONDAY, 9))
    body["participant"] = [{"actor": {"reference": f"Patient/{other.patient_id}"}}]
    assert "Name the patient of the slot's course" in refused(booker_a.post("/fhir/Appointment", body), 422)
    body["slot"] = [{"reference": "Slot/nonsense"}]
    assert "not one this server gave" in refused(booker_a.post("/fhir/Appointment", body), 422)
    assert "slot" in refused(booker_a.post("/fhir/Appointment", {"resourceType": "Appointment"}), 400)


def test_cancelling_by_status_goes_through_the_cancel_service_and_needs_a_reason(booker_a, clinic_a):
    course = make_course(clinic_a, start=MONDAY)
    created = ok(
        booker_a.post("/fhir/Appointment", booking(course, clinic_a.chairs.first(), local(clinic_a, MONDAY, 9))), 201
    )
    path = f"/fhir/Appointment/{created['id']}"
    text = refused(booker_a.patch(path, {"status": "cancelled"}), 422)
    assert text == "Write why the appointment is cancelled; the reason is kept in its history."
    assert "only cancels" in refused(booker_a.patch(path, {"status": "arrived"}), 422)
    cancelled = ok(
        booker_a.put(path, {**created, "status": "cancelled", "cancelationReason": {"text": "Patient moved away"}})
    )
    assert cancelled["status"] == "cancelled"
    event = AppointmentEvent.objects.get(appointment_id=created["id"], action=AppointmentEvent.Action.CANCELLED)
    assert event.reason == "Patient moved away" and event.by.api_client.name == "Portal A"
    # Cancelled already: the same status again changes nothing.
    assert ok(booker_a.patch(path, {"status": "cancelled"}))["status"] == "cancelled"


def test_a_token_asked_for_with_basic_authentication_works_too(client, clinic_a):
    import base64

    made = api_client_create(name="Basic", clinics=[clinic_a], scope="read")
    secret = base64.b64encode(f"{made.client.application.client_id}:{made.client_secret}".encode()).decode()
    response = client.post(
        "/fhir/oauth/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {secret}"
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "read"
    ok(Fhir(response.json()["access_token"]).get("/fhir/Location"))


def test_a_search_page_costs_the_same_queries_for_two_appointments_as_for_twelve(reader_a, clinic_a):
    def search_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            ok(reader_a.get("/fhir/Appointment", {"status": "booked"}))
        return len(captured)

    for index in range(2):
        book_directly(course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8 + index))
    few = search_queries()
    for index in range(10):
        book_directly(
            course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY + timedelta(days=1), 8 + index % 8)
        )
    assert search_queries() == few
