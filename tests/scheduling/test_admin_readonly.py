"""The admin shows appointments, reminders and nurse assignments read-only, and only the manager's clinics.

Every change to them goes through the services (history, nurse rules, reminder outbox); the
admin only lets a manager look, and a patient's clinic and a course's status stay put there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.models import Chair
from clinic.roles import MANAGER, NURSE, sync_roles
from patients.models import TreatmentCourse
from scheduling.booking.services import booking_create
from scheduling.models import Appointment, NurseAssignment, Reminder
from tests.conftest import make_clinic, make_staff
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import admin_form_data as _post_data
from tests.helpers import book_directly, ensure_formulary, local

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _roles(db):
    ensure_formulary()
    sync_roles()


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def chair_of(clinic) -> Chair:
    return Chair.objects.filter(clinic=clinic).order_by("position").first()


@pytest.fixture
def booked(clinic_a, front_desk):
    """Dose 1 of an Ocrevus course at clinic A, booked through the service: history and reminders."""
    course = TreatmentCourseFactory(patient=PatientFactory(clinic=clinic_a), start_date=MONDAY)
    return booking_create(
        course=course, chair=chair_of(clinic_a), starts_at=local(clinic_a, MONDAY, 9), booked_by=front_desk
    )


def row_of_each(clinic, nurse):
    """An appointment, a reminder and a nurse assignment at `clinic`."""
    course = TreatmentCourseFactory(patient=PatientFactory(clinic=clinic), start_date=MONDAY)
    appointment = book_directly(chair=chair_of(clinic), course=course, starts_at=local(clinic, MONDAY, 9))
    reminder = Reminder.objects.create(
        clinic=clinic,
        patient=course.patient,
        appointment=appointment,
        course=course,
        kind=Reminder.Kind.APPOINTMENT_UPCOMING,
        key=f"test:{appointment.pk}",
        due_at=NOW + timedelta(days=20),
    )
    assignment = NurseAssignment.objects.create(clinic=clinic, day=MONDAY, chair=chair_of(clinic), nurse=nurse)
    return {"appointment": appointment, "reminder": reminder, "nurseassignment": assignment}


def _reminder_rows(appointment):
    return sorted(Reminder.objects.filter(appointment=appointment).values_list("key", "status", "due_at"))


# --- Read-only ------------------------------------------------------------------------------------


def test_moving_an_appointment_in_the_admin_is_impossible(client, manager, booked, clinic_a):
    reminders_before = _reminder_rows(booked)
    assert reminders_before
    other_chair = Chair.objects.filter(clinic=clinic_a).exclude(pk=booked.chair_id).first()
    client.force_login(manager)
    url = reverse("admin:scheduling_appointment_change", args=[booked.pk])
    response = client.post(
        url,
        {
            "chair": other_chair.pk,
            "starts_at_0": "2027-03-02",
            "starts_at_1": "10:00:00",
            "ends_at_0": "2027-03-02",
            "ends_at_1": "14:00:00",
            "status": "booked",
            "_save": "Save",
        },
    )
    assert response.status_code == 403
    moved = Appointment.objects.get(pk=booked.pk)
    assert (moved.starts_at, moved.ends_at, moved.chair_id) == (booked.starts_at, booked.ends_at, booked.chair_id)
    assert _reminder_rows(booked) == reminders_before
    assert list(moved.events.values_list("action", flat=True)) == ["booked"]


def test_the_manager_views_an_appointment_with_its_history_and_a_link_to_change_it_in_chairside(
    client, manager, booked
):
    client.force_login(manager)
    response = client.get(reverse("admin:scheduling_appointment_change", args=[booked.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert f'href="{reverse("scheduling:appointment", args=[booked.pk])}"' in html
    assert not response.context["adminform"].form.fields  # every field is shown read-only
    (history,) = response.context["inline_admin_formsets"]
    assert not history.has_add_permission and not history.has_change_permission
    assert not history.has_delete_permission and history.has_view_permission
    assert 'name="events-0-reason"' not in html
    assert "Booked" in html


@pytest.mark.parametrize("model", ["appointment", "reminder", "nurseassignment"])
def test_nothing_is_added_or_deleted_in_the_scheduling_admin(client, manager, nurse, clinic_a, model):
    rows = row_of_each(clinic_a, nurse)
    client.force_login(manager)
    assert client.get(reverse(f"admin:scheduling_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:scheduling_{model}_change", args=[rows[model].pk])).status_code == 200
    assert client.get(reverse(f"admin:scheduling_{model}_add")).status_code == 403
    delete = reverse(f"admin:scheduling_{model}_delete", args=[rows[model].pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert type(rows[model]).objects.filter(pk=rows[model].pk).exists()


# --- The manager's clinics only -------------------------------------------------------------------


@pytest.mark.parametrize("model", ["appointment", "reminder", "nurseassignment"])
def test_a_manager_of_clinic_a_sees_nothing_of_clinic_b_in_the_scheduling_admin(
    client, manager, nurse, clinic_a, clinic_b, model
):
    ours = row_of_each(clinic_a, nurse)[model]
    theirs = row_of_each(clinic_b, make_staff("nora", NURSE, clinic_b))[model]
    client.force_login(manager)
    listed = client.get(reverse(f"admin:scheduling_{model}_changelist"))
    assert [row.pk for row in listed.context["cl"].result_list] == [ours.pk]
    for view in ("change", "history", "delete"):
        assert client.get(reverse(f"admin:scheduling_{model}_{view}", args=[theirs.pk])).status_code == 404, view


@pytest.mark.parametrize("model", ["appointment", "reminder", "nurseassignment"])
def test_the_clinic_filter_offers_only_the_managers_own_clinics(client, nurse, clinic_a, clinic_b, model):
    clinic_c = make_clinic("Riverside Day Unit")
    manager = make_staff("mara", MANAGER, clinic_a, clinic_c, is_staff=True)
    row_of_each(clinic_a, nurse)
    row_of_each(clinic_c, make_staff("nico", NURSE, clinic_c))
    row_of_each(clinic_b, make_staff("nora", NURSE, clinic_b))
    client.force_login(manager)
    html = client.get(reverse(f"admin:scheduling_{model}_changelist")).content.decode()
    assert clinic_a.name in html and clinic_c.name in html
    assert clinic_b.name not in html
    filtered = client.get(reverse(f"admin:scheduling_{model}_changelist"), {"clinic__id__exact": clinic_b.pk})
    assert list(filtered.context["cl"].result_list) == []


# --- Patients -------------------------------------------------------------------------------------


def test_a_patients_clinic_cannot_be_changed_in_the_admin(client, clinic_a):
    clinic_c = make_clinic("Riverside Day Unit")
    manager = make_staff("mara", MANAGER, clinic_a, clinic_c, is_staff=True)
    patient = PatientFactory(clinic=clinic_a, first_name="Ada")
    client.force_login(manager)
    url = reverse("admin:patients_patient_change", args=[patient.pk])
    page = client.get(url)
    assert "clinic" not in page.context["adminform"].form.fields
    data = _post_data(page)
    data["clinic"] = str(clinic_c.pk)
    data["first_name"] = "Augusta"
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    patient.refresh_from_db()
    assert patient.clinic == clinic_a
    assert patient.first_name == "Augusta"


def test_a_new_patient_in_the_admin_goes_to_one_of_the_managers_clinics(client, manager, clinic_a, clinic_b):
    client.force_login(manager)
    page = client.get(reverse("admin:patients_patient_add"))
    assert list(page.context["adminform"].form.fields["clinic"].queryset) == [clinic_a]


def test_a_courses_status_cannot_be_changed_in_the_patient_admin(client, manager, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    course = TreatmentCourseFactory(patient=patient, start_date=MONDAY)
    client.force_login(manager)
    url = reverse("admin:patients_patient_change", args=[patient.pk])
    page = client.get(url)
    (courses,) = page.context["inline_admin_formsets"]
    assert "status" not in courses.formset.forms[0].fields
    data = _post_data(page)
    data[f"{courses.formset.prefix}-0-status"] = "stopped"
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE


def test_another_clinics_patient_answers_404_in_the_admin(client, manager, clinic_b):
    patient = PatientFactory(clinic=clinic_b)
    client.force_login(manager)
    assert client.get(reverse("admin:patients_patient_change", args=[patient.pk])).status_code == 404
