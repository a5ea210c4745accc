"""The patient list and search, registering and editing a patient, and the patient's page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import Regimen
from patients.models import Patient
from patients.services import patient_create, patient_update
from patients.views import PATIENTS_PER_PAGE
from tests.factories import PatientFactory, TreatmentCourseFactory

pytestmark = pytest.mark.django_db


def _new_patient(clinic, **overrides):
    data = {
        "clinic": clinic.pk,
        "mrn": "N-1001",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1985-12-10",
        "email": "ada@example.org",
        "phone": "020 7946 0101",
        "reminder_consent": "on",
        "reminder_channel": "email",
        "notes": "Prefers mornings.",
    }
    data.update(overrides)
    return data


# --- The list and search ----------------------------------------------------------------------


def test_the_list_shows_only_the_patients_of_the_users_clinics(client, front_desk, clinic_a, clinic_b):
    PatientFactory(clinic=clinic_a, last_name="Northcott")
    PatientFactory(clinic=clinic_b, last_name="Harbourne")
    client.force_login(front_desk)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 200
    assert b"Northcott" in response.content
    assert b"Harbourne" not in response.content


def test_a_search_by_name_or_mrn_finds_the_patient_and_only_in_the_users_clinics(
    client, front_desk, clinic_a, clinic_b
):
    PatientFactory(clinic=clinic_a, first_name="Grace", last_name="Hopper", mrn="A-777")
    PatientFactory(clinic=clinic_a, first_name="Alan", last_name="Turing", mrn="A-778")
    PatientFactory(clinic=clinic_b, first_name="Grace", last_name="Hopkins", mrn="B-777")
    client.force_login(front_desk)

    by_name = client.post(reverse("patients:list"), {"q": "grace hop"})
    assert b"Hopper" in by_name.content
    assert b"Turing" not in by_name.content
    assert b"Hopkins" not in by_name.content

    by_mrn = client.post(reverse("patients:list"), {"q": "A-778"})
    assert b"Turing" in by_mrn.content and b"Hopper" not in by_mrn.content


def test_the_search_form_posts_so_names_never_reach_the_url(client, front_desk):
    client.force_login(front_desk)
    html = client.get(reverse("patients:list")).content.decode()
    assert 'method="post"' in html
    assert 'hx-post="/patients/"' in html
    assert 'method="get"' not in html.lower()


def test_a_search_sent_by_htmx_answers_with_the_results_only(client, front_desk, clinic_a):
    PatientFactory(clinic=clinic_a, last_name="Hopper")
    client.force_login(front_desk)
    response = client.post(reverse("patients:list"), {"q": "Hop"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "Hopper" in html
    assert "<html" not in html
    assert 'id="patient-results"' in html


def test_a_search_with_no_match_says_so(client, front_desk, clinic_a):
    client.force_login(front_desk)
    response = client.post(reverse("patients:list"), {"q": "Nobody"})
    assert b"No patient in your clinics matches" in response.content


def test_the_list_is_paginated_and_a_search_keeps_its_text_across_pages(client, front_desk, clinic_a):
    for number in range(PATIENTS_PER_PAGE + 5):
        PatientFactory(clinic=clinic_a, last_name=f"Smith{number:02d}", first_name="Sam")
    PatientFactory(clinic=clinic_a, last_name="Jones")
    client.force_login(front_desk)

    first = client.get(reverse("patients:list"))
    assert first.context["page"].paginator.num_pages == 2
    assert len(first.context["page"].object_list) == PATIENTS_PER_PAGE

    second = client.post(reverse("patients:list"), {"q": "smith", "page": 2})
    assert second.context["page"].number == 2
    assert len(second.context["page"].object_list) == 5
    assert all(p.last_name.startswith("Smith") for p in second.context["page"].object_list)
    # The search box still holds the text, so the next button searches the same thing.
    assert 'value="smith"' in second.content.decode()


# --- Registering and editing ------------------------------------------------------------------


def test_the_front_desk_registers_a_patient(client, front_desk, clinic_a):
    client.force_login(front_desk)
    response = client.post(reverse("patients:create"), _new_patient(clinic_a))
    patient = Patient.objects.get(mrn="N-1001")
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert patient.clinic == clinic_a
    assert patient.reminder_consent is True
    assert patient.date_of_birth == date(1985, 12, 10)


def test_an_mrn_already_used_in_the_clinic_is_refused_with_what_was_typed_kept(client, front_desk, clinic_a):
    PatientFactory(clinic=clinic_a, mrn="N-1001")
    client.force_login(front_desk)
    response = client.post(reverse("patients:create"), _new_patient(clinic_a, first_name="Augusta"))
    assert response.status_code == 200
    assert Patient.objects.filter(mrn="N-1001").count() == 1
    errors = response.context["form"].errors
    assert "MRN N-1001 is already used by another patient at this clinic" in errors["mrn"][0], errors
    html = response.content.decode()
    assert 'value="Augusta"' in html and 'value="ada@example.org"' in html
    assert "Nothing was saved" in html


def test_the_same_mrn_at_another_clinic_is_a_different_patient(client, staff_b, clinic_a, clinic_b):
    PatientFactory(clinic=clinic_a, mrn="N-1001")
    client.force_login(staff_b)
    # Clinic B is in New York: its front desk types American numbers.
    response = client.post(reverse("patients:create"), _new_patient(clinic_b, phone="(212) 555-0101"))
    assert response.status_code == 302
    assert Patient.objects.filter(mrn="N-1001").count() == 2


def test_an_invalid_email_is_refused_and_nothing_is_saved(client, front_desk, clinic_a):
    client.force_login(front_desk)
    response = client.post(reverse("patients:create"), _new_patient(clinic_a, email="ada-at-example"))
    assert response.status_code == 200
    assert not Patient.objects.exists()
    assert "Enter an email address such as name@example.org" in response.context["form"].errors["email"][0]
    assert 'value="ada-at-example"' in response.content.decode()


def test_a_patient_cannot_be_registered_at_another_clinic(client, front_desk, clinic_a, clinic_b):
    client.force_login(front_desk)
    response = client.post(reverse("patients:create"), _new_patient(clinic_b))
    assert response.status_code == 200
    assert "clinic" in response.context["form"].errors
    assert not Patient.objects.exists()


def test_a_date_of_birth_in_the_future_is_refused(client, front_desk, clinic_a):
    client.force_login(front_desk)
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(reverse("patients:create"), _new_patient(clinic_a, date_of_birth=tomorrow.isoformat()))
    assert response.status_code == 200
    assert "future" in response.context["form"].errors["date_of_birth"][0]
    assert not Patient.objects.exists()


def test_editing_a_patient_saves_the_changes(client, front_desk, clinic_a):
    patient = PatientFactory(clinic=clinic_a, phone="")
    client.force_login(front_desk)
    data = _new_patient(clinic_a, mrn=patient.mrn, phone="07700 900123")
    del data["clinic"]
    response = client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.phone == "+447700900123"  # stored in E.164, read in the clinic's country
    assert patient.first_name == "Ada"


def test_editing_a_patient_to_an_mrn_in_use_is_refused_and_changes_nothing(client, front_desk, clinic_a):
    PatientFactory(clinic=clinic_a, mrn="TAKEN")
    patient = PatientFactory(clinic=clinic_a, mrn="MINE", first_name="Original")
    client.force_login(front_desk)
    data = _new_patient(clinic_a, mrn="TAKEN", first_name="Changed")
    del data["clinic"]
    response = client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 200
    assert "already used" in response.context["form"].errors["mrn"][0]
    assert 'value="Changed"' in response.content.decode()
    patient.refresh_from_db()
    assert (patient.mrn, patient.first_name) == ("MINE", "Original")


def test_the_nurse_cannot_register_or_edit_patients(client, nurse, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    client.force_login(nurse)
    assert client.post(reverse("patients:create"), _new_patient(clinic_a)).status_code == 403
    assert client.post(reverse("patients:edit", args=[patient.pk]), _new_patient(clinic_a)).status_code == 403
    assert Patient.objects.count() == 1


def test_patient_create_refuses_a_duplicate_mrn_whatever_its_case(clinic_a):
    from django.core.exceptions import ValidationError

    patient_create(clinic=clinic_a, mrn="abc-1", first_name="A", last_name="B", date_of_birth=date(1990, 1, 1))
    with pytest.raises(ValidationError) as refused:
        patient_create(clinic=clinic_a, mrn="ABC-1", first_name="C", last_name="D", date_of_birth=date(1990, 1, 1))
    assert "already used" in refused.value.message_dict["mrn"][0]
    assert Patient.objects.count() == 1


def test_patient_update_cannot_move_a_patient_to_another_clinic(clinic_a, clinic_b):
    patient = PatientFactory(clinic=clinic_a)
    with pytest.raises(TypeError):
        patient_update(patient=patient, clinic=clinic_b)


# --- The patient's page -----------------------------------------------------------------------


def test_staff_of_another_clinic_get_404_for_a_patient(client, staff_b, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    course = TreatmentCourseFactory(patient=patient)
    client.force_login(staff_b)
    for url in (
        reverse("patients:detail", args=[patient.pk]),
        reverse("patients:edit", args=[patient.pk]),
        reverse("patients:course_create", args=[patient.pk]),
        reverse("patients:course_edit", args=[patient.pk, course.pk]),
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"first_name": "Hijack"}).status_code == 404, url
    patient.refresh_from_db()
    assert patient.first_name != "Hijack"


def test_the_patients_page_shows_details_courses_and_appointments_in_the_clinics_time(client, nurse, clinic_a):
    patient = PatientFactory(clinic=clinic_a, first_name="Grace", last_name="Hopper", phone="020 1111")
    course = TreatmentCourseFactory(
        patient=patient, regimen=Regimen.objects.get(code="tysabri"), authorization_number="TOUCH-42"
    )
    chair = clinic_a.chairs.first()
    now = timezone.now()
    for days, status in ((-28, "completed"), (-56, "no_show"), (14, "booked")):
        starts = (now + timedelta(days=days)).replace(hour=9, minute=30, second=0, microsecond=0)
        patient.appointments.create(
            clinic=clinic_a,
            chair=chair,
            course=course,
            dose_number=1,
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            infusion_minutes=60,
            status=status,
        )
    client.force_login(nurse)
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Grace Hopper" in html and patient.mrn in html and "020 1111" in html
    assert "TOUCH-42" in html and course.regimen.name in html
    assert len(response.context["upcoming"]) == 1 and len(response.context["past"]) == 2
    assert "Completed" in html and "No-show" in html and "Booked" in html
    # Stored 09:30 UTC, shown in London time (clinic A).
    local = response.context["upcoming"][0].starts_at.astimezone(clinic_a.tz)
    assert f"{local:%H:%M}" in html
    # The dosing summary for each course, and no edit buttons for a nurse.
    assert f'id="course-{course.pk}-dosing"' in html
    assert reverse("patients:edit", args=[patient.pk]) not in html
    assert reverse("patients:course_edit", args=[patient.pk, course.pk]) not in html


def test_the_front_desk_sees_the_patients_reminders_and_the_nurse_does_not(client, front_desk, nurse, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    client.force_login(front_desk)
    assert b'id="patient-reminders"' in client.get(reverse("patients:detail", args=[patient.pk])).content
    client.force_login(nurse)
    assert b'id="patient-reminders"' not in client.get(reverse("patients:detail", args=[patient.pk])).content


def test_the_patients_name_is_not_in_the_page_title(client, front_desk, clinic_a):
    patient = PatientFactory(clinic=clinic_a, last_name="Hopper")
    client.force_login(front_desk)
    html = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    title = html.split("<title>")[1].split("</title>")[0]
    assert "Hopper" not in title


def test_a_cancelled_coming_visit_is_listed_apart_from_the_upcoming_ones(client, front_desk, clinic_a):
    from tests.helpers import book_directly, local, make_course

    course = make_course(clinic_a, "tysabri", start=timezone.localdate())
    soon = timezone.localdate() + timedelta(days=7)
    booked = book_directly(course=course, starts_at=local(clinic_a, soon, 9))
    called_off = book_directly(course=course, starts_at=local(clinic_a, soon, 14), status="cancelled")
    client.force_login(front_desk)

    html = client.get(reverse("patients:detail", args=[course.patient.pk])).content.decode()

    upcoming = html.split('id="upcoming-heading"')[1].split("</section>")[0]
    apart = html.split('id="called-off-heading"')[1].split("</section>")[0]
    assert reverse("scheduling:appointment", args=[booked.pk]) in upcoming
    assert reverse("scheduling:appointment", args=[called_off.pk]) not in upcoming
    assert reverse("scheduling:appointment", args=[called_off.pk]) in apart
    assert "Cancelled" in apart


def test_a_search_longer_than_the_field_finds_nobody_and_says_what_to_type(client, front_desk, clinic_a):
    PatientFactory(clinic=clinic_a, last_name="Kavanagh")
    client.force_login(front_desk)
    typed = "Kavanagh " * 20

    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        html = client.post(reverse("patients:list"), {"q": typed}, **headers).content.decode()

        assert "Type at most 120 characters: the start of a name or an MRN is enough." in html
        assert "No search was made." in html
        assert "Kavanagh," not in html  # no patient row is listed as if it matched
    page = client.post(reverse("patients:list"), {"q": typed}).content.decode()
    assert f'value="{typed}"' in page  # what was typed is kept


def test_the_front_desk_records_text_message_consent_on_the_patient_form(client, front_desk, clinic_a):
    patient = PatientFactory(clinic=clinic_a, phone="")
    client.force_login(front_desk)
    data = _new_patient(clinic_a, mrn=patient.mrn, phone="07700 900123", sms_consent="on")
    del data["clinic"]
    assert client.post(reverse("patients:edit", args=[patient.pk]), data).status_code == 302
    patient.refresh_from_db()
    assert patient.sms_consent and patient.wants_sms_reminders
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Text messages" in page and "To +447700900123" in page


def test_the_front_desk_records_that_a_patient_wants_offers_of_an_earlier_time(client, front_desk, clinic_a):
    patient = PatientFactory(clinic=clinic_a)
    client.force_login(front_desk)
    form = client.get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert "Offers of an earlier time" in form and "their booking only moves if they say yes" in form
    data = _new_patient(clinic_a, mrn=patient.mrn, wants_earlier_offers="on")
    del data["clinic"]
    assert client.post(reverse("patients:edit", args=[patient.pk]), data).status_code == 302
    patient.refresh_from_db()
    assert patient.wants_earlier_offers
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Asked when an earlier time fits their next dose" in page
    del data["wants_earlier_offers"]
    assert client.post(reverse("patients:edit", args=[patient.pk]), data).status_code == 302
    patient.refresh_from_db()
    assert not patient.wants_earlier_offers


def test_text_message_consent_without_a_mobile_number_is_refused_with_what_was_typed_kept(client, front_desk, clinic_a):
    client.force_login(front_desk)
    response = client.post(reverse("patients:create"), _new_patient(clinic_a, phone="", sms_consent="on"))
    assert response.status_code == 200
    assert "Text messages need a mobile number" in response.content.decode()
    assert "Lovelace" in response.content.decode()


def test_the_front_desk_sets_a_patients_language_and_the_patient_page_shows_it(client, front_desk, clinic_a):
    client.force_login(front_desk)
    response = client.post(reverse("patients:create"), _new_patient(clinic_a))
    patient = Patient.objects.get()
    assert response.status_code == 302 and patient.language == "en"  # the clinic's, when none is chosen
    clinic_a.language = "es"
    clinic_a.save(update_fields=["language"])
    assert 'value="es" selected' in client.get(reverse("patients:create")).content.decode()
    client.post(reverse("patients:create"), _new_patient(clinic_a, mrn="SPANISH-1"))
    assert Patient.objects.get(mrn="SPANISH-1").language == "es"
    assert (
        patient_create(
            clinic=clinic_a, mrn="S-2", first_name="A", last_name="B", date_of_birth=date(1990, 1, 1)
        ).language
        == "es"
    )

    data = _new_patient(clinic_a, mrn=patient.mrn, language="es")
    del data["clinic"]
    assert client.post(reverse("patients:edit", args=[patient.pk]), data).status_code == 302
    patient.refresh_from_db()
    assert patient.language == "es"
    page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Spanish" in page and '<html lang="en">' in page  # the staff page stays English

    data["language"] = "xx"
    response = client.post(reverse("patients:edit", args=[patient.pk]), data)
    assert response.status_code == 200 and "language" in response.context["form"].errors
