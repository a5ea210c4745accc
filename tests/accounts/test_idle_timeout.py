"""A session left alone for SESSION_IDLE_MINUTES is signed out; the page warns before and can keep it alive."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone


@pytest.fixture
def clock():
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def signed_in(client, user):
    client.force_login(user)
    assert client.get("/patients/").status_code == 200  # notes the activity


def test_after_31_minutes_without_activity_the_next_request_goes_to_the_login_page(client, front_desk, clock):
    signed_in(client, front_desk)
    clock.shift(timedelta(minutes=31))
    response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=%2Fpatients%2F"
    page = client.get(response["Location"]).content.decode()
    assert "You were signed out after 30 minutes without activity." in page
    assert "_auth_user_id" not in client.session


def test_after_29_minutes_the_session_carries_on(client, front_desk, clock):
    signed_in(client, front_desk)
    clock.shift(timedelta(minutes=29))
    assert client.get("/patients/").status_code == 200
    clock.shift(timedelta(minutes=29))
    assert client.get("/patients/").status_code == 200


def test_the_keep_alive_counts_as_activity(client, front_desk, clock):
    signed_in(client, front_desk)
    clock.shift(timedelta(minutes=28))
    assert client.post(reverse("accounts:keep_alive")).status_code == 204
    clock.shift(timedelta(minutes=28))
    assert client.get("/patients/").status_code == 200


def test_a_page_refreshing_itself_does_not_keep_the_session_alive(client, nurse, clock):
    signed_in(client, nurse)
    for _ in range(3):
        clock.shift(timedelta(minutes=10))
        client.get(reverse("scheduling:roster"), HTTP_HX_REQUEST="true", HTTP_X_CHAIRSIDE_BACKGROUND="true")
    clock.shift(timedelta(minutes=2))
    response = client.get(reverse("scheduling:roster"), HTTP_HX_REQUEST="true", HTTP_X_CHAIRSIDE_BACKGROUND="true")
    # htmx loads the login page as a whole page, not inside the roster.
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("login")


def test_the_idle_time_is_a_setting(client, front_desk, clock, settings):
    settings.SESSION_IDLE_MINUTES = 5
    signed_in(client, front_desk)
    clock.shift(timedelta(minutes=6))
    response = client.get("/patients/", follow=True)
    assert "You were signed out after 5 minutes without activity." in response.content.decode()


def test_the_page_carries_the_timeout_for_the_warning_and_loads_the_script(client, front_desk):
    signed_in(client, front_desk)
    page = client.get("/patients/").content.decode()
    assert 'data-idle-seconds="1800"' in page
    assert 'data-idle-warning-seconds="120"' in page
    assert f'data-keep-alive-url="{reverse("accounts:keep_alive")}"' in page
    assert 'src="/static/chairside/idle.js"' in page


def test_the_login_page_carries_no_timeout(client, db):
    page = client.get(reverse("login")).content.decode()
    assert "data-idle-seconds" not in page and "idle.js" not in page


def test_the_keep_alive_needs_a_post_and_a_login(client, front_desk):
    assert client.post(reverse("accounts:keep_alive"))["Location"].startswith(reverse("login"))
    client.force_login(front_desk)
    assert client.get(reverse("accounts:keep_alive")).status_code == 405
