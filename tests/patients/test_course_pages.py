"""Starting and editing a patient's treatment course, with the options its regimen offers."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinic.models import Regimen
from patients.models import TreatmentCourse
from patients.services import course_create, course_update
from tests.factories import PatientFactory, TreatmentCourseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(clinic_a):
    return PatientFactory(clinic=clinic_a)


@pytest.fixture
def retired_regimen():
    """A regimen the clinic no longer starts courses on."""
    regimen = Regimen.objects.get(code="rituximab")
    regimen.active = False
    regimen.save(update_fields=["active"])
    return regimen


def _course_data(regimen, **overrides):
    data = {
        "regimen": regimen.pk,
        "start_date": "2026-12-01",
        "authorization_number": "",
        "authorization_expires_on": "",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_the_front_desk_starts_a_tysabri_course_on_the_extended_interval(client, front_desk, patient):
    tysabri = Regimen.objects.get(code="tysabri")
    client.force_login(front_desk)
    response = client.post(
        reverse("patients:course_create", args=[patient.pk]),
        _course_data(
            tysabri,
            options=["extended_interval"],
            authorization_number="TOUCH-1234",
            authorization_expires_on="2027-06-01",
        ),
    )
    assert response.status_code == 302
    course = patient.courses.get()
    assert course.regimen == tysabri
    assert course.options == {"extended_interval": True}
    assert course.option_enabled("extended_interval")
    assert course.authorization_number == "TOUCH-1234"
    assert course.authorization_expires_on == date(2027, 6, 1)
    assert course.created_by == front_desk


def test_the_course_form_offers_only_active_regimens(client, front_desk, patient, retired_regimen):
    client.force_login(front_desk)
    response = client.get(reverse("patients:course_create", args=[patient.pk]))
    offered = list(response.context["form"].fields["regimen"].queryset)
    assert retired_regimen not in offered
    assert Regimen.objects.get(code="ocrevus") in offered


def test_the_regimen_choices_name_the_generic_drug_once(client, front_desk, patient):
    client.force_login(front_desk)
    response = client.get(reverse("patients:course_create", args=[patient.pk]))
    labels = [label for _value, label in response.context["form"].fields["regimen"].choices if _value]

    assert "Briumvi (ublituximab IV)" in labels
    assert "Tysabri (natalizumab IV)" in labels
    assert not [label for label in labels if label.count("(") > 1 and "off-label" not in label], labels
    # Its drug is in its name too: "(rituximab (and biosimilars))" is not added.
    assert "Rituximab (off-label in MS, clinic protocol)" in labels


def test_a_course_on_a_regimen_that_is_not_active_is_refused_with_what_was_typed_kept(
    client, front_desk, patient, retired_regimen
):
    client.force_login(front_desk)
    response = client.post(
        reverse("patients:course_create", args=[patient.pk]),
        _course_data(retired_regimen, authorization_number="AUTH-99", notes="Referred by Dr Khan"),
    )
    assert response.status_code == 200
    assert not TreatmentCourse.objects.exists()
    assert "not active" in response.context["form"].errors["regimen"][0]
    html = response.content.decode()
    assert 'value="AUTH-99"' in html and "Referred by Dr Khan" in html


def test_course_create_refuses_a_regimen_that_is_not_active(patient, retired_regimen):
    with pytest.raises(ValidationError) as refused:
        course_create(patient=patient, regimen=retired_regimen, start_date=date(2026, 12, 1))
    assert "not active" in refused.value.message_dict["regimen"][0]
    assert not TreatmentCourse.objects.exists()


def test_course_create_refuses_an_option_the_regimen_does_not_offer(patient):
    with pytest.raises(ValidationError) as refused:
        course_create(
            patient=patient,
            regimen=Regimen.objects.get(code="ocrevus"),
            start_date=date(2026, 12, 1),
            options=["extended_interval"],
        )
    assert "extended_interval" in refused.value.message_dict["options"][0]
    assert not TreatmentCourse.objects.exists()


def test_the_options_follow_the_regimen_chosen(client, front_desk, patient):
    client.force_login(front_desk)
    url = reverse("patients:course_options")
    tysabri = client.post(url, {"regimen": Regimen.objects.get(code="tysabri").pk}, headers={"HX-Request": "true"})
    assert b'value="extended_interval"' in tysabri.content
    assert b"short_infusion" not in tysabri.content
    ocrevus = client.post(
        url,
        {"regimen": Regimen.objects.get(code="ocrevus").pk, "options": ["extended_interval", "short_infusion"]},
        headers={"HX-Request": "true"},
    )
    html = ocrevus.content.decode()
    assert 'value="short_infusion"' in html and "checked" in html
    assert "extended_interval" not in html
    assert "<html" not in html
    lemtrada = client.post(url, {"regimen": Regimen.objects.get(code="lemtrada").pk})
    assert b"offers no course options" in lemtrada.content


def test_the_course_form_reloads_the_options_when_the_regimen_changes(client, front_desk, patient):
    client.force_login(front_desk)
    html = client.get(reverse("patients:course_create", args=[patient.pk])).content.decode()
    assert f'hx-post="{reverse("patients:course_options")}"' in html
    assert 'hx-trigger="change from:#id_regimen"' in html
    assert 'id="course-options"' in html


def test_editing_a_course_changes_its_options_but_not_its_status(client, manager, patient):
    course = TreatmentCourseFactory(patient=patient, regimen=Regimen.objects.get(code="ocrevus"))
    client.force_login(manager)
    edit_url = reverse("patients:course_edit", args=[patient.pk, course.pk])
    page = client.get(edit_url)
    assert page.status_code == 200
    assert "status" not in page.context["form"].fields
    response = client.post(
        edit_url,
        _course_data(
            course.regimen, start_date=course.start_date.isoformat(), status="paused", options=["short_infusion"]
        ),
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE  # a pause goes through the course status page
    assert course.options == {"short_infusion": True}


def test_the_course_edit_page_links_to_pausing_or_stopping_the_course(client, front_desk, patient):
    course = TreatmentCourseFactory(patient=patient)
    client.force_login(front_desk)
    html = client.get(reverse("patients:course_edit", args=[patient.pk, course.pk])).content.decode()
    assert f'href="{reverse("scheduling:course_status", args=[course.pk])}"' in html
    assert "Pause or stop this course" in html


def test_a_new_course_starts_active_whatever_status_is_posted(client, front_desk, patient):
    client.force_login(front_desk)
    page = client.get(reverse("patients:course_create", args=[patient.pk]))
    assert "status" not in page.context["form"].fields
    response = client.post(
        reverse("patients:course_create", args=[patient.pk]),
        _course_data(Regimen.objects.get(code="ocrevus"), status="stopped"),
    )
    assert response.status_code == 302
    assert patient.courses.get().status == TreatmentCourse.Status.ACTIVE


def test_a_course_on_a_regimen_since_retired_can_still_be_edited(client, front_desk, patient, retired_regimen):
    course = TreatmentCourseFactory(patient=patient, regimen=retired_regimen)
    client.force_login(front_desk)
    response = client.post(
        reverse("patients:course_edit", args=[patient.pk, course.pk]),
        _course_data(retired_regimen, start_date=course.start_date.isoformat(), notes="Infusions at the day unit"),
    )
    assert response.status_code == 302
    course.refresh_from_db()
    assert course.regimen == retired_regimen
    assert course.notes == "Infusions at the day unit"


def test_moving_a_course_to_a_retired_regimen_is_refused(patient, retired_regimen):
    course = TreatmentCourseFactory(patient=patient, regimen=Regimen.objects.get(code="ocrevus"))
    with pytest.raises(ValidationError):
        course_update(course=course, regimen=retired_regimen)
    course.refresh_from_db()
    assert course.regimen.code == "ocrevus"


def test_an_authorization_that_expires_before_the_course_starts_is_refused(client, front_desk, patient):
    client.force_login(front_desk)
    response = client.post(
        reverse("patients:course_create", args=[patient.pk]),
        _course_data(Regimen.objects.get(code="tysabri"), authorization_expires_on="2026-01-01"),
    )
    assert response.status_code == 200
    assert "expires before the course starts" in response.context["form"].errors["authorization_expires_on"][0]
    assert not TreatmentCourse.objects.exists()


def test_the_nurse_can_read_courses_but_not_start_or_change_them(client, nurse, patient):
    course = TreatmentCourseFactory(patient=patient)
    client.force_login(nurse)
    ocrevus = Regimen.objects.get(code="ocrevus")
    assert client.post(reverse("patients:course_create", args=[patient.pk]), _course_data(ocrevus)).status_code == 403
    edit = reverse("patients:course_edit", args=[patient.pk, course.pk])
    assert client.post(edit, _course_data(ocrevus, status="stopped")).status_code == 403
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE
