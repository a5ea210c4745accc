"""The dose module: doses given are completed appointments on the clinic's local dates; booked
visits come before the next dose; the patient page's summary reads both."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from clinic.dosing import DoseStatus, GivenDose
from clinic.models import Chair, Regimen
from clinic.roles import sync_roles
from patients.models import TreatmentCourse
from scheduling.dose_summaries import course_dosing_summaries
from scheduling.doses import course_doses, courses_doses
from scheduling.models import Appointment
from tests.factories import PatientFactory, TreatmentCourseFactory

pytestmark = pytest.mark.django_db
Status = Appointment.Status


@pytest.fixture(autouse=True)
def _roles(db):
    # The role groups get their permissions after migrate; make sure this database has them.
    sync_roles()


def appointment(course, dose_number, starts_at, *, status=Status.COMPLETED, minutes=240, **extra):
    chair = Chair.objects.filter(clinic=course.patient.clinic).first()
    return Appointment.objects.create(
        clinic=course.patient.clinic,
        chair=chair,
        patient=course.patient,
        course=course,
        dose_number=dose_number,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        infusion_minutes=minutes,
        status=status,
        **extra,
    )


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def summary_of(course, day):
    return course_dosing_summaries(TreatmentCourse.objects.filter(pk=course.pk), day)[course.pk]


def ocrevus_course(clinic, start=date(2027, 1, 6), **extra):
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code="ocrevus"), start_date=start, **extra
    )


def test_only_completed_appointments_count_as_doses_given(clinic_a):
    course = ocrevus_course(clinic_a)
    appointment(course, 1, at(date(2027, 1, 6)))
    appointment(course, 2, at(date(2027, 1, 19)), status=Status.CANCELLED)
    appointment(course, 2, at(date(2027, 1, 20)), status=Status.NO_SHOW)
    appointment(course, 2, at(date(2027, 1, 21)), serious_reaction=True)
    appointment(course, 3, at(date(2027, 7, 6)), status=Status.BOOKED)
    history = course_doses(course).given
    assert [(dose.dose_number, dose.date, dose.serious_reaction) for dose in history] == [
        (1, date(2027, 1, 6), False),
        (2, date(2027, 1, 21), True),
    ]
    assert [visit.as_given() for visit in history] == [
        GivenDose(date(2027, 1, 6)),
        GivenDose(date(2027, 1, 21), serious_reaction=True),
    ]


def test_a_dose_given_late_on_the_evening_clocks_went_forward_keeps_the_clinics_date(clinic_b):
    # Harbour Infusion Suite is in New York: clocks went forward on 14 March 2027, so an
    # infusion at 21:30 local that evening is already 01:30 on 15 March in UTC.
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_b),
        regimen=Regimen.objects.get(code="tysabri"),
        start_date=date(2027, 3, 14),
    )
    appointment(course, 1, datetime(2027, 3, 15, 1, 30, tzinfo=UTC), minutes=60)
    assert [dose.date for dose in course_doses(course).given] == [date(2027, 3, 14)]
    summary = summary_of(course, date(2027, 3, 15))
    assert summary.next_dose.target_date == date(2027, 4, 11)


def test_the_recorded_infusion_start_is_the_day_given(clinic_a):
    course = ocrevus_course(clinic_a)
    # Booked for the evening of 6 January, infused after midnight London time.
    appointment(course, 1, at(date(2027, 1, 6), 22, 0), infusion_started_at=at(date(2027, 1, 7), 0, 15))
    assert [dose.date for dose in course_doses(course).given] == [date(2027, 1, 7)]


def test_the_summary_gives_the_next_dose_its_window_reason_and_plan(clinic_a):
    course = ocrevus_course(clinic_a)
    appointment(course, 1, at(date(2027, 1, 6)))
    appointment(course, 2, at(date(2027, 1, 20)))
    summary = summary_of(course, date(2027, 6, 20))
    assert summary.next_dose.reason == "dose 3, maintenance 600 mg IV: due 6 Jul 2027, not before 20 Jun 2027"
    assert summary.next_dose.status == DoseStatus.DUE_SOON
    assert summary.booked == []
    assert [dose.target_date for dose in summary.upcoming] == [date(2028, 1, 6), date(2028, 7, 6), date(2029, 1, 6)]
    assert [dose.dose_number for dose in summary.doses_given] == [1, 2]


def test_the_summary_lists_the_booked_visit_and_plans_the_next_dose_after_it(clinic_a):
    course = ocrevus_course(clinic_a)
    appointment(course, 1, at(date(2027, 1, 6)))
    booked = appointment(course, 2, at(date(2027, 1, 21)), status=Status.BOOKED)
    summary = summary_of(course, date(2027, 1, 10))
    assert [(visit.dose_number, visit.visit.appointment_id) for visit in summary.booked] == [(2, booked.pk)]
    # Maintenance counts from infusion 1: six months after 6 January, whatever day dose 2 is booked.
    assert (summary.next_dose.dose_number, summary.next_dose.target_date) == (3, date(2027, 7, 6))


def test_the_summary_lists_the_authorization_expiry(clinic_a):
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a),
        regimen=Regimen.objects.get(code="tysabri"),
        start_date=date(2027, 1, 4),
        authorization_expires_on=date(2027, 2, 1),
    )
    appointment(course, 1, at(date(2027, 1, 4)), minutes=60)
    summary = summary_of(course, date(2027, 1, 20))
    assert [(item.kind, item.due_date) for item in summary.monitoring] == [("authorization_expiry", date(2027, 2, 1))]


def test_next_doses_for_many_courses_take_the_same_queries_for_3_or_30(clinic_a, django_assert_num_queries):
    made = []

    def make(count):
        ids = []
        for _ in range(count):
            course = ocrevus_course(clinic_a)
            # Ten-minute infusions back to back on one chair, so no two rows overlap.
            appointment(course, 1, at(date(2027, 1, 6)) + timedelta(minutes=10 * len(made)), minutes=10)
            made.append(course)
            ids.append(course.pk)
        return ids

    few, many = make(3), make(30)
    for ids in (few, many):
        # The courses, the visits, the regimens, their phases and monitoring, each clinic's own chair time.
        with django_assert_num_queries(6):
            result = courses_doses(
                TreatmentCourse.objects.filter(pk__in=ids).select_related("patient__clinic"), today=date(2027, 1, 10)
            )
        assert len(result) == len(ids)
        assert {entry.next.dose_number for entry in result.values()} == {2}
        assert {entry.next.target_date for entry in result.values()} == {date(2027, 1, 20)}


def test_summaries_for_a_patients_courses_in_a_fixed_number_of_queries(clinic_a, django_assert_num_queries):
    patient = PatientFactory(clinic=clinic_a)
    for code in ("ocrevus", "tysabri", "lemtrada"):
        TreatmentCourseFactory(patient=patient, regimen=Regimen.objects.get(code=code), start_date=date(2027, 1, 6))
    with django_assert_num_queries(6):  # with each clinic's own chair time, read once for every course
        summaries = course_dosing_summaries(patient.courses.all(), today=date(2027, 1, 1))
    assert sorted(summary.next_dose.phase for summary in summaries.values()) == ["course 1", "initial", "maintenance"]


def test_the_partial_shows_the_next_dose_the_plan_and_a_booking_link(clinic_a, front_desk):
    course = ocrevus_course(clinic_a)
    appointment(course, 1, at(date(2027, 1, 6)))
    appointment(course, 2, at(date(2027, 1, 20)), serious_reaction=True)
    request = RequestFactory().get("/")
    request.user = front_desk
    html = render_to_string(
        "patients/_course_dosing.html",
        {"summary": summary_of(course, date(2027, 7, 20))},
        request=request,
    )
    assert "Overdue" in html
    assert "Dose 3, maintenance 600 mg IV: due 6 Jul 2027, not before 20 Jun 2027." in html
    assert "Tue 20 Jun 2027 to Tue 13 Jul 2027" not in html  # 20 June 2027 is a Sunday
    assert "Sun 20 Jun 2027 to Tue 13 Jul 2027" in html
    assert f'href="{reverse("scheduling:book", args=[course.pk])}"' in html
    assert "Book dose 3" in html
    assert "6 Jan 2028" in html  # the plan after the next dose
    assert "Serious reaction" in html


def test_the_partial_shows_no_booking_link_to_a_nurse(clinic_a, nurse):
    course = ocrevus_course(clinic_a)
    request = RequestFactory().get("/")
    request.user = nurse
    html = render_to_string(
        "patients/_course_dosing.html", {"summary": summary_of(course, date(2027, 1, 1))}, request=request
    )
    assert "Not booked yet." in html
    assert reverse("scheduling:book", args=[course.pk]) not in html
    assert "No dose given yet." in html


def test_the_partial_folds_away_all_but_the_last_six_doses(clinic_a, front_desk):
    made = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a),
        regimen=Regimen.objects.get(code="tysabri"),
        start_date=date(2026, 1, 5),
    )
    for number in range(1, 10):
        appointment(made, number, at(date(2026, 1, 5) + timedelta(weeks=4 * (number - 1))), minutes=60)
    summary = summary_of(made, date(2026, 9, 1))
    assert [dose.dose_number for dose in summary.recent_doses] == [9, 8, 7, 6, 5, 4]
    assert [dose.dose_number for dose in summary.earlier_doses] == [3, 2, 1]
    request = RequestFactory().get("/")
    request.user = front_desk
    html = render_to_string("patients/_course_dosing.html", {"summary": summary}, request=request)
    assert "<summary>3 earlier doses</summary>" in html
    assert "Mon 5 Jan 2026" in html


def test_a_stopped_course_is_never_shown_as_overdue(clinic_a, front_desk):
    made = ocrevus_course(clinic_a, status=TreatmentCourse.Status.STOPPED)
    request = RequestFactory().get("/")
    request.user = front_desk
    html = render_to_string(
        "patients/_course_dosing.html", {"summary": summary_of(made, date(2027, 6, 1))}, request=request
    )
    assert "Course stopped" in html
    assert "Overdue" not in html
    assert "Not booked: the course is stopped." in html
    assert reverse("scheduling:book", args=[made.pk]) not in html
