"""factory_boy factories for patients, courses and appointments."""

from __future__ import annotations

from datetime import date, timedelta

import factory

from clinic.models import Regimen
from patients.models import Patient, TreatmentCourse


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = date(1980, 5, 17)
    email = factory.LazyAttribute(lambda p: f"{p.mrn.lower()}@patients.example.org")
    reminder_consent = True


class TreatmentCourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCourse

    patient = factory.SubFactory(PatientFactory)
    regimen = factory.LazyFunction(lambda: Regimen.objects.get(code="ocrevus"))
    start_date = factory.LazyFunction(lambda: date.today() - timedelta(days=30))  # noqa: DTZ011
