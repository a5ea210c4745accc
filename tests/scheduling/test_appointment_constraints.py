"""PostgreSQL itself refuses overlapping active appointments, whatever code writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from clinic.models import Chair
from scheduling.models import Appointment
from tests.factories import PatientFactory, TreatmentCourseFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NINE = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)


def write(*, chair, course, starts_at, minutes=240, status=Appointment.Status.BOOKED):
    """Write an appointment row directly, bypassing the booking services."""
    return Appointment.objects.create(
        clinic=chair.clinic,
        chair=chair,
        patient=course.patient,
        course=course,
        dose_number=1,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        infusion_minutes=minutes,
        status=status,
    )


@pytest.fixture
def chairs(clinic_a):
    return list(Chair.objects.filter(clinic=clinic_a)[:2])


@pytest.fixture
def courses(clinic_a):
    return [TreatmentCourseFactory(patient=PatientFactory(clinic=clinic_a)) for _ in range(2)]


def test_the_database_refuses_a_second_overlapping_appointment_on_the_same_chair(chairs, courses):
    write(chair=chairs[0], course=courses[0], starts_at=NINE)
    with pytest.raises(IntegrityError, match="appointment_chair_no_overlap"), transaction.atomic():
        write(chair=chairs[0], course=courses[1], starts_at=NINE + timedelta(hours=2))
    assert Appointment.objects.count() == 1


def test_a_cancelled_appointment_does_not_block_its_chair(chairs, courses):
    write(chair=chairs[0], course=courses[0], starts_at=NINE, status=Appointment.Status.CANCELLED)
    write(chair=chairs[0], course=courses[1], starts_at=NINE)
    assert Appointment.objects.filter(chair=chairs[0]).count() == 2


def test_a_no_show_frees_the_chair_too(chairs, courses):
    write(chair=chairs[0], course=courses[0], starts_at=NINE, status=Appointment.Status.NO_SHOW)
    write(chair=chairs[0], course=courses[1], starts_at=NINE)
    assert Appointment.objects.active().filter(chair=chairs[0]).count() == 1


def test_back_to_back_appointments_on_one_chair_are_allowed(chairs, courses):
    first = write(chair=chairs[0], course=courses[0], starts_at=NINE)
    write(chair=chairs[0], course=courses[1], starts_at=first.ends_at)
    assert Appointment.objects.filter(chair=chairs[0]).count() == 2


def test_the_database_refuses_one_patient_in_two_chairs_at_once(chairs, courses):
    write(chair=chairs[0], course=courses[0], starts_at=NINE)
    with pytest.raises(IntegrityError, match="appointment_patient_no_overlap"), transaction.atomic():
        write(chair=chairs[1], course=courses[0], starts_at=NINE + timedelta(minutes=30))
    assert Appointment.objects.count() == 1


def test_one_patient_may_have_back_to_back_or_cancelled_appointments_in_two_chairs(chairs, courses):
    first = write(chair=chairs[0], course=courses[0], starts_at=NINE)
    write(chair=chairs[1], course=courses[0], starts_at=first.ends_at)
    write(chair=chairs[1], course=courses[0], starts_at=NINE, status=Appointment.Status.CANCELLED)
    assert Appointment.objects.filter(patient=courses[0].patient).count() == 3


def test_reactivating_a_cancelled_appointment_into_a_taken_slot_is_refused(chairs, courses):
    cancelled = write(chair=chairs[0], course=courses[0], starts_at=NINE, status=Appointment.Status.CANCELLED)
    write(chair=chairs[0], course=courses[1], starts_at=NINE)
    cancelled.status = Appointment.Status.BOOKED
    with pytest.raises(IntegrityError), transaction.atomic():
        cancelled.save(update_fields=["status"])
