"""Everyone changes their own password; a manager sets passwords of and deactivates their own clinic's staff."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from clinic.roles import FRONT_DESK, MANAGER
from tests.helpers import DEMO_PASSWORD, make_clinic, make_staff

NEW_PASSWORD = "infusion-chair-lamp-42"


def test_every_signed_in_user_has_the_password_page_in_the_menu(client, clinic_a):
    client.force_login(make_staff("nobody", None, clinic_a))
    page = client.get("/").content.decode()
    assert f'href="{reverse("accounts:password_change")}"' in page


@pytest.mark.parametrize("who", ["front_desk", "nurse", "manager"])
def test_each_role_changes_their_own_password(client, db, who, request):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # Still signed in on this computer.
    assert client.get(reverse("accounts:password_change_done")).status_code == 200


def test_the_password_rules_apply_and_say_what_is_wrong(client, front_desk):
    client.force_login(front_desk)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    text = response.content.decode()
    assert response.status_code == 200
    assert "This password is too common." in text and "This password is entirely numeric." in text
    front_desk.refresh_from_db()
    assert front_desk.check_password(DEMO_PASSWORD)


def test_the_staff_page_lists_only_the_managers_own_clinics_staff_with_their_role(
    client, manager, front_desk, nurse, staff_b
):
    client.force_login(manager)
    page = client.get(reverse("accounts:staff")).content.decode()
    assert f'id="staff-{front_desk.pk}"' in page and f'id="staff-{nurse.pk}"' in page
    assert "Front desk" in page and "Nurse" in page
    assert f'id="staff-{staff_b.pk}"' not in page
    assert f'id="staff-{manager.pk}"' not in page


def test_staff_who_also_work_at_a_clinic_the_manager_does_not_run_are_left_to_an_administrator(
    client, manager, clinic_a, clinic_b
):
    both = make_staff("pat", FRONT_DESK, clinic_a, clinic_b)
    client.force_login(manager)
    assert f'id="staff-{both.pk}"' not in client.get(reverse("accounts:staff")).content.decode()
    assert client.get(reverse("accounts:staff_password", args=[both.pk])).status_code == 404


def test_superusers_are_never_on_the_staff_page(client, manager, clinic_a):
    root = make_staff("root", None, clinic_a, is_superuser=True, is_staff=True)
    client.force_login(manager)
    assert client.post(reverse("accounts:staff_active", args=[root.pk]), {"active": "0"}).status_code == 404
    root.refresh_from_db()
    assert root.is_active


def test_the_manager_sets_a_new_password_and_the_rules_apply(client, manager, front_desk):
    client.force_login(manager)
    url = reverse("accounts:staff_password", args=[front_desk.pk])
    refused = client.post(url, {"new_password1": "alice", "new_password2": "alice"})
    assert "This password is too short." in refused.content.decode()
    response = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)
    assert "New password set for Alice" in response.content.decode()
    front_desk.refresh_from_db()
    assert front_desk.check_password(NEW_PASSWORD)


def test_a_new_password_ends_the_members_other_sessions(client, manager, front_desk):
    theirs = Client()
    theirs.force_login(front_desk)
    client.force_login(manager)
    client.post(
        reverse("accounts:staff_password", args=[front_desk.pk]),
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert theirs.get("/patients/")["Location"].startswith(reverse("login"))


def test_the_manager_deactivates_and_reactivates_a_member_of_staff(client, manager, nurse):
    client.force_login(manager)
    response = client.post(reverse("accounts:staff_active", args=[nurse.pk]), {"active": "0"}, follow=True)
    assert "Nina is deactivated and signed out everywhere." in response.content.decode()
    nurse.refresh_from_db()
    assert not nurse.is_active
    client.logout()
    assert client.post(reverse("login"), {"username": "nina", "password": DEMO_PASSWORD}).status_code == 200
    client.force_login(manager)
    client.post(reverse("accounts:staff_active", args=[nurse.pk]), {"active": "1"})
    nurse.refresh_from_db()
    assert nurse.is_active


def test_a_manager_cannot_deactivate_themselves(client, manager):
    client.force_login(manager)
    assert client.post(reverse("accounts:staff_active", args=[manager.pk]), {"active": "0"}).status_code == 404
    manager.refresh_from_db()
    assert manager.is_active


def test_another_clinics_staff_answer_404_to_every_action(client, manager, staff_b):
    client.force_login(manager)
    for name in ("staff_password", "staff_active", "staff_unlock", "staff_two_step_reset"):
        assert client.post(reverse(f"accounts:{name}", args=[staff_b.pk]), {"active": "0"}).status_code == 404, name
    assert client.get(reverse("accounts:staff_password", args=[999999])).status_code == 404
    staff_b.refresh_from_db()
    assert staff_b.is_active


def test_a_manager_of_clinic_b_sees_only_clinic_b(client, staff_b, front_desk):
    other = make_staff("mark", MANAGER, staff_b.staff_profile.clinics.get(), is_staff=True)
    client.force_login(other)
    page = client.get(reverse("accounts:staff")).content.decode()
    assert f'id="staff-{staff_b.pk}"' in page and f'id="staff-{front_desk.pk}"' not in page


def test_nurses_and_the_front_desk_have_no_staff_page(client, front_desk, nurse):
    for user in (front_desk, nurse):
        client.force_login(user)
        assert client.get(reverse("accounts:staff")).status_code == 403
        assert client.post(reverse("accounts:staff_active", args=[front_desk.pk]), {"active": "0"}).status_code == 403


def test_the_staff_link_is_in_the_managers_menu_only(client, manager, front_desk):
    client.force_login(manager)
    assert f'href="{reverse("accounts:staff")}"' in client.get("/").content.decode()
    client.force_login(front_desk)
    assert f'href="{reverse("accounts:staff")}"' not in client.get("/patients/").content.decode()


def test_a_clinic_the_manager_runs_alone_counts_even_when_inactive(client, db):
    clinic = make_clinic("Quiet Unit", active=False)
    boss = make_staff("meg", MANAGER, clinic, is_staff=True)
    member = make_staff("finn", FRONT_DESK, clinic)
    client.force_login(boss)
    assert f'id="staff-{member.pk}"' in client.get(reverse("accounts:staff")).content.decode()
    client.post(reverse("accounts:staff_active", args=[member.pk]), {"active": "0"})
    member.refresh_from_db()
    assert not member.is_active
