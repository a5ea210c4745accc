"""Two-step sign-in: setting up an authenticator app, the code at login, recovery codes, what clinics require."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import PENDING_SECRET_KEY
from clinic.models import Clinic
from clinic.roles import MANAGER
from tests.accounts.support import app_for, code_now, log_in_with_two_steps
from tests.helpers import DEMO_PASSWORD, make_clinic, make_staff


def log_in(client, username):
    return client.post(reverse("login"), {"username": username, "password": DEMO_PASSWORD, "next": "/patients/"})


def set_up_app(client) -> list[str]:
    """Go through the setup page as a person would; return the recovery codes it shows."""
    page = client.get(reverse("accounts:mfa_setup"))
    assert page.status_code == 200
    key = client.session[PENDING_SECRET_KEY]
    response = client.post(reverse("accounts:mfa_setup"), {"code": code_now(key)})
    assert response.status_code == 200, response.content.decode()
    return re.findall(r'<li class="col">([a-z2-7]+)</li>', response.content.decode())


def test_a_user_sets_up_an_app_by_scanning_or_typing_the_secret_and_gets_ten_recovery_codes(client, front_desk):
    client.force_login(front_desk)
    page = client.get(reverse("accounts:mfa_setup")).content.decode()
    assert "<svg" in page and "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "otpauth://totp/Chairside%3Aalice?secret=" in page
    codes = set_up_app(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.filter(user=front_desk, confirmed=True).count() == 1
    # Shown once: the two-step page only counts them.
    overview = client.get(reverse("accounts:mfa")).content.decode()
    assert "10 recovery codes left" in overview
    assert codes[0] not in overview


def test_a_wrong_setup_code_is_refused_and_nothing_is_saved(client, front_desk):
    client.force_login(front_desk)
    client.get(reverse("accounts:mfa_setup"))
    response = client.post(reverse("accounts:mfa_setup"), {"code": "000000"})
    assert "That code does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=front_desk).exists()


def test_at_login_a_user_with_an_app_must_type_a_code_before_any_page(client, front_desk):
    device = app_for(front_desk)
    response = log_in(client, "alice")
    assert response.status_code == 302
    page = client.get("/patients/")
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("accounts:mfa_verify"))
    assert client.get(reverse("scheduling:worklist")).status_code == 302
    wrong = client.post(reverse("accounts:mfa_verify"), {"code": "123456", "next": "/patients/"})
    assert "That code does not match" in wrong.content.decode()
    device.throttle_reset()  # the second a wrong code costs has passed
    right = client.post(reverse("accounts:mfa_verify"), {"code": code_now(device.key), "next": "/patients/"})
    assert right.status_code == 302 and right["Location"] == "/patients/"
    assert client.get("/patients/").status_code == 200


def test_a_recovery_code_works_once(client, front_desk):
    client.force_login(front_desk)
    codes = set_up_app(client)
    client.logout()
    log_in(client, "alice")
    assert client.post(reverse("accounts:mfa_verify"), {"code": codes[0].upper()}).status_code == 302
    assert client.get("/patients/").status_code == 200
    client.logout()
    log_in(client, "alice")
    again = client.post(reverse("accounts:mfa_verify"), {"code": codes[0]})
    assert "That code does not match" in again.content.decode()
    assert client.get("/patients/").status_code == 302
    assert StaticToken.objects.filter(device__user=front_desk).count() == 9


def test_a_wrong_code_makes_the_next_try_wait(client, front_desk):
    device = app_for(front_desk)
    client.force_login(front_desk)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.post(reverse("accounts:mfa_verify"), {"code": "000000"})
        response = client.post(reverse("accounts:mfa_verify"), {"code": code_now(device.key)})
        assert "the next try must wait a little: wait 1 second, then" in response.content.decode()
        assert client.get("/patients/").status_code == 302
        clock.shift(timedelta(seconds=2))
        assert client.post(reverse("accounts:mfa_verify"), {"code": code_now(device.key)}).status_code == 302
    assert client.get("/patients/").status_code == 200


def test_a_manager_of_a_clinic_that_requires_it_is_sent_to_set_it_up_first(client, db):
    clinic = make_clinic("Eastgate Infusion Unit", require_mfa_for_managers=True)
    manager = make_staff("mona", MANAGER, clinic, is_staff=True)
    client.force_login(manager)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:mfa_setup"))
    assert client.get(reverse("accounts:password_change")).status_code == 302
    set_up_app(client)
    assert client.get("/").status_code == 200


def test_a_clinic_can_require_it_of_everyone(client, db):
    clinic = make_clinic("Eastgate Infusion Unit", require_mfa_for_everyone=True)
    nurse = make_staff("nell", "Nurse", clinic)
    client.force_login(nurse)
    assert client.get(reverse("scheduling:roster"))["Location"].startswith(reverse("accounts:mfa_setup"))


def test_a_front_desk_of_a_clinic_requiring_it_only_of_managers_goes_straight_in(client, db):
    clinic = make_clinic("Eastgate Infusion Unit", require_mfa_for_managers=True)
    client.force_login(make_staff("fred", "Front desk", clinic))
    assert client.get("/patients/").status_code == 200


def test_a_new_clinic_requires_it_of_its_managers(db):
    clinic = Clinic.objects.create(name="Westway Infusion Clinic", time_zone="Europe/London")
    assert clinic.require_mfa_for_managers and not clinic.require_mfa_for_everyone


def test_the_admin_refuses_a_manager_who_has_not_typed_a_code(client, db):
    clinic = make_clinic("Eastgate Infusion Unit", require_mfa_for_managers=True)
    manager = make_staff("mona", MANAGER, clinic, is_staff=True)
    client.force_login(manager)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:mfa_setup"))
    log_in_with_two_steps(client, manager)
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize("has_app", [True, False])
def test_the_admin_holds_the_line_on_its_own(has_app, db):
    """Even reached past the middleware, the admin's own wrapper refuses a session without the second step."""
    clinic = make_clinic("Eastgate Infusion Unit", require_mfa_for_managers=not has_app)
    manager = make_staff("mona", MANAGER, clinic, is_staff=True)
    if has_app:
        app_for(manager)
    request = RequestFactory().get("/admin/")
    request.user = manager
    manager.is_verified = lambda: False
    view = admin.site.admin_view(lambda request: HttpResponse("the admin"))
    with pytest.raises(PermissionDenied):
        view(request)
    manager.is_verified = lambda: True
    assert view(request).status_code == 200


def test_a_manager_resets_a_lost_phone_and_the_user_sets_up_again(client, front_desk, manager):
    app_for(front_desk)
    client.force_login(manager)
    response = client.post(reverse("accounts:staff_two_step_reset", args=[front_desk.pk]), follow=True)
    assert "authenticator app is removed" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=front_desk).exists()


def test_new_recovery_codes_replace_the_old_ones(client, front_desk):
    client.force_login(front_desk)
    old = set_up_app(client)
    response = client.post(reverse("accounts:recovery_codes_new"))
    new = re.findall(r'<li class="col">([a-z2-7]+)</li>', response.content.decode())
    assert len(new) == 10 and not set(old) & set(new)
    assert not StaticToken.objects.filter(device__user=front_desk, token__in=old).exists()


def test_logging_out_is_open_before_the_code(client, front_desk):
    app_for(front_desk)
    client.force_login(front_desk)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
