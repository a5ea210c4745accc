"""Every page carries a strict Content-Security-Policy and none needs an exception to it.

The policy allows scripts, styles and images from Chairside's own static files only, so a
page must hold no inline <script> and no style attribute (or an injected one would run).
Signed-in pages and the unsubscribe pages are never cached; static files and the health
check keep their own caching.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from clinic.roles import MANAGER
from patients.models import Patient
from patients.services import patient_unsubscribe_token
from tests.test_url_access import IDS, LOGOUTS, PAGES, ROLES, URL_ACCESS

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]+\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def _policy(response) -> dict[str, str]:
    header = response.get("Content-Security-Policy", "")
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


def _assert_strict(response, what):
    policy = _policy(response)
    for name, value in POLICY.items():
        assert policy.get(name) == value, (what, name, response.get("Content-Security-Policy"))
    assert "unsafe" not in response.get("Content-Security-Policy", ""), what


def _assert_nothing_inline(response, what):
    if "html" not in response.get("Content-Type", ""):
        return
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), (what, INLINE_SCRIPT.search(html).group(0))
    assert not STYLE_ATTRIBUTE.search(html), (what, STYLE_ATTRIBUTE.search(html).group(0))
    assert not EVENT_HANDLER.search(html), (what, EVENT_HANDLER.search(html).group(0))


def _fetch(client, page):
    response = client.get(page.url)
    if response.status_code == 405:
        response = client.post(page.url)
    return response


def _role_for(page) -> str:
    allowed = page.allowed()
    return MANAGER if MANAGER in allowed else next(role for role in ROLES if role in allowed)


PAGES_SIGNED_IN = [page for page in PAGES if page.name not in LOGOUTS and (page.is_admin or page.name in URL_ACCESS)]


@pytest.mark.parametrize("page", PAGES_SIGNED_IN, ids=lambda page: page.key)
def test_every_page_has_the_strict_policy_no_inline_script_or_style_and_is_not_cached(world, page):
    client = Client()
    client.force_login(world["users"][_role_for(page)])
    response = _fetch(client, page)

    _assert_strict(response, page.key)
    _assert_nothing_inline(response, page.key)
    assert "no-store" in response.get("Cache-Control", ""), (page.key, response.get("Cache-Control"))


def test_the_login_page_has_the_policy_and_nothing_inline(db):
    response = Client().get(reverse("login"))

    assert response.status_code == 200
    _assert_strict(response, "login")
    _assert_nothing_inline(response, "login")


def test_the_unsubscribe_pages_are_never_cached_and_say_nothing_of_the_treatment(world):
    patient = Patient.objects.get(pk=IDS["patient_id"])
    url = reverse("scheduling:reminders_unsubscribe", args=[patient_unsubscribe_token(patient=patient)])
    drug = world["course"].regimen.drug

    for response in (Client().get(url), Client().post(url), Client().get(url[:-5] + "wrong/")):
        _assert_strict(response, url)
        _assert_nothing_inline(response, url)
        assert "no-store" in response["Cache-Control"]
        text = response.content.decode().lower()
        assert drug.brand_name.lower() not in text and drug.generic_name.lower() not in text
        assert patient.last_name.lower() not in text


def test_an_unsubscribe_link_carries_a_random_token_not_the_patient_id(world):
    patient = Patient.objects.get(pk=IDS["patient_id"])
    token = patient_unsubscribe_token(patient=patient)

    assert len(token) >= 40 and str(patient.pk) not in token
    assert patient_unsubscribe_token(patient=Patient.objects.get(pk=patient.pk)) == token  # the same for good
    assert Client().get(reverse("scheduling:reminders_unsubscribe", args=[token])).status_code == 200


def test_the_health_check_and_static_files_keep_their_own_caching(settings, world):
    settings.WHITENOISE_USE_FINDERS = True  # serve from the apps' folders, as `make run` does
    client = Client()
    client.force_login(world["users"][MANAGER])
    health = client.get("/health/")
    assert health["Cache-Control"] == "no-store"  # its own, answered before any other middleware runs

    assert finders.find("chairside/chairside.js")
    static = client.get("/static/chairside/chairside.js")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")
