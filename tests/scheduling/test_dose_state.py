"""The stored next-dose state: refreshed with every write, after a regimen edit by its task, and checked
by `dosing_state --verify` (which `--repair` puts right)."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from clinic.models import Regimen
from scheduling import tasks
from scheduling.doses import dose_states_verify
from scheduling.models import Appointment, DoseState
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, free_chair, local

pytestmark = pytest.mark.django_db


def tysabri_course(clinic, given_on=date(2027, 1, 4)):
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code="tysabri"), start_date=given_on
    )
    starts_at = local(clinic, given_on, 9)
    book_directly(
        chair=free_chair(clinic, starts_at, starts_at), course=course, starts_at=starts_at, status="completed"
    )
    return course


def verify() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("dosing_state", "--verify", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def test_a_completed_visit_moves_the_stored_next_dose_in_the_same_transaction(clinic_a):
    course = tysabri_course(clinic_a)
    state = DoseState.objects.get(course=course)
    assert (state.dose_number, state.target_date, state.given_count) == (2, date(2027, 2, 1), 1)
    assert verify() == (0, "")


def test_a_regimen_edit_recomputes_its_courses_once_its_task_has_run(clinic_a, django_capture_on_commit_callbacks):
    course = tysabri_course(clinic_a)
    phase = Regimen.objects.get(code="tysabri").phases.get(repeats=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        phase.interval_value, phase.interval_unit = 6, "weeks"
        phase.save()
    assert len(callbacks) == 1  # the refresh task, enqueued once the edit commits
    assert {item.course_id for item in dose_states_verify()} == {course.pk}
    tasks.dose_states_refresh_regimen(regimen_id=phase.regimen_id)
    assert DoseState.objects.get(course=course).target_date == date(2027, 2, 15)
    assert verify() == (0, "")


def test_verify_prints_what_disagrees_and_exits_1_and_repair_puts_it_right(clinic_a):
    course = tysabri_course(clinic_a)
    DoseState.objects.filter(course=course).update(target_date=date(2030, 1, 1))  # an update sends no signal
    code, output = verify()
    assert code == 1
    assert (
        f"course {course.pk}: target_date stored datetime.date(2030, 1, 1), computed datetime.date(2027, 2, 1)"
        in output
    )
    assert "Run `python manage.py dosing_state --repair`" in output
    call_command("dosing_state", "--repair", stdout=StringIO())
    assert verify() == (0, "")


def test_a_course_that_is_no_longer_active_has_no_stored_next_dose(clinic_a):
    course = tysabri_course(clinic_a)
    course.status = "stopped"
    course.save(update_fields=["status"])
    assert not DoseState.objects.filter(course=course).exists()


def test_a_cancelled_visit_gives_its_dose_back(clinic_a):
    course = tysabri_course(clinic_a)
    starts_at = local(clinic_a, date(2027, 2, 1), 9)
    booked = book_directly(
        chair=free_chair(clinic_a, starts_at, starts_at), course=course, starts_at=starts_at, dose_number=2
    )
    assert DoseState.objects.get(course=course).dose_number == 3
    booked.status = Appointment.Status.CANCELLED
    booked.save(update_fields=["status"])
    state = DoseState.objects.get(course=course)
    assert (state.dose_number, state.booked_count) == (2, 0)
