"""The error pages say in a sentence what happened and what to do next, in Chairside's own look."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.helpers import DEMO_PASSWORD, make_course

pytestmark = pytest.mark.django_db


def test_a_page_outside_the_role_answers_403_with_what_to_do(client, nurse):
    client.force_login(nurse)

    page = client.get(reverse("accounts:staff"))

    assert page.status_code == 403
    html = page.content.decode()
    assert "This page is not part of your role" in html
    assert "As nurse you cannot open this page or make this change." in html
    assert "ask your clinic manager to change your role" in html
    assert 'rel="icon"' in html


def test_an_unknown_address_answers_404_with_the_way_home(client, front_desk):
    client.force_login(front_desk)

    page = client.get("/no-such-page/")

    assert page.status_code == 404
    html = page.content.decode()
    assert "Nothing is here" in html
    assert f'href="{reverse("home")}"' in html


def test_a_record_of_another_clinic_answers_the_same_404(client, staff_b, clinic_a):
    course = make_course(clinic_a, "tysabri")
    client.force_login(staff_b)

    page = client.get(reverse("patients:detail", args=[course.patient.pk]))

    assert page.status_code == 404
    assert "Nothing is here" in page.content.decode()


def test_a_server_error_page_needs_no_database_user_or_session():
    request = RequestFactory().get("/")

    page = server_error(request)

    assert page.status_code == 500
    html = page.content.decode()
    assert "Something went wrong on Chairside's side" in html
    assert "either all of it was saved or none of it" in html


def test_an_expired_form_answers_403_with_a_sentence_not_django_s_csrf_page(front_desk):
    browser = Client(enforce_csrf_checks=True)

    page = browser.post(reverse("login"), {"username": front_desk.username, "password": DEMO_PASSWORD})

    assert page.status_code == 403
    html = page.content.decode()
    assert "This form has expired" in html
    assert "reload the page, and send the form again" in html
    assert "CSRF verification failed" not in html


def test_the_icon_is_named_on_app_and_admin_pages(client, manager):
    client.force_login(manager)

    for url in (reverse("home"), reverse("admin:index")):
        html = client.get(url).content.decode()
        assert "chairside/favicon.svg" in html, url
