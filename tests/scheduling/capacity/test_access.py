"""The capacity pages are the clinic manager's, for their own clinics only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.roles import MANAGER
from tests.helpers import make_course, make_staff

pytestmark = pytest.mark.django_db

PAGES = [
    "scheduling:capacity_forecast",
    "scheduling:capacity_forecast_csv",
    "scheduling:capacity_utilisation",
    "scheduling:capacity_utilisation_csv",
    "scheduling:authorizations_expiring",
]


@pytest.mark.parametrize("name", PAGES)
def test_the_front_desk_and_the_nurse_are_refused(client, front_desk, nurse, name):
    for user in (front_desk, nurse):
        client.force_login(user)
        assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES[:4])
def test_another_clinics_manager_gets_404_for_clinic_a(client, clinic_a, clinic_b, name):
    client.force_login(make_staff("brenda", MANAGER, clinic_b, is_staff=True))
    assert client.get(reverse(name), {"clinic": clinic_a.pk}).status_code == 404


def test_another_clinics_manager_sees_only_their_own_clinic(client, clinic_a, clinic_b):
    make_course(clinic_a, "ocrevus")
    client.force_login(make_staff("brenda", MANAGER, clinic_b, is_staff=True))
    response = client.get(reverse("scheduling:capacity_forecast"))
    assert response.context["forecast"].clinic == clinic_b
    assert response.context["forecast"].courses == 0
    assert clinic_a.name not in response.content.decode()


def test_the_authorizations_list_shows_only_the_managers_clinics(client, manager, clinic_a, clinic_b):
    from django.utils import timezone

    today = timezone.localdate()
    mine = make_course(clinic_a, "tysabri", start=today, authorization_expires_on=today)
    make_course(clinic_b, "tysabri", start=today, authorization_expires_on=today)
    client.force_login(manager)
    html = client.get(reverse("scheduling:authorizations_expiring")).content.decode()
    assert f'data-course="{mine.pk}"' in html and clinic_b.name not in html


def test_the_menu_leads_managers_to_the_capacity_pages_and_nobody_else(client, manager, front_desk, nurse):
    for user, shown in ((manager, True), (front_desk, False), (nurse, False)):
        client.force_login(user)
        page = client.get(reverse("patients:list")).content.decode()
        assert (f'href="{reverse("scheduling:capacity_forecast")}"' in page) is shown, user
