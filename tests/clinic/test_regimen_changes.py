"""A change to a shared regimen is reviewed, takes effect from a chosen day, and keeps its values in the history.

The worked example: Ocrevus courses at two clinics, each with infusions 1 and 2 given in
September 2026, so maintenance dose 3 is due on 7 Mar 2027 (6 months after infusion 1), on time
until 14 Mar with the 7-day late window. Northside has dose 3 booked on 8 and on 12 Mar and a
course starting on 15 Mar; Harbour has dose 3 booked on 12 Mar (and a stopped course, which
counts for nothing). The formulary manager narrows the late window to 2 days (on time until
9 Mar) and lengthens maintenance observation from 60 to 90 minutes.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from io import StringIO

import pytest
import time_machine
from auditlog.models import LogEntry as AuditEntry
from django.contrib.admin.models import LogEntry as AdminLogEntry
from django.core.management import call_command
from django.urls import reverse

from clinic.models import ClinicRegimenSetting, Regimen, RegimenChange
from clinic.regimen_changes import regimen_change_propose
from clinic.roles import FORMULARY
from patients.models import TreatmentCourse
from scheduling import tasks
from scheduling.doses import course_doses
from scheduling.models import Appointment, DoseState
from tests.accounts.support import log_in_with_two_steps
from tests.helpers import admin_form_data, book_directly, local, make_course, make_staff

pytestmark = pytest.mark.django_db

MONDAY = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
STARTED = date(2026, 9, 7)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.fixture
def formulary_manager(db):
    """Fran keeps the formulary for the whole organisation and works at no clinic."""
    return make_staff("fran", FORMULARY, first_name="Fran", is_staff=True)


def _on_maintenance(clinic, *, booked_on: date | None, **patient):
    """An Ocrevus course with infusions 1 and 2 given, and dose 3 booked on `booked_on`."""
    course = make_course(clinic, "ocrevus", STARTED, **patient)
    book_directly(course=course, starts_at=local(clinic, STARTED, 9), status=Appointment.Status.COMPLETED)
    book_directly(
        course=course,
        starts_at=local(clinic, date(2026, 9, 21), 9),
        dose_number=2,
        status=Appointment.Status.COMPLETED,
    )
    if booked_on:
        book_directly(course=course, starts_at=local(clinic, booked_on, 9), dose_number=3, premed=30, observation=60)
    return course


@pytest.fixture
def example(clinic_a, clinic_b):
    late = _on_maintenance(clinic_a, booked_on=date(2027, 3, 12), first_name="Agatha", last_name="Northwood")
    on_time = _on_maintenance(clinic_a, booked_on=date(2027, 3, 8), first_name="Bertram", last_name="Northwood")
    starting = make_course(clinic_a, "ocrevus", date(2027, 3, 15), first_name="Cora", last_name="Northwood")
    harbour = _on_maintenance(clinic_b, booked_on=date(2027, 3, 12), first_name="Ottoline", last_name="Zebadiah")
    stopped = _on_maintenance(clinic_b, booked_on=date(2027, 3, 12), first_name="Silas", last_name="Stopped")
    stopped.status = TreatmentCourse.Status.STOPPED
    stopped.save()
    return {"late": late, "on_time": on_time, "starting": starting, "harbour": harbour}


def _text(response) -> str:
    """The page's words, tags removed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def _ocrevus_edit(client):
    """The Ocrevus change form, filled in with the late window at 2 days and maintenance observation at 90 min."""
    ocrevus = Regimen.objects.get(code="ocrevus")
    url = reverse("admin:clinic_regimen_change", args=[ocrevus.pk])
    page = client.get(url)
    phases = page.context["inline_admin_formsets"][0].formset
    data = admin_form_data(page)
    data["late_window_days"] = "2"
    maintenance = next(index for index, form in enumerate(phases.forms) if form.instance.name == "maintenance")
    data[f"{phases.prefix}-{maintenance}-observation_minutes"] = "90"
    return ocrevus, url, data


def _confirm(data, *, on: date, reason: str = "Clinic governance review"):
    return {
        **data,
        "_confirm_regimen_change": "Confirm the change",
        "review-effective_from": on.isoformat(),
        "review-reason": reason,
    }


# --- The preview -----------------------------------------------------------------------------------


def test_the_preview_counts_each_clinics_courses_and_booked_appointments_with_the_dose_rules(
    client, formulary_manager, example
):
    log_in_with_two_steps(client, formulary_manager)
    ocrevus, url, data = _ocrevus_edit(client)

    review = client.post(url, data)

    assert review.status_code == 200
    assert review.context["sentences"] == [
        "Across all clinics the regimen has 4 active courses and 3 future booked appointments.",
        "In all: 2 booked appointments would fall outside the new window; chair time of 3 booked appointments "
        "grows by 30 min; 4 courses' next dose keeps its date in a different window; chair time of 3 courses' "
        "next dose grows by 30 min.",
        "Harbour Infusion Suite: 1 booked appointment would fall outside the new window; chair time of 1 booked "
        "appointment grows by 30 min; 1 course's next dose keeps its date in a different window; chair time of "
        "1 course's next dose grows by 30 min.",
        "Northside Infusion Centre: 1 booked appointment would fall outside the new window; chair time of 2 "
        "booked appointments grows by 30 min; 3 courses' next dose keeps its date in a different window; chair "
        "time of 2 courses' next dose grows by 30 min.",
        "Booked appointments are not moved: each one outside its new window gets a note for the front desk on "
        "the day the change takes effect, to rebook it or keep it with the prescriber's agreement.",
    ]
    text = _text(review)
    assert "Late window days: 7 → 2" in text
    assert "Maintenance phase: Observation minutes: 60 → 90" in text
    for name in ("Agatha", "Bertram", "Cora", "Ottoline", "Northwood", "Zebadiah"):
        assert name not in text  # counts only: the formulary manager sees no clinic's patients
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 7  # nothing saved before the change is confirmed
    assert not RegimenChange.objects.exists()


def test_the_preview_says_how_many_courses_next_dose_moves_later(client, formulary_manager, clinic_a, clinic_b):
    for clinic in (clinic_a, clinic_a, clinic_b):
        _on_maintenance(clinic, booked_on=None)
    log_in_with_two_steps(client, formulary_manager)
    ocrevus = Regimen.objects.get(code="ocrevus")
    url = reverse("admin:clinic_regimen_change", args=[ocrevus.pk])
    page = client.get(url)
    phases = page.context["inline_admin_formsets"][0].formset
    data = admin_form_data(page)
    maintenance = next(index for index, form in enumerate(phases.forms) if form.instance.name == "maintenance")
    data[f"{phases.prefix}-{maintenance}-interval_value"] = "7"

    sentences = client.post(url, data).context["sentences"]

    assert sentences[1] == "In all: 3 courses' next dose moves later."
    assert "Northside Infusion Centre: 2 courses' next dose moves later." in sentences


# --- The effective day ------------------------------------------------------------------------------


def test_a_change_waits_for_its_day_and_the_hourly_task_applies_it_then(client, formulary_manager, example):
    log_in_with_two_steps(client, formulary_manager)
    ocrevus, url, data = _ocrevus_edit(client)

    response = client.post(url, _confirm(data, on=date(2027, 3, 5)))

    assert response.status_code == 302
    change = RegimenChange.objects.get()
    assert change.applied_at is None
    assert change.proposed_by == formulary_manager
    assert change.changes["regimen"] == {"late_window_days": [7, 2]}
    late = DoseState.objects.get(course=example["late"])
    assert late.latest_date == date(2027, 9, 19)  # dose 4, 6 months after dose 3 booked on 12 Mar, + 7 days

    with time_machine.travel(datetime(2027, 3, 4, 23, 59, tzinfo=UTC), tick=False):
        assert tasks.regimen_changes_apply_due() == 0
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 7  # the old values hold until the day
    assert DoseState.objects.get(course=example["late"]).latest_date == date(2027, 9, 19)

    with time_machine.travel(datetime(2027, 3, 5, 0, 1, tzinfo=UTC), tick=False):
        assert tasks.regimen_changes_apply_due() == 1
        assert tasks.regimen_changes_apply_due() == 0  # applied once
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 2
    assert ocrevus.phases.get(name="maintenance").observation_minutes == 90
    change.refresh_from_db()
    assert change.applied_at == datetime(2027, 3, 5, 0, 1, tzinfo=UTC)


def test_applying_a_change_refreshes_the_stored_next_doses_and_notes_the_visits_that_no_longer_fit(
    formulary_manager, example
):
    ocrevus = Regimen.objects.get(code="ocrevus")
    maintenance = ocrevus.phases.get(name="maintenance")
    change = regimen_change_propose(
        regimen=ocrevus,
        changes={
            "regimen": {"late_window_days": [7, 2]},
            "phases": {str(maintenance.pk): {"observation_minutes": [60, 90]}},
        },
        effective_from=date(2027, 3, 2),
        reason="Label update",
        proposed_by=formulary_manager,
    )
    with time_machine.travel(datetime(2027, 3, 2, 6, 0, tzinfo=UTC), tick=False):
        tasks.regimen_changes_apply_due()

    for course in example.values():
        state = DoseState.objects.get(course=course)
        planned = course_doses(course).next
        assert (state.latest_date, state.observation_minutes) == (
            planned.latest_date,
            planned.chair_time.observation_minutes,
        )
    assert DoseState.objects.get(course=example["late"]).latest_date == date(2027, 9, 14)
    assert DoseState.objects.get(course=example["late"]).observation_minutes == 90
    change.refresh_from_db()
    noted = Appointment.objects.filter(dose_number=3, course__in=[example["late"], example["harbour"]])
    assert sorted(change.unfit_visits) == sorted(noted.values_list("pk", flat=True))
    for visit in noted:
        assert "no longer place dose 3 on this day" in visit.notes
        assert visit.starts_at.date() == date(2027, 3, 12)  # noted, never moved
    assert Appointment.objects.get(course=example["on_time"], dose_number=3).notes == ""


def test_a_change_for_today_holds_at_once(client, formulary_manager, example):
    log_in_with_two_steps(client, formulary_manager)
    ocrevus, url, data = _ocrevus_edit(client)

    response = client.post(url, _confirm(data, on=MONDAY.date()))

    assert response.status_code == 302
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 2
    assert RegimenChange.objects.get().applied_at == MONDAY
    assert DoseState.objects.get(course=example["starting"]).latest_date == date(2027, 3, 17)


def test_a_change_cannot_take_effect_before_today(client, formulary_manager, example):
    log_in_with_two_steps(client, formulary_manager)
    ocrevus, url, data = _ocrevus_edit(client)

    response = client.post(url, _confirm(data, on=date(2027, 2, 28)))

    assert response.status_code == 200
    assert "Choose today or a later day" in _text(response)
    assert not RegimenChange.objects.exists()
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 7


def test_the_front_desk_finds_the_visits_left_outside_their_window_on_the_worklist(
    client, formulary_manager, front_desk, example
):
    ocrevus = Regimen.objects.get(code="ocrevus")
    regimen_change_propose(
        regimen=ocrevus,
        changes={"regimen": {"late_window_days": [7, 2]}, "phases": {}},
        effective_from=MONDAY.date(),
        reason="Label update",
        proposed_by=formulary_manager,
    )
    client.force_login(front_desk)

    page = client.get(reverse("scheduling:worklist"))

    listed = page.context["regimen_unfit"]
    late = Appointment.objects.get(course=example["late"], dose_number=3)
    assert [item.appointment for item in listed] == [late]  # clinic A's only; the on-time visit fits
    text = _text(page)
    assert "1 booked visit outside the dosing window after a regimen change" in text
    assert "Fri 12 Mar 2027, 09:00" in text
    assert "21 Feb 2027 to 9 Mar 2027" in text  # not before 5 months after dose 2; on time until 9 Mar
    assert "Ottoline" not in text

    late.starts_at = local(late.clinic, date(2027, 3, 9), 9)
    late.ends_at = late.starts_at + (late.ends_at - local(late.clinic, date(2027, 3, 12), 9))
    late.save()  # rebooked inside the window: off the list
    assert client.get(reverse("scheduling:worklist")).context["regimen_unfit"] == []


def test_the_command_applies_the_changes_whose_day_has_come(formulary_manager, example):
    ocrevus = Regimen.objects.get(code="ocrevus")
    regimen_change_propose(
        regimen=ocrevus,
        changes={"regimen": {"late_window_days": [7, 10]}, "phases": {}},
        effective_from=date(2027, 3, 3),
        reason="Label update",
        proposed_by=formulary_manager,
    )
    out = StringIO()
    call_command("regimen_changes_apply", stdout=out)
    assert out.getvalue() == "0 regimen changes applied.\n"
    with time_machine.travel(datetime(2027, 3, 3, 1, 0, tzinfo=UTC), tick=False):
        call_command("regimen_changes_apply", stdout=out)
    assert out.getvalue().endswith("1 regimen change applied.\n")
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 10


def test_an_edit_of_values_that_also_adds_a_monitoring_rule_is_refused_with_what_to_do(client, formulary_manager):
    log_in_with_two_steps(client, formulary_manager)
    ocrevus, url, data = _ocrevus_edit(client)
    prefix = client.get(url).context["inline_admin_formsets"][1].formset.prefix
    data |= {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-0-kind": "labs",
        f"{prefix}-0-name": "Immunoglobulins",
        f"{prefix}-0-every_months": "6",
    }

    response = client.post(url, _confirm(data, on=MONDAY.date()))

    assert response.status_code == 200
    assert "Save the new phases and the monitoring rules on their own first" in _text(response)
    assert not RegimenChange.objects.exists()
    assert not ocrevus.monitoring.exists()
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 7


# --- The history -----------------------------------------------------------------------------------


def test_the_history_keeps_the_old_and_new_values_of_the_regimen_and_its_phases(client, formulary_manager):
    log_in_with_two_steps(client, formulary_manager)
    ocrevus, url, data = _ocrevus_edit(client)
    data["late_window_days"] = "14"
    client.post(url, _confirm(data, on=MONDAY.date(), reason="Wider window agreed by the neurologists"))

    history = client.get(reverse("admin:clinic_regimen_history", args=[ocrevus.pk]))

    text = _text(history)
    assert "Late window days : 7 → 14" in text
    assert "Observation minutes : 60 → 90" in text
    assert "Fran" in text  # the proposer, though a job may be the one that applies it
    assert "Changed: Maintenance phase" in text
    assert (
        "Created: Change from 1 Mar 2027 (Late window days: 7 → 14; Maintenance phase: Observation minutes: 60 → 90)"
        in text
    )
    change = RegimenChange.objects.get()
    page = _text(client.get(reverse("admin:clinic_regimenchange_change", args=[change.pk])))
    assert "Regimen: Late window days: 7 → 14" in page
    assert "Wider window agreed by the neurologists" in page
    entry = AdminLogEntry.objects.get(object_id=str(ocrevus.pk))
    assert entry.get_change_message() == (
        "Late window days: 7 → 14; Maintenance phase: Observation minutes: 60 → 90. Effective from 1 Mar 2027."
    )
    assert AuditEntry.objects.get_for_object(RegimenChange.objects.get()).exists()


# --- Who may change what -----------------------------------------------------------------------------


def test_a_clinic_manager_cannot_review_or_confirm_a_regimen_change(client, formulary_manager, manager):
    log_in_with_two_steps(client, formulary_manager)
    ocrevus, url, data = _ocrevus_edit(client)
    client.force_login(manager)

    assert client.post(url, data).status_code == 403
    assert client.post(url, _confirm(data, on=MONDAY.date())).status_code == 403
    ocrevus.refresh_from_db()
    assert ocrevus.late_window_days == 7
    assert not RegimenChange.objects.exists()


def test_a_clinic_manager_sets_their_own_chair_time_which_changes_only_their_clinics_courses(client, manager, example):
    maintenance = Regimen.objects.get(code="ocrevus").phases.get(name="maintenance")
    client.force_login(manager)
    add = reverse("admin:clinic_clinicregimensetting_add")
    clinic_a = example["late"].patient.clinic

    response = client.post(
        add, {"clinic": clinic_a.pk, "phase": maintenance.pk, "premed_minutes": "45", "observation_minutes": "30"}
    )

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    ours = DoseState.objects.get(course=example["late"])
    theirs = DoseState.objects.get(course=example["harbour"])
    assert (ours.premed_minutes, ours.observation_minutes) == (45, 30)
    assert (theirs.premed_minutes, theirs.observation_minutes) == (30, 60)
    assert course_doses(example["late"]).next.chair_time.total_minutes == 45 + 210 + 30
    assert course_doses(example["harbour"]).next.chair_time.total_minutes == 30 + 210 + 60
    assert maintenance.premed_minutes == 30  # the shared regimen is untouched
    maintenance.refresh_from_db()
    assert (maintenance.premed_minutes, maintenance.observation_minutes) == (30, 60)


def test_a_clinic_manager_cannot_reach_or_set_another_clinics_chair_time(client, manager, clinic_a, clinic_b):
    maintenance = Regimen.objects.get(code="ocrevus").phases.get(name="maintenance")
    theirs = ClinicRegimenSetting.objects.create(clinic=clinic_b, phase=maintenance, observation_minutes=15)
    client.force_login(manager)

    listing = client.get(reverse("admin:clinic_clinicregimensetting_changelist"))
    assert theirs not in listing.context["cl"].result_list
    change = reverse("admin:clinic_clinicregimensetting_change", args=[theirs.pk])
    assert client.get(change).status_code == 404
    assert (
        client.post(change, {"clinic": clinic_b.pk, "phase": maintenance.pk, "observation_minutes": "0"}).status_code
        == 404
    )
    response = client.post(
        reverse("admin:clinic_clinicregimensetting_add"),
        {"clinic": clinic_b.pk, "phase": maintenance.pk, "observation_minutes": "0"},
    )
    assert response.status_code == 200
    assert "clinic" in response.context["adminform"].form.errors
    theirs.refresh_from_db()
    assert theirs.observation_minutes == 15
    assert ClinicRegimenSetting.objects.count() == 1


def test_the_formulary_manager_cannot_open_a_clinics_chair_time(client, formulary_manager):
    log_in_with_two_steps(client, formulary_manager)
    assert client.get(reverse("admin:clinic_clinicregimensetting_changelist")).status_code == 403
