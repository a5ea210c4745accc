"""One truth for every dose: the same course histories give the same next dose everywhere.

Each case is a course history; the dose module, the stored state, the worklist, the booking
page's search, the reminder planner, the patient page and the roster (once that dose is booked)
must all name the same next dose (number and target date; on the roster, its phase and label). A course with a visit on the books is left off the worklist and
gets no "please book" reminder, by rule; the others still agree on the dose after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest

from clinic.models import Chair, Regimen
from patients.models import TreatmentCourse
from scheduling.availability.search import find_slots_for_course
from scheduling.booking.services import booking_create
from scheduling.dose_summaries import course_dosing_summaries
from scheduling.doses import course_doses, planned_dose
from scheduling.models import Appointment, DoseState, Reminder
from scheduling.reminders.planner import reminders_plan
from scheduling.roster.selectors import roster_for_day
from scheduling.worklist.selectors import worklist_rows
from tests.factories import PatientFactory, TreatmentCourseFactory

pytestmark = pytest.mark.django_db

TODAY = date(2027, 3, 1)  # a Monday
S = Appointment.Status


@dataclass(frozen=True)
class Case:
    name: str
    regimen: str
    start: date
    visits: tuple[tuple[int, date, str], ...]  # (dose number, day, status)
    next_dose: tuple[int, date]
    booked: bool = False


CASES = [
    # Tysabri every 4 weeks: dose 2 given a week late moves dose 3 to four weeks after it.
    Case(
        "late dose",
        "tysabri",
        date(2027, 1, 4),
        ((1, date(2027, 1, 4), S.COMPLETED), (2, date(2027, 2, 8), S.COMPLETED)),
        (3, date(2027, 3, 8)),
    ),
    # Dose 2 booked, not given: the next dose is 3, planned from dose 2's booked day.
    Case(
        "booked but not given",
        "tysabri",
        date(2027, 2, 1),
        ((1, date(2027, 2, 1), S.COMPLETED), (2, date(2027, 3, 3), S.BOOKED)),
        (3, date(2027, 3, 31)),
        booked=True,
    ),
    # A cancelled visit counts for nothing: dose 2 is still owed four weeks after dose 1.
    Case(
        "cancelled visit",
        "tysabri",
        date(2027, 1, 25),
        ((1, date(2027, 1, 25), S.COMPLETED), (2, date(2027, 2, 22), S.CANCELLED)),
        (2, date(2027, 2, 22)),
    ),
    # A no-show likewise: Ocrevus dose 2 stays 14 days after dose 1.
    Case(
        "no-show",
        "ocrevus",
        date(2027, 2, 8),
        ((1, date(2027, 2, 8), S.COMPLETED), (2, date(2027, 2, 22), S.NO_SHOW)),
        (2, date(2027, 2, 22)),
    ),
]


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(datetime(2027, 3, 1, 6, 0, tzinfo=UTC), tick=False)


def _course(clinic, case: Case) -> TreatmentCourse:
    patient = PatientFactory(clinic=clinic, email="patient@example.org", reminder_consent=True)
    course = TreatmentCourseFactory(
        patient=patient, regimen=Regimen.objects.get(code=case.regimen), start_date=case.start
    )
    chair = Chair.objects.filter(clinic=clinic).order_by("position").first()
    for dose_number, day, status in case.visits:
        starts_at = datetime.combine(day, time(9, 0), tzinfo=clinic.tz)
        Appointment.objects.create(
            clinic=clinic,
            chair=chair,
            patient=patient,
            course=course,
            dose_number=dose_number,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=2),
            infusion_minutes=120,
            status=status,
        )
    return course


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_page_and_job_names_the_same_next_dose(clinic_a, front_desk, case):
    course = _course(clinic_a, case)
    expected = case.next_dose

    doses = course_doses(course)
    assert (doses.next.dose_number, doses.next.target_date) == expected

    state = DoseState.objects.get(course=course)
    assert (state.dose_number, state.target_date) == expected

    summary = course_dosing_summaries(TreatmentCourse.objects.filter(pk=course.pk))[course.pk]
    assert (summary.next_dose.dose_number, summary.next_dose.target_date) == expected

    search = find_slots_for_course(course)
    assert (search.dose.dose_number, search.dose.target_date) == expected

    rows = [row for row in worklist_rows(clinics=[clinic_a], weeks=8) if row.course.pk == course.pk]
    reminders_plan(now=datetime.combine(TODAY, time(10, 0), tzinfo=clinic_a.tz))
    dose_reminders = list(
        Reminder.objects.filter(course=course, kind__in=(Reminder.Kind.DOSE_DUE_SOON, Reminder.Kind.DOSE_OVERDUE))
    )
    if case.booked:
        assert rows == []
        assert dose_reminders == []
    else:
        assert [(row.dose.dose_number, row.dose.target_date) for row in rows] == [expected]
        assert dose_reminders, "a due dose gets a reminder"
        assert {reminder.key.split(":")[2] for reminder in dose_reminders} == {str(expected[0])}

    # The roster: the booked visit of the case, or the next dose once the front desk books it.
    if case.booked:
        visit = doses.booked[0]
        roster_dose = planned_dose(course, visit.dose_number, exclude_appointment_id=visit.appointment_id)
        day = visit.date
    else:
        slot = search.slots[0]
        chair = Chair.objects.get(pk=slot.chair_id)
        booking_create(course=course, chair=chair, starts_at=slot.starts_at, booked_by=front_desk)
        roster_dose, day = doses.next, slot.starts_at.astimezone(clinic_a.tz).date()
    assert roster_dose.phase and roster_dose.dose_label
    shown = [v for v in roster_for_day(clinic=clinic_a, day=day).visits if v.appointment.course_id == course.pk]
    assert [(v.dose_number, v.phase, v.dose_label) for v in shown] == [
        (roster_dose.dose_number, roster_dose.phase, roster_dose.dose_label)
    ]


def test_an_initiation_whose_first_visit_was_missed_counts_both_infusions_given(clinic_a):
    """Ocrevus: the visit booked as dose 1 was missed and the one booked as dose 2 was the first
    infusion given; the next visit, planned as the second infusion, was booked as dose 2 too. Both
    infusions count: the next dose is the first maintenance dose, 6 months after the first one
    given, and not dose 2 again, which would book the patient every two weeks without end."""
    case = Case(
        "first visit missed",
        "ocrevus",
        date(2027, 1, 4),
        (
            (1, date(2027, 1, 4), S.NO_SHOW),
            (2, date(2027, 1, 18), S.COMPLETED),
            (2, date(2027, 2, 1), S.COMPLETED),
        ),
        (3, date(2027, 7, 18)),
    )
    course = _course(clinic_a, case)

    doses = course_doses(course)
    assert [visit.date for visit in doses.given] == [date(2027, 1, 18), date(2027, 2, 1)]
    assert (doses.next.dose_number, doses.next.target_date) == case.next_dose
    state = DoseState.objects.get(course=course)
    assert (state.dose_number, state.target_date, state.given_count) == (*case.next_dose, 2)
    assert [row for row in worklist_rows(clinics=[clinic_a], weeks=8) if row.course.pk == course.pk] == []


def test_the_same_dose_entered_twice_on_one_day_still_counts_once(clinic_a):
    case = Case(
        "duplicate row",
        "tysabri",
        date(2027, 1, 4),
        ((1, date(2027, 1, 4), S.COMPLETED),),
        (2, date(2027, 2, 1)),
    )
    course = _course(clinic_a, case)
    first = course.appointments.get()
    again = first.starts_at + timedelta(hours=4)
    Appointment.objects.create(
        clinic=clinic_a,
        chair=first.chair,
        patient=course.patient,
        course=course,
        dose_number=1,
        starts_at=again,
        ends_at=again + timedelta(hours=2),
        infusion_minutes=120,
        status=S.COMPLETED,
    )
    doses = course_doses(course)
    assert len(doses.given) == 1
    assert (doses.next.dose_number, doses.next.target_date) == case.next_dose
