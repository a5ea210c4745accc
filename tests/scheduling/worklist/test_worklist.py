"""The front desk's worklist: doses due within N weeks and not yet booked, overdue first."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import Chair, Regimen
from clinic.roles import FRONT_DESK, sync_roles
from patients.models import Patient, TreatmentCourse
from scheduling.doses import dose_states_refresh
from scheduling.models import Appointment
from scheduling.worklist.selectors import worklist_rows
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import make_staff

pytestmark = pytest.mark.django_db

TODAY = date(2027, 3, 1)
URL = "/scheduling/worklist/"


@pytest.fixture(autouse=True)
def _frozen_today(time_machine, db):
    # Noon in London on 1 March 2027 (07:00 in New York): the same date in both clinics.
    time_machine.move_to(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False)
    # The role groups get their permissions after migrate; make sure this database has them.
    sync_roles()


_slots = itertools.count()


def given(course, dose_number, day, *, status=Appointment.Status.COMPLETED):
    """A ten-minute appointment on `day`, on the clinic's chairs in turn, so no two rows overlap."""
    slot = next(_slots)
    chairs = list(Chair.objects.filter(clinic=course.patient.clinic).order_by("position"))
    starts_at = datetime.combine(day, time(8, 0), tzinfo=course.patient.clinic.tz) + timedelta(
        minutes=10 * (slot // len(chairs) % 48)
    )
    return Appointment.objects.create(
        clinic=course.patient.clinic,
        chair=chairs[slot % len(chairs)],
        patient=course.patient,
        course=course,
        dose_number=dose_number,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=10),
        infusion_minutes=10,
        status=status,
    )


def course(clinic, code, start, *, last_name=None, status=TreatmentCourse.Status.ACTIVE, **extra):
    patient = PatientFactory(clinic=clinic, **({"last_name": last_name} if last_name else {}))
    return TreatmentCourseFactory(
        patient=patient, regimen=Regimen.objects.get(code=code), start_date=start, status=status, **extra
    )


def rows_of(response) -> list[tuple[str, int]]:
    return [(row.patient.last_name, row.dose.dose_number) for row in response.context["rows"]]


@pytest.fixture
def clinic_a_courses(clinic_a):
    """Tysabri courses whose dose 1 is due on their start date, and an Ocrevus course at dose 3."""
    made = {
        "Overdue-early": course(clinic_a, "tysabri", date(2027, 1, 15), last_name="Overdue-early"),
        "Overdue-late": course(clinic_a, "tysabri", date(2027, 2, 1), last_name="Overdue-late"),
        "Due": course(clinic_a, "tysabri", date(2027, 2, 27), last_name="Due"),
        "Soon": course(clinic_a, "tysabri", date(2027, 3, 10), last_name="Soon"),
        "Coming": course(clinic_a, "tysabri", date(2027, 4, 5), last_name="Coming"),
        "Beyond": course(clinic_a, "tysabri", date(2027, 4, 20), last_name="Beyond"),
        "Booked": course(clinic_a, "tysabri", date(2027, 3, 5), last_name="Booked"),
        "Paused": course(clinic_a, "tysabri", date(2027, 2, 1), last_name="Paused", status="paused"),
        "Stopped": course(clinic_a, "tysabri", date(2027, 2, 1), last_name="Stopped", status="stopped"),
        "Maintenance": course(clinic_a, "ocrevus", date(2026, 9, 8), last_name="Maintenance"),
        "Lemtrada": course(clinic_a, "lemtrada", date(2025, 1, 6), last_name="Lemtrada"),
        "Cancelled": course(clinic_a, "tysabri", date(2027, 3, 3), last_name="Cancelled"),
    }
    given(made["Booked"], 1, date(2027, 3, 5), status=Appointment.Status.BOOKED)
    given(made["Cancelled"], 1, date(2027, 3, 3), status=Appointment.Status.CANCELLED)
    # Ocrevus: doses 1 and 2 given; dose 3 is due 6 months after dose 1, on 8 March.
    given(made["Maintenance"], 1, date(2026, 9, 8))
    given(made["Maintenance"], 2, date(2026, 9, 22))
    # Lemtrada: both courses given long ago; a further course is only when the prescriber asks.
    for number, day in enumerate(
        [
            *(date(2025, 1, 6) + timedelta(days=n) for n in range(5)),
            *(date(2026, 1, 12) + timedelta(days=n) for n in range(3)),
        ],
        1,
    ):
        given(made["Lemtrada"], number, day)
    return made


def test_it_lists_unbooked_doses_due_within_six_weeks_overdue_first_then_by_target(
    client, front_desk, clinic_a_courses
):
    client.force_login(front_desk)
    response = client.get(URL)
    assert response.status_code == 200
    assert rows_of(response) == [
        ("Overdue-early", 1),
        ("Overdue-late", 1),
        ("Due", 1),
        ("Cancelled", 1),
        ("Maintenance", 3),
        ("Soon", 1),
        ("Coming", 1),
    ]
    assert [row.dose.status for row in response.context["rows"]] == [
        "overdue",
        "overdue",
        "due",
        "due_soon",
        "due_soon",
        "due_soon",
        "not_yet_due",
    ]
    html = response.content.decode()
    assert "Booked" not in [row.patient.last_name for row in response.context["rows"]]
    assert f'href="{reverse("scheduling:book", args=[clinic_a_courses["Due"].pk])}"' in html
    assert "2 overdue" in html


def test_it_orders_overdue_before_due_even_with_a_longer_window(clinic_a):
    # Two regimens with different late windows: the overdue one comes first though its target is later.
    tysabri, ocrevus = Regimen.objects.get(code="tysabri"), Regimen.objects.get(code="ocrevus")
    Regimen.objects.filter(pk=ocrevus.pk).update(late_window_days=30)
    course(clinic_a, "ocrevus", date(2027, 2, 10), last_name="Long window")
    course(clinic_a, "tysabri", date(2027, 2, 15), last_name="Short window")
    assert tysabri.late_window_days == 7
    rows = worklist_rows(clinics=[clinic_a], today=TODAY)
    assert [(row.patient.last_name, row.dose.status) for row in rows] == [
        ("Short window", "overdue"),
        ("Long window", "due"),
    ]


def test_the_weeks_filter_looks_further_ahead(client, front_desk, clinic_a_courses):
    client.force_login(front_desk)
    names = [name for name, _ in rows_of(client.get(URL, {"weeks": 8}))]
    assert names[-1] == "Beyond"
    assert "Booked" not in names


def test_the_status_filter(client, front_desk, clinic_a_courses):
    client.force_login(front_desk)
    assert rows_of(client.get(URL, {"status": "overdue"})) == [("Overdue-early", 1), ("Overdue-late", 1)]
    assert rows_of(client.get(URL, {"status": "not_yet_due"})) == [("Coming", 1)]


def test_the_drug_filter(client, front_desk, clinic_a_courses):
    client.force_login(front_desk)
    assert rows_of(client.get(URL, {"drug": "ocrevus"})) == [("Maintenance", 3)]
    assert rows_of(client.get(URL, {"drug": "briumvi"})) == []
    assert "No dose matches these filters." in client.get(URL, {"drug": "briumvi"}).content.decode()


def test_a_bad_filter_is_shown_and_the_list_stays_whole(client, front_desk, clinic_a_courses):
    client.force_login(front_desk)
    response = client.get(URL, {"weeks": "soon"})
    assert response.status_code == 200
    assert "Give a whole number of weeks from 1 to 52." in response.content.decode()
    assert len(response.context["rows"]) == 7


def test_the_clinic_filter_offers_only_the_users_clinics(client, clinic_a, clinic_b, clinic_a_courses):
    carol = make_staff("carol", FRONT_DESK, clinic_a, clinic_b)
    course(clinic_b, "tysabri", date(2027, 2, 20), last_name="Harbour")
    client.force_login(carol)
    everything = [name for name, _ in rows_of(client.get(URL))]
    assert "Harbour" in everything and "Due" in everything
    assert rows_of(client.get(URL, {"clinic": clinic_b.pk})) == [("Harbour", 1)]
    assert "Harbour" not in [name for name, _ in rows_of(client.get(URL, {"clinic": clinic_a.pk}))]


def test_clinic_b_staff_never_see_clinic_a_rows(client, staff_b, clinic_b, clinic_a_courses):
    course(clinic_b, "tysabri", date(2027, 2, 20), last_name="Harbour")
    client.force_login(staff_b)
    for params in ({}, {"clinic": clinic_b.pk}, {"clinic": clinic_a_courses["Due"].patient.clinic_id}):
        response = client.get(URL, params)
        assert rows_of(response) == [("Harbour", 1)]
        html = response.content.decode()
        for made in clinic_a_courses.values():
            assert made.patient.mrn not in html
    assert (
        "Choose one of your clinics."
        in client.get(URL, {"clinic": clinic_a_courses["Due"].patient.clinic_id}).content.decode()
    )


def test_it_needs_a_login_and_the_permission_to_see_appointments(client, clinic_a):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    someone = make_staff("dora", None, clinic_a)
    client.force_login(someone)
    assert client.get(URL).status_code == 403


def test_a_nurse_sees_the_list_without_booking_buttons(client, nurse, clinic_a_courses):
    client.force_login(nurse)
    response = client.get(URL)
    assert response.status_code == 200
    assert len(response.context["rows"]) == 7
    assert reverse("scheduling:book", args=[clinic_a_courses["Due"].pk]) not in response.content.decode()


def test_an_empty_worklist_says_so(client, front_desk):
    client.force_login(front_desk)
    assert "Nothing to book" in client.get(URL).content.decode()


def _due_patients(clinic, count: int, offset: int) -> None:
    """`count` patients each due a dose: half Tysabri at dose 2, half Ocrevus at dose 3."""
    tysabri, ocrevus = Regimen.objects.get(code="tysabri"), Regimen.objects.get(code="ocrevus")
    chairs = list(Chair.objects.filter(clinic=clinic).order_by("position"))
    patients = Patient.objects.bulk_create(
        [
            Patient(
                clinic=clinic,
                mrn=f"Q{offset + number:06d}",
                first_name="Pat",
                last_name=f"Load{offset + number:04d}",
                date_of_birth=date(1980, 1, 1),
            )
            for number in range(count)
        ]
    )
    courses = TreatmentCourse.objects.bulk_create(
        [
            TreatmentCourse(
                patient=patient,
                regimen=tysabri if number % 2 else ocrevus,
                start_date=date(2027, 2, 10) if number % 2 else date(2026, 9, 10),
            )
            for number, patient in enumerate(patients)
        ]
    )
    appointments = []
    for number, made in enumerate(courses):
        days = [date(2027, 2, 10)] if number % 2 else [date(2026, 9, 10), date(2026, 9, 24)]
        for dose_number, day in enumerate(days, 1):
            # Each patient in their own ten-minute slot on one of the chairs.
            slot = offset + number
            starts_at = datetime.combine(day, time(8, 0), tzinfo=clinic.tz) + timedelta(
                minutes=10 * (slot // len(chairs))
            )
            appointments.append(
                Appointment(
                    clinic=clinic,
                    chair=chairs[slot % len(chairs)],
                    patient=made.patient,
                    course=made,
                    dose_number=dose_number,
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(minutes=10),
                    infusion_minutes=10,
                    status=Appointment.Status.COMPLETED,
                )
            )
    Appointment.objects.bulk_create(appointments)
    # Bulk writes send no signal: they bring the stored next doses in step themselves.
    dose_states_refresh([made.pk for made in courses])


def test_the_worklist_takes_the_same_number_of_queries_for_10_and_200_due_patients_and_pages_by_50(
    client, front_desk, clinic_a
):
    client.force_login(front_desk)
    client.get(URL)  # the session and permission caches warm up the same way for both runs
    counts = {}
    for total, (count, offset) in ((10, (10, 0)), (200, (190, 10))):
        _due_patients(clinic_a, count, offset)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL)
        assert response.status_code == 200
        assert response.context["page"].paginator.count == total
        assert len(response.context["rows"]) == min(total, 50)
        assert response.content.decode().count(">Book<") == min(total, 50)
        counts[total] = len(queries)
    # The four pages hold every due course once.
    seen = [row.course.pk for page in range(1, 5) for row in client.get(URL, {"page": page}).context["rows"]]
    assert len(seen) == len(set(seen)) == 200
    assert counts[10] == counts[200]
    assert counts[10] <= 15
