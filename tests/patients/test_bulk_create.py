"""Many patients and courses at once (an import): the rules of the one-at-a-time services, all or nothing."""

from __future__ import annotations

from datetime import date

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError

from clinic.models import Regimen
from patients.models import Patient, TreatmentCourse
from patients.services import courses_create_many, patients_create_many
from scheduling.doses import dose_states_refresh
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _row(mrn: str, **fields) -> dict:
    return {"mrn": mrn, "first_name": "Ann", "last_name": "Ash", "date_of_birth": date(1980, 1, 1)} | fields


def test_patients_are_created_together_with_their_audit_entries(clinic_a, manager):
    made = patients_create_many(clinic=clinic_a, patients=[_row("A1"), _row("A2", phone="07700 900123")], by=manager)

    assert [patient.mrn for patient in made] == ["A1", "A2"]
    assert Patient.objects.get(mrn="A2").phone == "+447700900123"
    entry = LogEntry.objects.get_for_object(made[0]).get()
    assert entry.action == LogEntry.Action.CREATE and entry.actor == manager


def test_one_refused_patient_saves_none_and_says_why(clinic_a):
    PatientFactory(clinic=clinic_a, mrn="a1")

    made = patients_create_many(clinic=clinic_a, patients=[_row("A2"), _row("A1"), _row("A3", email="no")])

    assert not isinstance(made[0], ValidationError)
    assert "MRN A1 is already used" in made[1].message_dict["mrn"][0]
    assert "email" in made[2].message_dict
    assert Patient.objects.filter(clinic=clinic_a).count() == 1


def test_courses_are_refused_for_a_patient_who_holds_one_already(clinic_a):
    ocrevus = Regimen.objects.get(code="ocrevus")
    first, second = patients_create_many(clinic=clinic_a, patients=[_row("A1"), _row("A2")])
    made = courses_create_many(courses=[{"patient": first, "regimen": ocrevus, "start_date": date(2027, 1, 4)}])
    dose_states_refresh([made[0].pk])

    with pytest.raises(TypeError):
        courses_create_many(courses=[{"patient": first, "regimen": ocrevus, "start_date": date(2027, 1, 4)}])
    refused = courses_create_many(
        courses=[{"patient": second, "regimen": ocrevus, "start_date": date(2027, 1, 4), "options": ["no_such"]}]
    )

    assert "does not offer the option no_such" in refused[0].message_dict["options"][0]
    assert TreatmentCourse.objects.count() == 1
