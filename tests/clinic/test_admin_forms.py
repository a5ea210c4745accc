"""Clinic settings in the admin: managers only, their own clinics only, and clear form errors.

The formulary's own rules (who edits a regimen) are in tests/clinic/test_formulary_role.py.
"""

from __future__ import annotations

from datetime import date, time

import pytest
from django.urls import reverse

from clinic.models import Closure, OpeningHours, Regimen
from clinic.roles import FORMULARY
from tests.accounts.support import log_in_with_two_steps
from tests.factories import PatientFactory
from tests.helpers import admin_form_data as _post_data
from tests.helpers import make_staff

pytestmark = pytest.mark.django_db


def _inline_prefix(response, model) -> str:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise AssertionError(f"No inline for {model}")


def test_the_front_desk_and_the_nurse_cannot_open_the_admin(client, front_desk, nurse):
    for user in (front_desk, nurse):
        client.force_login(user)
        for url in ("/admin/", reverse("admin:clinic_regimen_changelist"), reverse("admin:login")):
            assert client.get(url).status_code == 403, (user, url)


def test_an_anonymous_visitor_is_sent_to_chairsides_login_page(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert b"Log in to Chairside" in response.content


def test_the_formulary_manager_edits_a_regimen(client):
    tysabri = Regimen.objects.get(code="tysabri")
    log_in_with_two_steps(client, make_staff("fran", FORMULARY, is_staff=True))
    url = reverse("admin:clinic_regimen_change", args=[tysabri.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = _post_data(page)
    data["late_window_days"] = "5"
    data["notes"] = "Checked by Fran."
    review = client.post(url, data)  # first what the edit would do, then the confirmation with its day
    assert review.status_code == 200, review.context and review.context["adminform"].form.errors
    today = review.context["review"].today.isoformat()
    confirm = {**data, "_confirm_regimen_change": "Confirm", "review-effective_from": today, "review-reason": "Check"}
    response = client.post(url, confirm)
    assert response.status_code == 302, response.context and response.context["review"].errors
    tysabri.refresh_from_db()
    assert tysabri.late_window_days == 5
    assert tysabri.notes == "Checked by Fran."


def test_opening_hours_that_close_before_they_open_are_refused_with_what_was_typed_kept(client, manager, clinic_a):
    client.force_login(manager)
    url = reverse("admin:clinic_clinic_change", args=[clinic_a.pk])
    page = client.get(url)
    data = _post_data(page)
    prefix = _inline_prefix(page, OpeningHours)
    monday = next(
        key for key, value in data.items() if key.startswith(prefix) and key.endswith("-weekday") and value == "0"
    )
    row = monday.removesuffix("-weekday")
    data[f"{row}-opens"] = "17:00"
    data[f"{row}-closes"] = "09:30"

    response = client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Closing time must be after opening time" in html
    assert 'value="17:00"' in html and 'value="09:30"' in html
    monday_hours = OpeningHours.objects.get(clinic=clinic_a, weekday=0)
    assert (monday_hours.opens, monday_hours.closes) == (time(8, 0), time(18, 0))


def test_a_closure_that_ends_before_it_starts_is_refused(client, manager, clinic_a):
    client.force_login(manager)
    url = reverse("admin:clinic_clinic_change", args=[clinic_a.pk])
    page = client.get(url)
    data = _post_data(page)
    prefix = _inline_prefix(page, Closure)
    data[f"{prefix}-TOTAL_FORMS"] = "1"
    data[f"{prefix}-0-starts_on"] = "2026-12-27"
    data[f"{prefix}-0-ends_on"] = "2026-12-24"
    data[f"{prefix}-0-reason"] = "Christmas"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "The last day cannot be before the first day." in response.content.decode()
    assert not Closure.objects.exists()


def test_a_good_closure_is_saved(client, manager, clinic_a):
    client.force_login(manager)
    url = reverse("admin:clinic_clinic_change", args=[clinic_a.pk])
    page = client.get(url)
    data = _post_data(page)
    prefix = _inline_prefix(page, Closure)
    data[f"{prefix}-TOTAL_FORMS"] = "1"
    data[f"{prefix}-0-starts_on"] = "2026-12-24"
    data[f"{prefix}-0-ends_on"] = "2026-12-27"
    data[f"{prefix}-0-reason"] = "Christmas"
    assert client.post(url, data).status_code == 302
    assert Closure.objects.get(clinic=clinic_a).ends_on == date(2026, 12, 27)


def test_the_manager_sees_only_their_own_clinics_and_patients_in_the_admin(client, manager, clinic_a, clinic_b):
    PatientFactory(clinic=clinic_a, last_name="Northcott")
    PatientFactory(clinic=clinic_b, last_name="Harbourne")
    client.force_login(manager)
    clinics = client.get(reverse("admin:clinic_clinic_changelist")).content.decode()
    assert clinic_a.name in clinics
    assert clinic_b.name not in clinics
    assert client.get(reverse("admin:clinic_clinic_change", args=[clinic_b.pk])).status_code == 404
    patients = client.get(reverse("admin:patients_patient_changelist")).content.decode()
    assert "Northcott" in patients and "Harbourne" not in patients


def test_the_manager_cannot_manage_user_accounts(client, manager):
    client.force_login(manager)
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
