"""Who opened a patient's record is logged, only managers see it, and nobody edits or deletes the log."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.accounts.support import log_in_with_two_steps
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _views(patient):
    return LogEntry.objects.get_for_object(patient).filter(action=LogEntry.Action.ACCESS)


def test_opening_a_patients_page_leaves_a_record_of_who_looked(client, nurse, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    client.force_login(nurse)

    assert client.get(reverse("patients:detail", args=[patient.pk]), REMOTE_ADDR="10.0.0.7").status_code == 200

    (view,) = _views(patient)
    assert (view.actor, view.remote_addr) == (nurse, "10.0.0.7")


def test_a_page_another_clinic_cannot_open_leaves_no_record(client, staff_b, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    client.force_login(staff_b)

    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 404
    assert not _views(patient).exists()


def test_the_manager_sees_who_looked_and_the_front_desk_does_not(client, front_desk, nurse, manager, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    url = reverse("patients:detail", args=[patient.pk])
    client.force_login(nurse)
    client.get(url)

    client.force_login(front_desk)
    page = client.get(url)
    assert page.context["record_views"] is None
    assert "Who looked at this record" not in page.content.decode()

    client.force_login(manager)
    page = client.get(url)
    rows = page.context["record_views"].rows
    assert [row.actor for row in rows] == ["Max", "Alice", "Nina"]
    assert "Who looked at this record" in page.content.decode()


@pytest.mark.parametrize("who", ["manager", "superuser"])
def test_nobody_changes_or_deletes_a_log_entry_in_the_admin(client, manager, clinic_a, who):
    patient = PatientFactory(clinic=clinic_a)
    client.force_login(manager)
    client.get(reverse("patients:detail", args=[patient.pk]))
    entry = _views(patient).get()
    if who == "manager":
        client.force_login(manager)
    else:
        log_in_with_two_steps(client, get_user_model().objects.create_superuser("root", "r@example.org", "x"))

    delete = client.post(reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"})
    change = client.post(reverse("admin:auditlog_logentry_change", args=[entry.pk]), {"object_repr": "edited"})
    bulk = client.post(
        reverse("admin:auditlog_logentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert delete.status_code in (403, 404)
    assert change.status_code == 403
    # A superuser reads the entry, read-only; a manager may not even do that.
    read = client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk]))
    assert read.status_code == (200 if who == "superuser" else 403)
    assert bulk.status_code in (200, 302, 403)
    entry.refresh_from_db()
    assert entry.object_repr != "edited"
    assert LogEntry.objects.filter(pk=entry.pk).exists()
