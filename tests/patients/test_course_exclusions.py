"""One course per drug, one per therapy class unless a manager overrides it, and the switch between drugs.

Maria is on Ocrevus from 2 December 2026. A second Ocrevus course is refused outright; a
Tysabri course beside it (both MS disease-modifying therapy, by the regimen data) only with a
clinic manager's written reason; a switch from Tysabri to Ocrevus stops Tysabri, cancels its
future visit and starts Ocrevus after the washout the regimen data asks for.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from importlib import import_module
from pathlib import Path

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from clinic.models import Regimen
from clinic.regimen_data import MS_DISEASE_MODIFYING, NATALIZUMAB_SWITCH_NOTE, NO_WASHOUT_NOTE, THERAPY_CLASSES
from clinic.roles import sync_roles
from patients.models import TreatmentCourse
from patients.services import CourseConflict, course_create, course_update
from scheduling.courses.services import course_status_change, course_switch
from scheduling.models import Appointment, AppointmentEvent, Reminder
from scheduling.reminders import planner
from scheduling.worklist.selectors import worklist_rows
from tests.factories import PatientFactory
from tests.helpers import book, local

pytestmark = pytest.mark.django_db

FACTS = Path(__file__).resolve().parents[3] / "shared" / "domain" / "ms-infusion-regimens.md"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday; London and the clinic agree on the date
TODAY = NOW.date()
SEEDED = ("ocrevus", "ocrevus-zunovo", "tysabri", "tyruko", "lemtrada", "briumvi", "rituximab")

SAME_DRUG = "Maria already has an active Ocrevus course started 2 Dec 2026. Open it instead of starting another."


def _fill_therapy_classes() -> None:
    """The values migration 0007 writes, again, if a transactional test elsewhere flushed and reseeded the formulary."""
    import_module("clinic.migrations.0007_seed_therapy_classes").fill(django_apps, None)


@pytest.fixture(autouse=True)
def _formulary_and_roles(db):
    _fill_therapy_classes()
    sync_roles()


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def maria(clinic_a):
    return PatientFactory(clinic=clinic_a, first_name="Maria", last_name="Lopez")


def regimen(code: str) -> Regimen:
    return Regimen.objects.get(code=code)


def start(patient, code: str, day: date = date(2026, 12, 2), **fields) -> TreatmentCourse:
    return course_create(patient=patient, regimen=regimen(code), start_date=day, **fields)


def course_data(code: str, **overrides) -> dict:
    data = {
        "regimen": regimen(code).pk,
        "start_date": "2026-12-09",
        "authorization_number": "",
        "authorization_expires_on": "",
        "notes": "",
    }
    data.update(overrides)
    return data


# --- One course per drug ---------------------------------------------------------------------------


def test_a_second_active_course_of_the_same_drug_is_refused_with_a_sentence_naming_the_first(maria):
    first = start(maria, "ocrevus")
    with pytest.raises(CourseConflict) as refused:
        start(maria, "ocrevus", date(2027, 1, 4))
    assert refused.value.message_dict["regimen"] == [SAME_DRUG]
    assert refused.value.existing == first
    assert list(maria.courses.all()) == [first]


def test_a_paused_course_of_the_drug_refuses_a_second_one_too(maria, manager):
    first = start(maria, "ocrevus")
    course_status_change(course=first, status=TreatmentCourse.Status.PAUSED, by=manager, reason="Infection")
    with pytest.raises(ValidationError) as refused:
        start(maria, "ocrevus", created_by=manager, exclusion_override_reason="Asked to")
    assert refused.value.message_dict["regimen"] == [
        "Maria already has a paused Ocrevus course started 2 Dec 2026. Open it instead of starting another."
    ]


def test_a_stopped_course_of_the_drug_leaves_room_for_a_new_one(maria, manager):
    first = start(maria, "ocrevus")
    course_status_change(course=first, status=TreatmentCourse.Status.STOPPED, by=manager, reason="Pregnancy")
    second = start(maria, "ocrevus", date(2027, 6, 1))
    assert second.status == TreatmentCourse.Status.ACTIVE


def test_a_second_course_of_the_same_drug_is_refused_on_the_page_with_what_was_typed_kept(client, front_desk, maria):
    first = start(maria, "ocrevus")
    client.force_login(front_desk)
    response = client.post(
        reverse("patients:course_create", args=[maria.pk]),
        course_data("ocrevus", notes="Referred again by Dr Khan", authorization_number="AUTH-77"),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["regimen"] == [SAME_DRUG]
    html = response.content.decode()
    assert "Referred again by Dr Khan" in html and 'value="AUTH-77"' in html and 'value="2026-12-09"' in html
    assert f'href="{reverse("patients:course_edit", args=[maria.pk, first.pk])}"' in html
    assert list(maria.courses.all()) == [first]


def test_moving_a_course_to_a_drug_the_patient_is_already_on_is_refused(maria):
    start(maria, "ocrevus")
    other = start(maria, "lemtrada", date(2027, 2, 1), status=TreatmentCourse.Status.STOPPED)
    with pytest.raises(CourseConflict):
        course_update(course=other, regimen=regimen("ocrevus"), status=TreatmentCourse.Status.ACTIVE)
    other.refresh_from_db()
    assert (other.regimen.code, other.status) == ("lemtrada", TreatmentCourse.Status.STOPPED)


def test_making_a_stopped_course_active_again_beside_one_of_its_drug_is_refused(maria, manager):
    old = start(maria, "ocrevus", date(2026, 6, 1), status=TreatmentCourse.Status.STOPPED)
    start(maria, "ocrevus")
    with pytest.raises(ValidationError) as refused:
        course_status_change(course=old, status=TreatmentCourse.Status.ACTIVE, by=manager, reason="")
    assert refused.value.message_dict["regimen"] == [SAME_DRUG]
    old.refresh_from_db()
    assert old.status == TreatmentCourse.Status.STOPPED


# --- Two courses of one therapy class --------------------------------------------------------------


def test_a_tysabri_course_beside_ocrevus_is_refused_for_the_front_desk_with_who_can_allow_it(maria, front_desk):
    start(maria, "ocrevus")
    with pytest.raises(CourseConflict) as refused:
        start(maria, "tysabri", created_by=front_desk, exclusion_override_reason="The neurologist asked")
    sentence = refused.value.message_dict["regimen"][0]
    assert sentence.startswith(
        "Maria already has an active Ocrevus course started 2 Dec 2026, and Ocrevus and Tysabri are both "
        "MS disease-modifying therapy"
    )
    assert "choose Switch to another drug" in sentence
    assert "ask a clinic manager" in sentence
    assert not refused.value.can_override
    assert maria.courses.count() == 1


def test_the_front_desk_page_refuses_the_pair_and_offers_no_override_box(client, front_desk, maria):
    start(maria, "ocrevus")
    client.force_login(front_desk)
    response = client.post(reverse("patients:course_create", args=[maria.pk]), course_data("tysabri"))
    assert response.status_code == 200
    assert "ask a clinic manager" in response.context["form"].errors["regimen"][0]
    assert "exclusion_override_reason" not in response.content.decode()
    assert maria.courses.count() == 1


def test_a_manager_is_asked_for_a_reason_and_the_text_typed_is_kept(client, manager, maria):
    start(maria, "ocrevus")
    client.force_login(manager)
    url = reverse("patients:course_create", args=[maria.pk])
    assert 'name="exclusion_override_reason"' not in client.get(url).content.decode()

    response = client.post(url, course_data("tysabri", notes="Bridging plan"))
    assert response.status_code == 200
    assert "write why in the box below" in response.context["form"].errors["regimen"][0]
    html = response.content.decode()
    assert 'name="exclusion_override_reason"' in html and "Bridging plan" in html
    assert maria.courses.count() == 1


def test_a_manager_with_a_reason_starts_the_pair_and_the_reason_is_recorded_in_its_history(client, manager, maria):
    start(maria, "ocrevus")
    client.force_login(manager)
    response = client.post(
        reverse("patients:course_create", args=[maria.pk]),
        course_data("tysabri", exclusion_override_reason="Neurologist bridging for 4 weeks, letter on file"),
    )
    assert response.status_code == 302
    tysabri = maria.courses.get(regimen__code="tysabri")
    assert tysabri.exclusion_override_reason == "Neurologist bridging for 4 weeks, letter on file"
    assert tysabri.exclusion_override_by == manager

    page = client.get(reverse("patients:course_edit", args=[maria.pk, tysabri.pk]))
    changes = {change.field: change.new for row in page.context["history"].rows for change in row.changes}
    assert changes["Reason for two courses of one therapy class"] == "Neurologist bridging for 4 weeks, letter on file"
    assert "max" in changes["Two courses of one therapy class allowed by"].lower()
    assert "Neurologist bridging for 4 weeks, letter on file" in page.content.decode()


def test_the_override_is_kept_from_the_service_too(maria, manager):
    start(maria, "ocrevus")
    tysabri = start(maria, "tysabri", created_by=manager, exclusion_override_reason="  Trial protocol  ")
    assert (tysabri.exclusion_override_reason, tysabri.exclusion_override_by) == ("Trial protocol", manager)


def test_a_course_that_needs_no_override_records_none(maria, manager):
    course = start(maria, "ocrevus", created_by=manager, exclusion_override_reason="Not needed")
    assert course.exclusion_override_reason == "" and course.exclusion_override_by is None


def test_a_regimen_without_a_therapy_class_combines_with_any_course(maria):
    start(maria, "ocrevus")
    Regimen.objects.filter(code="rituximab").update(therapy_class="")
    assert start(maria, "rituximab").status == TreatmentCourse.Status.ACTIVE


# --- The switch -----------------------------------------------------------------------------------


@pytest.fixture
def tysabri_with_a_visit(maria, clinic_a):
    """Maria on Tysabri since 3 Nov 2026, a visit booked for Monday 7 Dec, 09:00; the washout set to 28 days."""
    Regimen.objects.filter(code="tysabri").update(washout_days_after=28)
    course = start(maria, "tysabri", date(2026, 11, 3))
    visit = book(course, local(clinic_a, date(2026, 12, 7), 9), minutes=120)
    return course, visit


def test_a_switch_stops_tysabri_cancels_its_visit_and_starts_ocrevus_after_the_washout(
    tysabri_with_a_visit, front_desk
):
    course, visit = tysabri_with_a_visit
    result = course_switch(
        course=course,
        to_regimen=regimen("ocrevus"),
        stop_on=TODAY,
        start_on=None,
        by=front_desk,
        reason="JCV antibody index rose",
    )
    course.refresh_from_db()
    visit.refresh_from_db()
    assert (course.status, course.stopped_on) == (TreatmentCourse.Status.STOPPED, TODAY)
    assert visit.status == Appointment.Status.CANCELLED
    event = visit.events.get(action=AppointmentEvent.Action.CANCELLED)
    assert "Switched to Ocrevus: JCV antibody index rose" in event.reason
    upcoming = Reminder.objects.filter(appointment=visit, kind=Reminder.Kind.APPOINTMENT_UPCOMING)
    assert upcoming.exists()
    assert not upcoming.filter(status=Reminder.Status.PENDING).exists()
    started = result.started
    assert (started.regimen.code, started.status) == ("ocrevus", TreatmentCourse.Status.ACTIVE)
    assert started.start_date == TODAY + timedelta(days=28) == date(2026, 12, 29)
    assert started.switched_from == course
    assert started.created_by == front_desk
    assert started.exclusion_override_reason == ""


def test_a_switch_refuses_a_start_before_the_washout_with_the_earliest_day_and_changes_nothing(
    tysabri_with_a_visit, front_desk
):
    course, visit = tysabri_with_a_visit
    with pytest.raises(ValidationError) as refused:
        course_switch(
            course=course,
            to_regimen=regimen("ocrevus"),
            stop_on=TODAY,
            start_on=date(2026, 12, 15),
            by=front_desk,
            reason="JCV antibody index rose",
        )
    assert refused.value.message_dict["start_on"] == [
        "The Ocrevus course can start on 29 Dec 2026 at the earliest: Tysabri asks for 28 days after it stops, "
        "and it stops on 1 Dec 2026. Choose that day or a later one."
    ]
    course.refresh_from_db()
    visit.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE
    assert visit.status == Appointment.Status.BOOKED
    assert course.patient.courses.count() == 1


def test_a_switch_with_no_washout_recorded_starts_the_new_course_the_day_the_old_one_stops(maria, manager):
    course = start(maria, "tysabri", date(2026, 11, 3))
    result = course_switch(
        course=course, to_regimen=regimen("ocrevus"), stop_on=date(2026, 11, 30), start_on=None, by=manager, reason="x"
    )
    assert result.started.start_date == date(2026, 11, 30)


def test_a_switch_refuses_a_stop_day_still_ahead_the_same_drug_and_no_reason(maria, front_desk):
    course = start(maria, "tysabri", date(2026, 11, 3))
    with pytest.raises(ValidationError) as refused:
        course_switch(
            course=course,
            to_regimen=regimen("tyruko"),
            stop_on=date(2026, 12, 8),
            start_on=None,
            by=front_desk,
            reason="",
        )
    assert set(refused.value.message_dict) == {"stop_on", "reason"}
    with pytest.raises(ValidationError) as same:
        course_switch(
            course=course, to_regimen=regimen("tysabri"), stop_on=TODAY, start_on=None, by=front_desk, reason="x"
        )
    assert "already on Tysabri" in same.value.message_dict["to_regimen"][0]
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE


def test_the_switch_page_previews_the_cancelled_visit_and_the_new_start_then_switches(
    client, front_desk, tysabri_with_a_visit
):
    course, visit = tysabri_with_a_visit
    client.force_login(front_desk)
    url = reverse("scheduling:course_switch", args=[course.pk])
    patient_page = client.get(reverse("patients:detail", args=[course.patient_id])).content.decode()
    assert f'href="{url}"' in patient_page

    page = client.get(url)
    assert page.status_code == 200
    assert f'data-appointment="{visit.pk}"' in page.content.decode()
    choices = {"to_regimen": regimen("ocrevus").pk, "stop_on": "2026-12-01", "start_on": "", "reason": "JCV rose"}

    preview = client.post(url, choices)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'data-new-start="2026-12-29"' in html and "28-day washout" in html
    course.refresh_from_db()
    assert course.status == TreatmentCourse.Status.ACTIVE

    early = client.post(url, {**choices, "start_on": "2026-12-20", "confirm": "1"})
    assert "29 Dec 2026 at the earliest" in early.context["form"].errors["start_on"][0]
    assert "JCV rose" in early.content.decode()

    done = client.post(url, {**choices, "confirm": "1"})
    assert done.status_code == 302
    started = course.patient.courses.get(regimen__code="ocrevus")
    assert done.url == reverse("patients:course_edit", args=[course.patient_id, started.pk])
    assert started.start_date == date(2026, 12, 29)
    visit.refresh_from_db()
    assert visit.status == Appointment.Status.CANCELLED


def test_the_nurse_cannot_switch_a_course(client, nurse, maria):
    course = start(maria, "tysabri", date(2026, 11, 3))
    client.force_login(nurse)
    url = reverse("scheduling:course_switch", args=[course.pk])
    assert client.get(url).status_code == 403


# --- The worklist and the planner list the patient once per drug ----------------------------------


def test_the_worklist_and_the_planner_list_the_patient_once_when_a_second_course_is_refused(maria, clinic_a):
    start(maria, "ocrevus", date(2026, 11, 2))  # dose 1 not given: overdue by today
    with pytest.raises(CourseConflict):
        start(maria, "ocrevus", date(2026, 11, 9))
    rows = [row for row in worklist_rows(clinics=[clinic_a]) if row.patient == maria]
    assert len(rows) == 1
    planner.reminders_plan(now=NOW)
    assert Reminder.objects.filter(patient=maria, kind=Reminder.Kind.DOSE_OVERDUE).count() == 1


# --- The regimen data ------------------------------------------------------------------------------


def test_the_migration_fills_the_seeded_regimens_from_the_label_facts():
    facts = FACTS.read_text(encoding="utf-8")
    # The facts' scope names every seeded regimen as an MS infusion therapy ...
    scope = next(line for line in facts.splitlines() if line.startswith("Scope:"))
    for brand in ("Ocrevus", "Tysabri", "Lemtrada", "Briumvi", "rituximab", "Ocrevus Zunovo", "Tyruko"):
        assert brand in scope
    # ... and state no washout before another therapy: the one "washout" is about contraception.
    washouts = [line for line in facts.splitlines() if re.search(r"wash-?out", line, re.IGNORECASE)]
    assert len(washouts) == 1 and "contraception washout" in washouts[0]

    assert set(THERAPY_CLASSES) == set(SEEDED)
    for code in SEEDED:
        row = regimen(code)
        assert row.therapy_class == MS_DISEASE_MODIFYING, code
        assert row.washout_days_after is None, code
        note = NATALIZUMAB_SWITCH_NOTE if code in ("tysabri", "tyruko") else NO_WASHOUT_NOTE
        assert note in row.notes, code
        assert "no washout or switch interval" in row.sources, code


def test_the_data_migration_keeps_a_formulary_managers_own_values():
    Regimen.objects.filter(code="tysabri").update(therapy_class="Natalizumab products", washout_days_after=56)
    _fill_therapy_classes()
    _fill_therapy_classes()
    tysabri = regimen("tysabri")
    assert (tysabri.therapy_class, tysabri.washout_days_after) == ("Natalizumab products", 56)
    assert regimen("ocrevus").notes.count(NO_WASHOUT_NOTE) == 1
