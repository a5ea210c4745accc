"""The clinic the security tests attack: ids as tests/test_url_access.py builds its URLs with."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from clinic.models import Regimen, StaffProfile
from clinic.roles import FRONT_DESK, MANAGER, NURSE
from scheduling.models import AppointmentEvent
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import make_clinic
from tests.test_url_access import IDS, NO_ROLE


def _staff(username: str, role: str | None, clinic, **fields):
    """A member of staff without a password: force_login needs none, and hashing four per page is slow."""
    user = get_user_model().objects.create(username=username, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=user).clinics.add(clinic)
    return user


@pytest.fixture
def world(clinic_a):
    """Clinic A with an Ocrevus patient booked (ids as in tests/test_url_access.py), a Lemtrada course to
    book as a series, and clinic B with a chair of its own; its cast in each role."""
    clinic_b = make_clinic("Harbour Infusion Suite", time_zone="America/New_York", chairs=2)
    today = timezone.localdate(timezone=clinic_a.tz)
    patient = PatientFactory(pk=IDS["patient_id"], clinic=clinic_a)
    course = TreatmentCourseFactory(
        pk=IDS["course_id"], patient=patient, regimen=Regimen.objects.get(code="ocrevus"), start_date=today
    )
    lemtrada = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a),
        regimen=Regimen.objects.get(code="lemtrada"),
        start_date=today + timedelta(days=7),
    )
    users = {
        FRONT_DESK: _staff("alice", FRONT_DESK, clinic_a),
        NURSE: _staff("nina", NURSE, clinic_a),
        MANAGER: _staff("max", MANAGER, clinic_a, is_staff=True),
        NO_ROLE: _staff("nobody", None, clinic_a),
    }
    starts = timezone.now() + timedelta(days=3)
    appointment = patient.appointments.create(
        pk=IDS["pk"],
        clinic=clinic_a,
        chair=clinic_a.chairs.first(),
        course=course,
        dose_number=1,
        starts_at=starts,
        ends_at=starts + timedelta(hours=4),
        infusion_minutes=210,
        booked_by=users[FRONT_DESK],
    )
    AppointmentEvent.objects.create(appointment=appointment, action=AppointmentEvent.Action.BOOKED)
    return {"clinic": clinic_a, "other_clinic": clinic_b, "course": course, "lemtrada": lemtrada, "users": users}
