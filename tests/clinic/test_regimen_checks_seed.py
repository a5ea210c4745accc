"""The seeded checks before the needle match the label facts, and stay the formulary managers' data."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from clinic.models import Regimen, RegimenCheck
from clinic.roles import FORMULARY
from tests.accounts.support import log_in_with_two_steps
from tests.helpers import admin_form_data, make_staff

pytestmark = pytest.mark.django_db

FACTS = Path(__file__).resolve().parents[3] / "shared" / "domain" / "ms-infusion-regimens.md"
ANTI_CD20 = ("ocrevus", "ocrevus-zunovo", "briumvi", "rituximab")


def checks(code: str) -> dict[str, RegimenCheck]:
    return {check.label: check for check in RegimenCheck.objects.filter(regimen__code=code)}


def test_every_seeded_regimen_asks_for_an_infection_check_before_every_dose():
    for regimen in Regimen.objects.all():
        infection = checks(regimen.code)["infection check"]
        assert (infection.when, infection.kind, infection.active) == ("every_dose", "tick", True), regimen.code


def test_the_anti_cd20_therapies_ask_for_hepatitis_b_screening_and_immunoglobulins_before_the_first_dose():
    for code in ANTI_CD20:
        found = checks(code)
        assert found["hepatitis B screening"].when == "first_dose", code
        assert found["serum immunoglobulins"].when == "first_dose", code
    # The label facts give immunoglobulins for rituximab nowhere: seeded as clinic protocol, unverified.
    assert not checks("rituximab")["serum immunoglobulins"].verified
    assert checks("ocrevus")["serum immunoglobulins"].verified


def test_each_programme_regimen_asks_for_its_authorization_before_every_dose():
    expected = {
        "tysabri": "TOUCH authorization",
        "tyruko": "TYRUKO REMS authorization",
        "lemtrada": "LEMTRADA REMS authorization",
    }
    assert set(Regimen.objects.filter(requires_authorization=True).values_list("code", flat=True)) == set(expected)
    for code, label in expected.items():
        authorization = RegimenCheck.objects.get(regimen__code=code, kind=RegimenCheck.Kind.AUTHORIZATION)
        assert (authorization.label, authorization.when, authorization.position) == (label, "every_dose", 1)
    assert checks("tysabri")["pre-infusion checklist"].when == "every_dose"
    assert checks("tyruko")["pre-infusion checklist"].when == "every_dose"


def test_the_pregnancy_check_is_seeded_where_the_regimen_asks_for_one():
    asking = set(Regimen.objects.filter(pregnancy_check=True).values_list("code", flat=True))
    seeded = set(RegimenCheck.objects.filter(label="pregnancy check").values_list("regimen__code", flat=True))
    assert asking == seeded == {"briumvi"}
    assert checks("briumvi")["pregnancy check"].when == "every_dose"


def test_every_seeded_check_names_its_source_and_the_facts_back_the_verified_ones():
    facts = FACTS.read_text()
    for check in RegimenCheck.objects.all():
        assert check.source, check
    for phrase in (
        "Pre-infusion Patient Checklist",
        "verify pregnancy status in females of reproductive potential",
        "verify the patient is authorized before infusing",
        "HBV screening",
        "quantitative serum immunoglobulins",
        "first day of each course",
    ):
        assert phrase in facts, phrase


def test_a_formulary_manager_s_own_list_survives_the_seed_running_again():
    tysabri = Regimen.objects.get(code="tysabri")
    RegimenCheck.objects.filter(regimen=tysabri, label="infection check").update(label="infection and vitals check")

    import_module("clinic.migrations.0009_regimen_checks").seed(django_apps, None)

    assert list(RegimenCheck.objects.filter(regimen=tysabri).values_list("label", flat=True)) == [
        "TOUCH authorization",
        "pre-infusion checklist",
        "infection and vitals check",
    ]


def test_a_formulary_manager_edits_a_check_in_the_admin_and_a_clinic_manager_only_reads_it(client, manager):
    fran = make_staff("fran", FORMULARY, first_name="Fran", is_staff=True)
    check = RegimenCheck.objects.get(regimen__code="briumvi", label="pregnancy check")
    url = reverse("admin:clinic_regimencheck_change", args=[check.pk])
    log_in_with_two_steps(client, fran)
    data = admin_form_data(client.get(url))
    data["label"] = "pregnancy status check"

    assert client.post(url, data).status_code == 302
    check.refresh_from_db()
    assert check.label == "pregnancy status check"

    client.force_login(manager)
    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["adminform"].form.fields  # read-only for a clinic manager
    assert client.post(url, {**data, "label": "changed by a manager"}).status_code == 403
