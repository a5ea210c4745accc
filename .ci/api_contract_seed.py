"""Seed a throwaway database for .ci/api-contract: one clinic with patients, visits and a booking API client.

Prints the client's credentials as JSON. Run with DJANGO_SETTINGS_MODULE=config.settings.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import django

django.setup()

from api.services import api_client_create  # noqa: E402
from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours, Regimen  # noqa: E402
from patients.models import Patient, TreatmentCourse  # noqa: E402
from scheduling.models import Appointment  # noqa: E402

clinic = Clinic.objects.create(name="Contract Infusion Centre", time_zone="Europe/London", phone="020 7946 0000")
for weekday in range(5):
    OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8), closes=time(18))
    NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=3)
chairs = [Chair.objects.create(clinic=clinic, name=f"Chair {number}", position=number) for number in range(1, 5)]
today = date.today()  # noqa: DTZ011 - a seed relative to the machine's day
for number, code in enumerate(["ocrevus", "tysabri", "lemtrada", "ocrevus"], start=1):
    patient = Patient.objects.create(
        clinic=clinic,
        mrn=f"C{number:04d}",
        first_name=f"Pat{number}",
        last_name="Contract",
        date_of_birth=date(1975, 1, number),
        email=f"c{number}@patients.example.org",
    )
    course = TreatmentCourse.objects.create(
        patient=patient, regimen=Regimen.objects.get(code=code), start_date=today - timedelta(days=200)
    )
    given = datetime.combine(today - timedelta(days=200), time(9), tzinfo=UTC)
    Appointment.objects.create(
        clinic=clinic,
        chair=chairs[number - 1],
        patient=patient,
        course=course,
        dose_number=1,
        starts_at=given,
        ends_at=given + timedelta(hours=3),
        infusion_minutes=180,
        status=Appointment.Status.COMPLETED,
    )
made = api_client_create(name="Contract tests", clinics=[clinic], scope="book")
print(json.dumps({"client_id": made.client.application.client_id, "client_secret": made.client_secret}))
