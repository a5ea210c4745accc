"""Wrong passwords: five in a row lock that username from that address, and a manager lifts it."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from tests.accounts.support import log_in_with_two_steps
from tests.helpers import DEMO_PASSWORD, make_clinic, make_staff

TERMINAL = "10.0.0.5"
OTHER_TERMINAL = "10.0.0.9"


def log_in(client, username, password, address=TERMINAL):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address=TERMINAL):
    for _ in range(times):
        response = log_in(client, username, "not-the-password", address)
    return response


def test_five_wrong_passwords_lock_the_account_with_a_sentence_saying_what_to_do(client, front_desk):
    assert fail(client, "alice", 4).status_code == 200
    response = fail(client, "alice", 1)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Signing in as alice from this computer is locked for 30 minutes after 5 wrong passwords" in text
    assert "Wait 30 minutes and try again, or ask a clinic manager to unlock your account" in text
    assert "Log in to Chairside" in text  # the login page, styled as ever


def test_the_right_password_is_refused_while_locked(client, front_desk):
    fail(client, "alice", 5)
    response = log_in(client, "alice", DEMO_PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_holds_only_for_that_address(client, front_desk):
    fail(client, "alice", 5)
    response = log_in(client, "alice", DEMO_PASSWORD, address=OTHER_TERMINAL)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(front_desk.pk)


def test_the_lock_holds_only_for_that_account(client, front_desk, nurse):
    fail(client, "alice", 5)
    response = log_in(client, "nina", DEMO_PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(nurse.pk)


def test_a_correct_password_forgets_the_earlier_typos(client, front_desk):
    fail(client, "alice", 4)
    assert log_in(client, "alice", DEMO_PASSWORD).status_code == 302
    client.logout()
    assert fail(client, "alice", 4).status_code == 200


def test_x_forwarded_for_is_not_read_without_a_trusted_proxy(client, front_desk):
    for number in range(5):
        client.post(
            reverse("login"),
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR=TERMINAL,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        )
    assert log_in(client, "alice", DEMO_PASSWORD).status_code == 429


def test_behind_a_trusted_proxy_the_address_the_proxy_saw_counts(client, front_desk, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        client.post(
            reverse("login"),
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="172.16.0.2",
            HTTP_X_FORWARDED_FOR=f"spoofed, {TERMINAL}",
        )
    assert AccessAttempt.objects.get(username="alice").ip_address == TERMINAL
    other = client.post(
        reverse("login"),
        {"username": "alice", "password": DEMO_PASSWORD},
        REMOTE_ADDR="172.16.0.2",
        HTTP_X_FORWARDED_FOR=OTHER_TERMINAL,
    )
    assert other.status_code == 302


def test_the_staff_page_shows_the_lockout_and_the_manager_lifts_it(client, front_desk, manager):
    fail(client, "alice", 5)
    client.force_login(manager)
    page = client.get(reverse("accounts:staff")).content.decode()
    assert "Locked out" in page
    response = client.post(reverse("accounts:staff_unlock", args=[front_desk.pk]), follow=True)
    assert "Alice is unlocked" in response.content.decode()
    assert not AccessAttempt.objects.filter(username="alice").exists()
    client.logout()
    assert log_in(client, "alice", DEMO_PASSWORD).status_code == 302


def test_the_front_desk_cannot_lift_a_lockout(client, front_desk, nurse):
    fail(client, "nina", 5)
    client.force_login(front_desk)
    assert client.post(reverse("accounts:staff_unlock", args=[nurse.pk])).status_code == 403
    assert AccessAttempt.objects.filter(username="nina").exists()


def test_a_manager_cannot_lift_another_clinics_lockout(client, manager, staff_b):
    fail(client, "bob", 5)
    client.force_login(manager)
    assert client.post(reverse("accounts:staff_unlock", args=[staff_b.pk])).status_code == 404
    assert AccessAttempt.objects.filter(username="bob").exists()


@pytest.mark.parametrize("path", ["/admin/axes/accessattempt/", "/admin/axes/accesslog/"])
def test_the_admins_lockout_records_are_for_superusers_only(client, manager, path):
    client.force_login(manager)
    assert client.get(path).status_code == 403
    root = make_staff("root", None, make_clinic("Head Office"), is_staff=True, is_superuser=True)
    # A superuser always signs in with two steps.
    log_in_with_two_steps(client, root)
    assert client.get(path).status_code == 200


def test_a_user_with_no_role_cannot_open_the_staff_page(client, clinic_a):
    client.force_login(make_staff("nobody", None, clinic_a))
    assert client.get(reverse("accounts:staff")).status_code == 403


def test_the_front_desk_cannot_open_the_staff_page(client, front_desk):
    client.force_login(front_desk)
    assert client.get(reverse("accounts:staff")).status_code == 403
