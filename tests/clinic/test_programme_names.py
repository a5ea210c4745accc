"""A regimen's programme is named as the clinic's country knows it: TOUCH in New York, not in London."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from clinic.models import ProgrammeName, Regimen
from clinic.roles import FRONT_DESK
from scheduling.roster.selectors import roster_for_day
from tests.helpers import book_directly, local, make_clinic, make_course, make_staff

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)


def _authorization_label(clinic, regimen_code: str) -> str:
    course = make_course(clinic, regimen_code, authorization_expires_on=MONDAY + timedelta(days=60))
    book_directly(chair=clinic.chairs.first(), course=course, starts_at=local(clinic, MONDAY, 9), dose_number=2)
    (visit,) = roster_for_day(clinic=clinic, day=MONDAY).visits
    (flag,) = [flag for flag in visit.flags if flag.code == "authorization"]
    return flag.label


def test_a_clinic_takes_its_country_from_its_time_zone_unless_one_is_given():
    assert make_clinic("London Centre").country.code == "GB"
    assert make_clinic("New York Suite", time_zone="America/New_York").country.code == "US"
    assert make_clinic("Border Clinic", time_zone="Europe/London", country="IE").country.code == "IE"


@pytest.mark.parametrize(
    ("time_zone", "regimen_code", "expected"),
    [
        ("Europe/London", "tysabri", "Tysabri risk minimisation forms"),
        ("America/New_York", "tysabri", "TOUCH Prescribing Program (REMS)"),
        ("Europe/London", "tyruko", "Tyruko risk minimisation forms"),
        ("America/New_York", "tyruko", "TYRUKO REMS"),
        ("Europe/London", "lemtrada", "Lemtrada risk minimisation checklist"),
        ("America/New_York", "lemtrada", "LEMTRADA REMS"),
    ],
)
def test_the_roster_names_the_programme_as_the_clinics_country_does(time_zone, regimen_code, expected):
    clinic = make_clinic("Centre", time_zone=time_zone)

    assert _authorization_label(clinic, regimen_code).startswith(f"{expected}: check authorization")


def test_a_country_without_its_own_name_gets_the_regimens_programme():
    clinic = make_clinic("Paris Centre", time_zone="Europe/Paris")

    assert clinic.country.code == "FR"
    assert _authorization_label(clinic, "tysabri").startswith("TOUCH Prescribing Program (REMS):")


def test_a_formulary_managers_name_for_a_country_is_used_there_only():
    tysabri = Regimen.objects.get(code="tysabri")
    ProgrammeName.objects.create(regimen=tysabri, country="FR", name="Tysabri: fiche de suivi")

    assert _authorization_label(make_clinic("Paris Centre", time_zone="Europe/Paris"), "tysabri").startswith(
        "Tysabri: fiche de suivi:"
    )
    assert tysabri.programme_for("DE") == "TOUCH Prescribing Program (REMS)"


def test_the_patient_page_and_course_form_name_the_local_programme(client):
    clinic = make_clinic("London Centre")
    course = make_course(clinic, "tysabri", authorization_expires_on=MONDAY + timedelta(days=60))
    course.authorization_number = "TA-1042"
    course.save(update_fields=["authorization_number"])
    client.force_login(make_staff("desk", FRONT_DESK, clinic))

    page = client.get(reverse("patients:detail", args=[course.patient_id])).content.decode()
    form = client.get(reverse("patients:course_create", args=[course.patient_id])).content.decode()

    assert "Tysabri risk minimisation forms: authorization TA-1042" in page
    assert "TOUCH" not in page
    assert "Tysabri risk minimisation forms" in form
    assert "TOUCH" not in form and "REMS" not in form


@pytest.mark.parametrize(
    ("time_zone", "expected"),
    [("Europe/London", "Tysabri risk minimisation forms authorization"), ("America/New_York", "TOUCH authorization")],
)
def test_the_checklist_before_the_needle_names_the_local_programme(time_zone, expected):
    clinic = make_clinic("Centre", time_zone=time_zone)
    course = make_course(clinic, "tysabri", authorization_expires_on=MONDAY + timedelta(days=60))
    book_directly(chair=clinic.chairs.first(), course=course, starts_at=local(clinic, MONDAY, 9), dose_number=2)

    (visit,) = roster_for_day(clinic=clinic, day=MONDAY).visits

    labels = [item.label for item in visit.checklist.items]
    assert expected in labels
    assert ("TOUCH authorization" in labels) == (expected == "TOUCH authorization")
