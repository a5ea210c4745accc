"""Data problems: records Chairside cannot plan from, listed for managers to correct.

The forms bound every date a person types (`clinic.inputs`), but rows saved before them,
through the admin, an import or a shell can still hold a course starting on 31 Dec 9999 or
a patient born in year 1. The dosing rules read such a date as "no further dose" and carry
on; this module says which records are wrong and in what words, so they are corrected
instead of silently dropping a patient from the worklist and the reminders.

A **data problem** is one of:

- a course whose dates (its start, its authorization expiry, a given or booked visit) lie
  outside `FIRST_DAY`..`LAST_DAY`: the rules cannot place a next dose from them;
- a course whose regimen the rules cannot read (reading it fails, or it has no phases);
- a course on which the reminder planner failed at its last run;
- a patient whose date of birth lies before `EARLIEST_BIRTH` or after today.

The first two are worked out with the course's next dose and stored on its `DoseState` row
(`problem`), so the planner skips them and the managers' figure is one indexed count; the
third is the planner's own record on that row (`planning_failed_at`). A date of birth plays
no part in the dosing rules and a patient's edit moves no next dose, so it is read from the
patient table when the list is shown. Correcting the record (the course page saves the
course, which refreshes its state) takes it off the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from clinic import dates
from clinic.inputs import EARLIEST_BIRTH, EARLIEST_DAY
from patients.models import Patient
from scheduling.models import DoseState

Problem = DoseState.Problem

# The days a course's dates may lie on. The forms allow 1 Jan 2000 to five years after today;
# a stored verdict cannot move with the calendar (it would go stale with no write to correct
# it), so the last day here is fixed, far past any day the forms let through.
FIRST_DAY = EARLIEST_DAY
LAST_DAY = date(2099, 12, 31)

# The list shows at most this many records; a longer list is a bad import, not a page to read.
LIST_LIMIT = 500


# --- The definition --------------------------------------------------------------------------


def in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def course_date_faults(
    *,
    start_date: date,
    authorization_expires_on: date | None,
    given_dates: Iterable[date] = (),
    booked_dates: Iterable[date] = (),
) -> list[str]:
    """What is wrong with a course's dates, as phrases ("starts on 31 Dec 9999"); empty when nothing is."""
    faults = []
    if not in_range(start_date):
        faults.append(f"starts on {dates.day(start_date)}")
    if authorization_expires_on is not None and not in_range(authorization_expires_on):
        faults.append(f"has its authorization expiring on {dates.day(authorization_expires_on)}")
    faults += [f"has a dose recorded as given on {dates.day(day)}" for day in given_dates if not in_range(day)]
    faults += [f"has a visit booked for {dates.day(day)}" for day in booked_dates if not in_range(day)]
    return faults


def course_problem(
    *,
    start_date: date,
    authorization_expires_on: date | None,
    given_dates: Iterable[date],
    booked_dates: Iterable[date],
    regimen_readable: bool,
) -> str:
    """The stored problem of an active course (a `DoseState.Problem`), worked out with its next dose."""
    if course_date_faults(
        start_date=start_date,
        authorization_expires_on=authorization_expires_on,
        given_dates=given_dates,
        booked_dates=booked_dates,
    ):
        return Problem.DATES
    if not regimen_readable:
        return Problem.REGIMEN
    return Problem.NONE


def latest_today(now: datetime | None = None) -> date:
    """The latest date it is anywhere on Earth now (UTC+14): no clinic's today is after it."""
    return ((now or timezone.now()) + timedelta(hours=14)).date()


def _birth_out_of_range(now: datetime | None = None) -> Q:
    return Q(date_of_birth__lt=EARLIEST_BIRTH) | Q(date_of_birth__gt=latest_today(now))


def _course_flagged() -> Q:
    # The condition of the partial index `dosestate_data_problems`, so counting reads the index.
    return ~Q(problem=Problem.NONE) | Q(planning_failed_at__isnull=False)


# --- Reading them ----------------------------------------------------------------------------


def data_problem_counts(clinic_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, int]:
    """{clinic id: records with a data problem}; a clinic with none is left out."""
    ids = list(clinic_ids)
    counts: dict[int, int] = {}
    for rows in (
        DoseState.objects.filter(_course_flagged(), clinic_id__in=ids).values("clinic_id").annotate(count=Count("pk")),
        Patient.objects.filter(_birth_out_of_range(now), clinic_id__in=ids)
        .values("clinic_id")
        .annotate(count=Count("pk")),
    ):
        for row in rows:
            counts[row["clinic_id"]] = counts.get(row["clinic_id"], 0) + row["count"]
    return counts


@dataclass(frozen=True)
class DataProblem:
    """One record to correct, as the managers' list shows it."""

    clinic_id: int
    patient_id: int
    patient_name: str
    mrn: str
    record: str  # "Ocrevus course" or "Patient record"
    what: str  # what is wrong, in a sentence
    fix: str  # where to correct it: "course", "patient" or "regimen"
    course_id: int | None = None
    regimen_id: int | None = None


def _range_words() -> str:
    return f"{dates.day(FIRST_DAY)} to {dates.day(LAST_DAY)}"


def _course_problem(state: DoseState) -> DataProblem:
    course, patient = state.course, state.patient
    regimen = course.regimen
    common = {
        "clinic_id": state.clinic_id,
        "patient_id": patient.pk,
        "patient_name": patient.full_name,
        "mrn": patient.mrn,
        "record": f"{regimen.name} course",
        "course_id": course.pk,
        "regimen_id": regimen.pk,
    }
    if state.problem == Problem.DATES:
        faults = course_date_faults(
            start_date=course.start_date,
            authorization_expires_on=course.authorization_expires_on,
            given_dates=[day for day in (state.first_given_on, state.last_given_on) if day is not None],
            booked_dates=[state.next_visit_at.date()] if state.next_visit_at else [],
        )
        # The stored state keeps the first booked visit only; a later one may be the wrong one.
        faults = list(dict.fromkeys(faults)) or ["has a visit dated"]
        on_course = not in_range(course.start_date) or (
            course.authorization_expires_on is not None and not in_range(course.authorization_expires_on)
        )
        where = (
            "Correct the date on the course page."
            if on_course
            else "A visit's date can only be corrected by an administrator: check the visit on the patient's page."
        )
        what = (
            f"The course {' and '.join(faults)}, outside {_range_words()}, so the dosing rules cannot place "
            f"its next dose and no dose reminder is sent. {where}"
        )
        return DataProblem(**common, what=what, fix="course" if on_course else "patient")
    if state.problem == Problem.REGIMEN:
        what = (
            f"The dosing rules cannot read the {regimen.name} regimen (its phases are missing or incomplete), "
            "so this course has no next dose and no dose reminder is sent. Check the regimen in the clinic settings."
        )
        return DataProblem(**common, what=what, fix="regimen")
    failed = timezone.localtime(state.planning_failed_at, state.clinic.tz)
    what = (
        f"The reminder planner could not plan this course's reminders on {dates.day(failed.date())} at "
        f"{failed:%H:%M}, so none is sent. Check the course's dates and options on the course page."
    )
    return DataProblem(**common, what=what, fix="course")


def _patient_problem(patient: Patient) -> DataProblem:
    born = patient.date_of_birth
    when = "after today" if born > EARLIEST_BIRTH else f"before {dates.day(EARLIEST_BIRTH)}"
    return DataProblem(
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        patient_name=patient.full_name,
        mrn=patient.mrn,
        record="Patient record",
        what=f"The date of birth, {dates.day(born)}, lies {when}. Correct it on the patient's page.",
        fix="patient",
    )


def data_problems_for_clinics(clinic_ids: Iterable[int], *, now: datetime | None = None) -> list[DataProblem]:
    """The records with a data problem in these clinics, course problems first, by patient."""
    ids = list(clinic_ids)
    states = (
        DoseState.objects.filter(_course_flagged(), clinic_id__in=ids)
        .select_related("clinic", "patient", "course__regimen")
        .order_by("patient__last_name", "patient__first_name", "course_id")[:LIST_LIMIT]
    )
    patients = Patient.objects.filter(_birth_out_of_range(now), clinic_id__in=ids).order_by(
        "last_name", "first_name", "pk"
    )[:LIST_LIMIT]
    problems = [_course_problem(state) for state in states] + [_patient_problem(patient) for patient in patients]
    return problems[:LIST_LIMIT]


# --- The planner's record --------------------------------------------------------------------


def stored_problem_courses(*, limit: int) -> tuple[int, list[int]]:
    """How many courses a stored problem keeps out of the planner, and the first `limit` ids (one index read each)."""
    rows = DoseState.objects.exclude(problem=Problem.NONE)
    return rows.count(), list(rows.order_by("course_id").values_list("course_id", flat=True)[:limit])


def planning_failed_record(course_ids: Iterable[int], *, now: datetime) -> None:
    """Note on each course's row that the planner failed on it in the run of `now`."""
    ids = list(course_ids)
    if ids:
        DoseState.objects.filter(course_id__in=ids).update(planning_failed_at=now)


def planning_failed_clear(*, now: datetime) -> int:
    """Clear the failures of earlier runs: a course the run of `now` planned (or no longer reads) is fine again."""
    return (
        DoseState.objects.filter(planning_failed_at__isnull=False)
        .exclude(planning_failed_at=now)
        .update(planning_failed_at=None)
    )
