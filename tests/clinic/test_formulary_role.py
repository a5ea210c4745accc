"""The formulary (drugs and regimens) is shared by every clinic: only the formulary role changes it.

A clinic manager reads it in the admin and cannot change it; the formulary manager, who works
for no clinic, edits it and sees nothing of any clinic.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.mfa import mfa_required
from clinic.models import Drug, Regimen
from clinic.roles import FORMULARY, MANAGER, sync_roles
from tests.accounts.support import log_in_with_two_steps
from tests.factories import PatientFactory
from tests.helpers import admin_form_data, make_staff

pytestmark = pytest.mark.django_db

FORMULARY_MODELS = ("drug", "regimen", "regimenphase", "monitoringrule", "regimencheck", "ratestep")


@pytest.fixture
def formulary_manager(db):
    """Fran keeps the formulary for the whole organisation and works at no clinic."""
    return make_staff("fran", FORMULARY, first_name="Fran", is_staff=True)


def _codenames(role: str) -> set[str]:
    return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def test_sync_roles_gives_the_formulary_role_alone_the_changes_to_the_formulary():
    Group.objects.filter(name=FORMULARY).delete()
    sync_roles()
    assert _codenames(FORMULARY) == {
        f"{action}_{model}" for model in FORMULARY_MODELS for action in ("add", "change", "view")
    } | {"view_regimenchange"}
    manager = _codenames(MANAGER)
    assert {f"view_{model}" for model in FORMULARY_MODELS} <= manager
    assert not {f"{action}_{model}" for model in FORMULARY_MODELS for action in ("add", "change", "delete")} & manager
    for group in Group.objects.exclude(name=FORMULARY):
        assert not {f"change_{model}" for model in FORMULARY_MODELS} & _codenames(group.name), group.name


def test_a_clinic_manager_reads_a_regimen_but_cannot_change_it(client, manager, formulary_manager):
    tysabri = Regimen.objects.get(code="tysabri")
    url = reverse("admin:clinic_regimen_change", args=[tysabri.pk])
    log_in_with_two_steps(client, formulary_manager)
    data = admin_form_data(client.get(url))
    data["late_window_days"] = "3"
    client.force_login(manager)

    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields  # every field shown read-only
    assert 'name="_save"' not in page.content.decode()
    assert client.post(url, data).status_code == 403
    tysabri.refresh_from_db()
    assert tysabri.late_window_days == 7


def test_a_clinic_manager_cannot_add_or_change_a_drug(client, manager):
    ocrevus = Drug.objects.get(code="ocrevus")
    client.force_login(manager)
    assert client.get(reverse("admin:clinic_drug_changelist")).status_code == 200
    assert client.get(reverse("admin:clinic_drug_add")).status_code == 403
    assert client.get(reverse("admin:clinic_regimen_add")).status_code == 403
    new_drug = {"code": "newdrug", "brand_name": "Newdrug", "generic_name": "newmab", "route": "IV", "active": "on"}
    assert client.post(reverse("admin:clinic_drug_add"), new_drug).status_code == 403
    change = reverse("admin:clinic_drug_change", args=[ocrevus.pk])
    assert client.post(change, {**new_drug, "code": "ocrevus", "brand_name": "Renamed"}).status_code == 403
    assert not Drug.objects.filter(code="newdrug").exists()
    ocrevus.refresh_from_db()
    assert ocrevus.brand_name == "Ocrevus"


def test_the_formulary_manager_adds_a_drug_and_changes_a_regimens_phase(client, formulary_manager):
    log_in_with_two_steps(client, formulary_manager)
    new_drug = {"code": "newdrug", "brand_name": "Newdrug", "generic_name": "newmab", "route": "IV", "active": "on"}
    assert client.post(reverse("admin:clinic_drug_add"), new_drug).status_code == 302
    assert Drug.objects.get(code="newdrug").generic_name == "newmab"

    tysabri = Regimen.objects.get(code="tysabri")
    url = reverse("admin:clinic_regimen_change", args=[tysabri.pk])
    page = client.get(url)
    (phases, _monitoring, _checks) = page.context["inline_admin_formsets"]
    data = admin_form_data(page)
    data[f"{phases.formset.prefix}-0-infusion_minutes"] = "45"
    review = client.post(url, data)
    assert review.status_code == 200, review.context and review.context["adminform"].form.errors
    assert tysabri.phases.get().infusion_minutes == 60  # shown for review, not saved yet
    confirm = {**data, "_confirm_regimen_change": "Confirm", "review-reason": "New label"}
    confirm["review-effective_from"] = review.context["review"].today.isoformat()
    response = client.post(url, confirm)
    assert response.status_code == 302, response.context and response.context["review"].errors
    assert tysabri.phases.get().infusion_minutes == 45


def test_the_formulary_manager_must_sign_in_with_two_steps_before_the_admin(client, formulary_manager):
    client.force_login(formulary_manager)  # the password alone

    response = client.get(reverse("admin:clinic_regimen_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa_setup"))
    assert mfa_required(formulary_manager)


def test_nobody_deletes_a_drug_or_a_regimen_in_the_admin(client, formulary_manager):
    log_in_with_two_steps(client, formulary_manager)
    for model in (Drug, Regimen):
        row = model.objects.get(code="ocrevus")
        url = reverse(f"admin:clinic_{model._meta.model_name}_delete", args=[row.pk])
        assert client.post(url, {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=row.pk).exists()


def test_the_formulary_manager_sees_no_clinic_and_no_patient(client, formulary_manager, clinic_a):
    patient = PatientFactory(clinic=clinic_a, last_name="Northwood")
    log_in_with_two_steps(client, formulary_manager)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert [app["app_label"] for app in index.context["app_list"]] == ["clinic"]
    # Drugs, regimens, every regimen's checks before the needle and rate steps in one list each.
    assert {model["object_name"] for model in index.context["app_list"][0]["models"]} == {
        "Drug",
        "Regimen",
        "RegimenCheck",
        "RateStep",
        "RegimenChange",
    }
    for name in ("clinic_clinic", "clinic_chair", "patients_patient", "scheduling_appointment", "auth_group"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403, name
    assert client.get(reverse("admin:patients_patient_change", args=[patient.pk])).status_code in (403, 404)
    assert client.get(reverse("admin:clinic_clinic_change", args=[clinic_a.pk])).status_code in (403, 404)


def test_a_clinic_manager_cannot_give_themselves_the_formulary_role(client, manager):
    formulary = Group.objects.get(name=FORMULARY)
    client.force_login(manager)
    staff_page = client.get(reverse("accounts:staff"))
    assert staff_page.status_code == 200
    assert FORMULARY not in staff_page.content.decode()
    user_change = reverse("admin:auth_user_change", args=[manager.pk])
    assert client.get(user_change).status_code == 403
    response = client.post(user_change, {"username": manager.username, "groups": [formulary.pk], "is_staff": "on"})
    assert response.status_code == 403
    assert client.post(reverse("admin:auth_group_change", args=[formulary.pk]), {"name": FORMULARY}).status_code == 403
    assert not manager.groups.filter(name=FORMULARY).exists()
