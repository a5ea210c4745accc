"""The audit trail: every change has its who, when, from where and old and new values, and the pages show it."""

from __future__ import annotations

from datetime import date

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.history import HIDDEN, NO_REQUEST, about, changes_to, history
from clinic.models import (
    Chair,
    Clinic,
    Closure,
    Drug,
    MonitoringRule,
    NurseStaffing,
    OpeningHours,
    Regimen,
    RegimenPhase,
    StaffProfile,
)
from clinic.roles import FRONT_DESK, NURSE
from patients.models import Patient, TreatmentCourse
from scheduling.booking.services import booking_cancel, booking_create
from scheduling.models import Appointment, NurseAssignment
from scheduling.roster.services import nurse_assign
from tests.accounts.support import log_in_with_two_steps
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import admin_form_data, local, make_course, make_staff

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)


def _entries(instance):
    return LogEntry.objects.get_for_object(instance).exclude(action=LogEntry.Action.ACCESS).order_by("timestamp", "pk")


def _patient_form(patient: Patient, **changes) -> dict:
    data = {
        "mrn": patient.mrn,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "email": patient.email,
        "phone": patient.phone,
        "reminder_consent": "on" if patient.reminder_consent else "",
        "reminder_channel": patient.reminder_channel,
        "notes": patient.notes,
    }
    data.update(changes)
    return data


# --- Patients and courses, from the app ---------------------------------------------------------


def test_a_patient_edit_on_the_page_keeps_who_when_where_and_the_old_and_new_value(client, front_desk, clinic_a):
    patient = PatientFactory(clinic=clinic_a, email="old@example.org")
    client.force_login(front_desk)

    response = client.post(
        reverse("patients:edit", args=[patient.pk]),
        _patient_form(patient, email="new@example.org"),
        REMOTE_ADDR="10.1.2.3",
    )

    assert response.status_code == 302
    (entry,) = _entries(patient).filter(action=LogEntry.Action.UPDATE)
    assert entry.actor == front_desk
    assert entry.changes == {"email": ["old@example.org", "new@example.org"]}
    assert entry.remote_addr == "10.1.2.3"
    assert entry.additional_data == {"via": "app"}


def test_the_patient_page_shows_the_history_newest_first(client, front_desk, nurse, clinic_a):
    patient = PatientFactory(clinic=clinic_a, email="old@example.org")
    client.force_login(front_desk)
    client.post(reverse("patients:edit", args=[patient.pk]), _patient_form(patient, email="new@example.org"))
    client.post(reverse("patients:edit", args=[patient.pk]), _patient_form(patient, email="newer@example.org"))

    for user in (front_desk, nurse):
        client.force_login(user)
        page = client.get(reverse("patients:detail", args=[patient.pk]))
        rows = page.context["history"].rows
        assert [(row.action, row.actor) for row in rows[:2]] == [("Changed", "Alice"), ("Changed", "Alice")]
        assert rows[0].changes[0].old == "new@example.org"
        assert rows[0].changes[0].new == "newer@example.org"
        assert "new@example.org → newer@example.org" in page.content.decode()


def test_a_course_edit_is_on_the_course_page_with_the_old_and_new_value(client, front_desk, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    course = TreatmentCourseFactory(patient=patient, start_date=date(2027, 1, 4))
    url = reverse("patients:course_edit", args=[patient.pk, course.pk])
    client.force_login(front_desk)

    response = client.post(
        url,
        {"regimen": course.regimen.pk, "start_date": "2027-01-11", "authorization_number": "", "notes": "Moved."},
    )

    assert response.status_code == 302, response.context and response.context["form"].errors
    entry = _entries(course).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == front_desk
    assert entry.changes["start_date"] == ["2027-01-04", "2027-01-11"]
    page = client.get(url)
    (row,) = [row for row in page.context["history"].rows if row.action == "Changed"]
    assert row.what == f"Course on {course.regimen.name}"
    assert ("Start date", "4 Jan 2027", "11 Jan 2027") in [(c.field, c.old, c.new) for c in row.changes]
    assert "4 Jan 2027 → 11 Jan 2027" in page.content.decode()


# --- Appointments and nurse assignments, through the services ------------------------------------


def test_a_booking_and_a_cancel_through_the_services_are_in_the_patients_history(client, clinic_a, front_desk):
    course = make_course(clinic_a, "ocrevus", start=date(2027, 3, 17))
    chair = clinic_a.chairs.order_by("position").first()

    with set_actor(front_desk):
        appointment = booking_create(
            course=course, chair=chair, starts_at=local(clinic_a, 2027, 3, 17, 9, 0), booked_by=front_desk
        )
        booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell.")

    created, cancelled = _entries(appointment)
    assert (created.action, created.actor) == (LogEntry.Action.CREATE, front_desk)
    assert created.changes["status"] == [None, "booked"]
    assert (cancelled.action, cancelled.actor) == (LogEntry.Action.UPDATE, front_desk)
    assert cancelled.changes == {"status": ["booked", "cancelled"]}

    client.force_login(front_desk)
    rows = client.get(reverse("patients:detail", args=[course.patient.pk])).context["history"].rows
    newest = rows[0]
    assert newest.what == "Appointment, dose 1 on 17 Mar 2027"
    assert [(c.field, c.old, c.new) for c in newest.changes] == [("Status", "Booked", "Cancelled")]
    booked = next(row for row in rows if row.action == "Created" and row.what.startswith("Appointment"))
    # Moments are shown on the clinic's clock, not in UTC.
    assert ("Starts at", "—", "17 Mar 2027, 09:00") in [(c.field, c.old, c.new) for c in booked.changes]


def test_a_nurse_reassignment_keeps_the_previous_nurse_in_the_history(clinic_a, manager, nurse):
    other_nurse = make_staff("nadia", NURSE, clinic_a, first_name="Nadia")
    chair = clinic_a.chairs.first()

    with set_actor(manager):
        nurse_assign(clinic=clinic_a, day=MONDAY, chair=chair, nurse=nurse, by=manager)
        nurse_assign(clinic=clinic_a, day=MONDAY, chair=chair, nurse=other_nurse, by=manager)

    assignment = NurseAssignment.objects.get(day=MONDAY, chair=chair)
    created, reassigned = _entries(assignment)
    assert created.actor == reassigned.actor == manager
    assert reassigned.changes["nurse"] == [nurse.pk, other_nurse.pk]
    (row, _) = history(changes_to(about(NurseAssignment.objects.filter(pk=assignment.pk))), time_zone=clinic_a.tz).rows
    assert ("Nurse", "Nina", "Nadia") in [(c.field, c.old, c.new) for c in row.changes]


def test_a_change_made_outside_a_request_says_so_and_has_no_user(clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    patient.notes = "Changed in a shell."
    patient.save()

    (row, _) = history(changes_to(about(Patient.objects.filter(pk=patient.pk))), time_zone=clinic_a.tz).rows
    assert (row.actor, row.via, row.address) == ("", NO_REQUEST, "")


# --- Configuration, users and roles, from the admin ---------------------------------------------


def test_an_admin_edit_of_a_chair_is_in_its_history_and_the_clinics(client, manager, clinic_a):
    chair = clinic_a.chairs.order_by("position").first()
    old_name = chair.name
    url = reverse("admin:clinic_chair_change", args=[chair.pk])
    client.force_login(manager)
    data = admin_form_data(client.get(url))
    data["name"] = "Recliner by the window"

    response = client.post(url, data, REMOTE_ADDR="10.9.8.7")

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    (entry,) = _entries(chair).filter(action=LogEntry.Action.UPDATE)
    assert (entry.actor, entry.remote_addr, entry.additional_data) == (manager, "10.9.8.7", {"via": "admin"})
    assert entry.changes == {"name": [old_name, "Recliner by the window"]}
    for page in (
        reverse("admin:clinic_chair_history", args=[chair.pk]),
        reverse("admin:clinic_clinic_history", args=[clinic_a.pk]),
    ):
        response = client.get(page)
        assert response.status_code == 200
        assert f"{old_name} → Recliner by the window" in response.content.decode()
        assert "10.9.8.7" in response.content.decode()


def test_an_opening_hour_removed_in_the_admin_stays_in_the_clinics_history(client, manager, clinic_a):
    hours = clinic_a.opening_hours.order_by("weekday").first()
    client.force_login(manager)

    with set_actor(manager):
        hours.delete()

    page = client.get(reverse("admin:clinic_clinic_history", args=[clinic_a.pk]))
    (row,) = [row for row in page.context["history"].rows if row.action == "Deleted"]
    assert (row.what, row.actor) == ("Opening hours", "Max")


def test_an_admin_edit_of_a_regimen_phase_is_in_the_regimens_history(client):
    admin_user = get_user_model().objects.create_superuser("root", "root@example.org", "x-unused-x")
    regimen = Regimen.objects.get(code="ocrevus")
    phase = regimen.phases.order_by("position").first()
    url = reverse("admin:clinic_regimen_change", args=[regimen.pk])
    log_in_with_two_steps(client, admin_user)
    page = client.get(url)
    data = admin_form_data(page)
    (phases,) = [
        inline.formset for inline in page.context["inline_admin_formsets"] if inline.formset.model is RegimenPhase
    ]
    (index,) = [n for n, form in enumerate(phases.forms) if form.instance.pk == phase.pk]
    data[f"{phases.prefix}-{index}-dose_label"] = "300 mg IV, two bags"
    review = client.post(url, data)  # the regimen's edits are reviewed, then confirmed with their day
    assert review.status_code == 200, review.context and review.context["adminform"].form.errors
    data |= {
        "_confirm_regimen_change": "Confirm",
        "review-effective_from": review.context["review"].today.isoformat(),
        "review-reason": "Two bags",
    }

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["review"].errors
    (entry,) = _entries(phase).filter(action=LogEntry.Action.UPDATE)
    assert entry.actor == admin_user
    assert entry.changes == {"dose_label": [phase.dose_label, "300 mg IV, two bags"]}
    history_page = client.get(reverse("admin:clinic_regimen_history", args=[regimen.pk]))
    assert f"{phase.dose_label} → 300 mg IV, two bags" in history_page.content.decode()


def test_a_user_added_to_a_group_is_logged_on_the_user(clinic_a, manager):
    user = make_staff("fred", None, clinic_a, first_name="Fred")

    with set_actor(manager):
        user.groups.add(Group.objects.get(name=FRONT_DESK))

    (entry,) = _entries(user).filter(changes__has_key="groups")
    assert entry.actor == manager
    assert entry.changes["groups"] == {"type": "m2m", "operation": "add", "objects": [FRONT_DESK]}


def test_a_password_change_is_logged_without_the_password(clinic_a, front_desk):
    front_desk.set_password("a-new-long-password-9")
    front_desk.save()

    (entry,) = _entries(front_desk).filter(action=LogEntry.Action.UPDATE, changes__has_key="password")
    assert entry.changes["password"] == [HIDDEN, HIDDEN]


def test_the_clinic_history_leaves_out_another_clinics_changes(client, manager, clinic_a, clinic_b):
    chair_b = clinic_b.chairs.first()
    chair_b.name = "Harbour bay"
    chair_b.save()
    client.force_login(manager)

    page = client.get(reverse("admin:clinic_clinic_history", args=[clinic_a.pk]))

    assert page.status_code == 200
    assert "Harbour bay" not in page.content.decode()


def test_a_manager_sees_nothing_of_another_clinics_history(client, manager, clinic_b):
    chair_b = clinic_b.chairs.first()
    patient_b = PatientFactory(clinic=clinic_b)
    client.force_login(manager)

    assert client.get(reverse("admin:clinic_clinic_history", args=[clinic_b.pk])).status_code == 404
    assert client.get(reverse("admin:clinic_chair_history", args=[chair_b.pk])).status_code == 404
    assert client.get(reverse("admin:patients_patient_history", args=[patient_b.pk])).status_code == 404
    assert client.get(reverse("admin:auditlog_logentry_changelist")).status_code == 403


def test_every_kind_of_record_chairside_keeps_is_audited():
    kinds = [Patient, TreatmentCourse, Appointment, NurseAssignment, Clinic, Chair, OpeningHours, Closure]
    kinds += [NurseStaffing, Drug, Regimen, RegimenPhase, MonitoringRule, StaffProfile, get_user_model(), Group]
    assert [kind for kind in kinds if not auditlog.contains(kind)] == []
