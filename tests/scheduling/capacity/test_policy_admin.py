"""The overload threshold is a clinic setting its manager edits in the admin, for their own clinics only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scheduling.models import CapacityPolicy

pytestmark = pytest.mark.django_db


def test_the_manager_sets_the_threshold_of_their_clinic_in_the_admin(client, manager, clinic_a):
    client.force_login(manager)
    response = client.post(
        reverse("admin:scheduling_capacitypolicy_add"),
        {"clinic": clinic_a.pk, "overload_percent": 90, "levelling_days": 2, "offers_at_once": 5, "offer_minutes": 90},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = CapacityPolicy.objects.get(clinic=clinic_a)
    assert (policy.overload_percent, policy.levelling_days) == (90, 2)
    assert (policy.offers_at_once, policy.offer_minutes) == (5, 90)
    assert policy.levelling_limit_text == "at most 2 days earlier or later"


def test_another_clinic_cannot_be_chosen_or_seen(client, manager, clinic_a, clinic_b):
    CapacityPolicy.objects.create(clinic=clinic_b, overload_percent=70)
    client.force_login(manager)
    response = client.post(
        reverse("admin:scheduling_capacitypolicy_add"), {"clinic": clinic_b.pk, "overload_percent": 90}
    )
    assert response.status_code == 200 and not CapacityPolicy.objects.filter(overload_percent=90).exists()
    assert clinic_b.name not in client.get(reverse("admin:scheduling_capacitypolicy_changelist")).content.decode()
