"""The availability search offers only slots that fit the whole visit, the chairs and the nurses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.dosing import ChairTime
from clinic.models import Chair, Closure, NurseStaffing, OpeningHours, Regimen
from scheduling.availability.day import Booked, ClinicRules, build_day, search_day
from scheduling.availability.search import find_slots, find_slots_for_course, slot_problem
from scheduling.models import Appointment
from tests.conftest import make_clinic
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, local

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)  # a Monday in winter (GMT in London, EST in New York)
BEFORE = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)  # "now" for the tests: well before MONDAY
OCREVUS_VISIT = ChairTime(premed_minutes=0, infusion_minutes=210, observation_minutes=0)  # 3.5 hours
HOUR = ChairTime(premed_minutes=0, infusion_minutes=60, observation_minutes=0)


def new_course(clinic):
    return TreatmentCourseFactory(patient=PatientFactory(clinic=clinic))


def search(clinic, chair_time=OCREVUS_VISIT, start=MONDAY, end=None, **kwargs):
    return find_slots(clinic=clinic, chair_time=chair_time, start=start, end=end or start, now=BEFORE, **kwargs)


def local_starts(result, clinic) -> list[str]:
    return sorted({f"{slot.starts_at.astimezone(clinic.tz):%H:%M}" for slot in result.slots})


def test_a_three_and_a_half_hour_visit_is_never_offered_at_a_quarter_to_six(clinic_a):
    result = search(clinic_a)
    starts = local_starts(result, clinic_a)
    assert "17:45" not in starts
    assert starts[0] == "08:00"
    assert starts[-1] == "14:30"  # 14:30 + 3.5 h = 18:00, closing time
    assert all(slot.ends_at <= local(clinic_a, MONDAY, 18) for slot in result.slots)


def test_every_start_is_on_the_clinics_grid(clinic_a):
    clinic_a.slot_minutes = 30
    clinic_a.save(update_fields=["slot_minutes"])
    starts = local_starts(search(clinic_a), clinic_a)
    assert all(start.endswith((":00", ":30")) for start in starts)
    assert len(starts) == 14  # 08:00 .. 14:30 every half hour


def test_a_closure_day_offers_nothing_and_says_why(clinic_a):
    Closure.objects.create(clinic=clinic_a, starts_on=MONDAY, ends_on=MONDAY, reason="Staff training")
    result = search(clinic_a, end=MONDAY + timedelta(days=1))
    monday, tuesday = result.days
    assert monday.slots == 0
    assert monday.code == "closure"
    assert monday.reason == "Closed: Staff training."
    assert tuesday.slots > 0
    assert {slot.local_day for slot in result.slots} == {MONDAY + timedelta(days=1)}


def test_a_weekend_is_closed_and_says_so(clinic_a):
    saturday = MONDAY + timedelta(days=5)
    result = search(clinic_a, start=saturday)
    assert result.slots == []
    assert result.days[0].code == "closed"
    assert result.days[0].reason == "Closed on Saturdays."


def test_days_before_the_earliest_date_are_outside_the_dosing_window(clinic_a):
    result = search(clinic_a, end=MONDAY + timedelta(days=2), earliest_date=MONDAY + timedelta(days=2))
    codes = [day.code for day in result.days]
    assert codes == ["outside_window", "outside_window", "open"]
    assert "not be given before 3 Mar 2027" in result.days[0].reason
    assert all(slot.local_day == MONDAY + timedelta(days=2) for slot in result.slots)


def test_a_full_day_says_it_is_full(clinic_a):
    for chair in Chair.objects.filter(clinic=clinic_a):
        book_directly(chair=chair, course=new_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8), minutes=600)
    result = search(clinic_a)
    assert result.slots == []
    assert result.days[0].code == "full"
    assert result.days[0].reason.startswith("Full")


def test_back_to_back_bookings_fit_on_the_same_chair(clinic_a):
    chair = Chair.objects.filter(clinic=clinic_a).first()
    book_directly(chair=chair, course=new_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9))  # 09:00-12:30
    result = search(clinic_a, chair_ids=[chair.pk])
    starts = local_starts(result, clinic_a)
    assert "08:45" not in starts  # would run into 09:00
    assert "12:15" not in starts
    assert "12:30" in starts  # starts as the previous visit ends
    assert "08:00" not in starts  # 08:00 + 3.5 h runs past 09:00
    assert (
        slot_problem(
            clinic=clinic_a,
            chair=chair,
            starts_at=local(clinic_a, MONDAY, 12, 30),
            chair_time=OCREVUS_VISIT,
            patient_id=None,
            now=BEFORE,
        )
        is None
    )


def test_it_keeps_the_patients_per_nurse_limit_at_every_moment(clinic_a):
    # 2 nurses x 1 patient each: two visits in chairs 1 and 2 fill the nurses from 09:00 to 12:30.
    clinic_a.patients_per_nurse = 1
    clinic_a.save(update_fields=["patients_per_nurse"])
    chairs = list(Chair.objects.filter(clinic=clinic_a))
    book_directly(chair=chairs[0], course=new_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9))
    book_directly(chair=chairs[1], course=new_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9, 15))
    result = search(clinic_a, chair_time=HOUR)
    starts = local_starts(result, clinic_a)
    assert "08:00" in starts
    assert "08:15" in starts  # ends as the second visit begins
    assert "08:30" not in starts  # 08:30-09:30 overlaps 09:15, when both nurses are busy
    assert "12:00" not in starts  # both visits still run at 12:00
    assert "12:30" in starts  # the first visit has ended
    problem = slot_problem(
        clinic=clinic_a,
        chair=chairs[2],
        starts_at=local(clinic_a, MONDAY, 10),
        chair_time=HOUR,
        patient_id=None,
        now=BEFORE,
    )
    assert "2 nurses on duty already look after 2 patients" in problem


def test_infusion_starts_are_staggered_per_nurse_and_counted_after_premedication(clinic_a):
    NurseStaffing.objects.filter(clinic=clinic_a).update(nurses=1)  # one start per 15 minutes
    chairs = list(Chair.objects.filter(clinic=clinic_a))
    # Premedication 08:30-09:00, so this infusion starts at 09:00.
    book_directly(
        chair=chairs[0], course=new_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8, 30), minutes=120, premed=30
    )
    no_premed = search(clinic_a, chair_time=HOUR, chair_ids=[chairs[1].pk])
    starts = local_starts(no_premed, clinic_a)
    assert "09:00" not in starts
    assert "08:45" in starts and "09:15" in starts
    with_premed = ChairTime(premed_minutes=30, infusion_minutes=60, observation_minutes=0)
    starts = local_starts(search(clinic_a, chair_time=with_premed, chair_ids=[chairs[1].pk]), clinic_a)
    assert "08:30" not in starts  # its infusion would start at 09:00 too
    assert "08:15" in starts


def test_the_patient_is_never_offered_a_time_they_are_already_booked_elsewhere(clinic_a, clinic_b):
    course = new_course(clinic_a)
    other_chair = Chair.objects.filter(clinic=clinic_b).first()
    # The same patient has a visit at clinic B (New York) at 15:00 UTC = 15:00 London.
    Appointment.objects.create(
        clinic=clinic_b,
        chair=other_chair,
        patient=course.patient,
        course=course,
        dose_number=1,
        starts_at=datetime(2027, 3, 1, 15, 0, tzinfo=UTC),
        ends_at=datetime(2027, 3, 1, 16, 0, tzinfo=UTC),
        infusion_minutes=60,
    )
    starts = local_starts(search(clinic_a, chair_time=HOUR, patient_id=course.patient_id), clinic_a)
    assert "14:00" in starts
    assert "14:30" not in starts and "15:00" not in starts and "15:45" not in starts
    assert "16:00" in starts


def test_a_clinic_in_another_time_zone_is_searched_on_its_own_clock(clinic_b):
    result = search(clinic_b)  # America/New_York, server in UTC
    first = result.slots[0]
    assert first.starts_at == datetime(2027, 3, 1, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert first.local_start.hour == 8
    assert local_starts(result, clinic_b)[-1] == "14:30"


def test_a_clinic_east_of_utc_keeps_its_local_day(db):
    auckland = make_clinic("Harbour City Infusions", time_zone="Pacific/Auckland")
    tuesday = MONDAY + timedelta(days=1)
    result = search(auckland, start=tuesday)
    assert result.slots[0].starts_at == datetime(2027, 3, 1, 19, 0, tzinfo=UTC)  # Tuesday 08:00 NZDT
    assert {slot.local_day for slot in result.slots} == {tuesday}


@pytest.mark.parametrize(
    ("sunday", "first_start_utc"),
    [
        (date(2027, 3, 28), datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),  # clocks go forward: 08:00 BST
        (date(2027, 10, 31), datetime(2027, 10, 31, 8, 0, tzinfo=UTC)),  # clocks go back: 08:00 GMT
    ],
)
def test_both_daylight_saving_change_days_keep_the_local_opening_hours(clinic_a, sunday, first_start_utc):
    OpeningHours.objects.create(clinic=clinic_a, weekday=6, opens=time(8), closes=time(18))
    NurseStaffing.objects.create(clinic=clinic_a, weekday=6, nurses=2)
    result = search(clinic_a, start=sunday)
    assert result.slots[0].starts_at == first_start_utc
    assert local_starts(result, clinic_a)[0] == "08:00"
    assert local_starts(result, clinic_a)[-1] == "14:30"


@pytest.mark.parametrize(("sunday", "fits"), [(date(2027, 3, 28), False), (date(2027, 10, 31), True)])
def test_a_night_across_the_clock_change_counts_the_hours_that_really_pass(clinic_a, sunday, fits):
    # Open 00:30-06:00 local: 4.5 real hours when the clocks go forward, 6.5 when they go back.
    OpeningHours.objects.create(clinic=clinic_a, weekday=6, opens=time(0, 30), closes=time(6))
    NurseStaffing.objects.create(clinic=clinic_a, weekday=6, nurses=2)
    five_hours = ChairTime(premed_minutes=0, infusion_minutes=300, observation_minutes=0)
    result = search(clinic_a, chair_time=five_hours, start=sunday)
    assert bool(result.slots) is fits
    for slot in result.slots:
        assert slot.ends_at - slot.starts_at == timedelta(hours=5)
        assert slot.local_end.time() <= time(6)
    if not fits:
        assert result.days[0].code == "too_short"


def test_no_slot_is_offered_in_the_past(clinic_a):
    now = local(clinic_a, MONDAY, 11, 5)
    result = find_slots(clinic=clinic_a, chair_time=HOUR, start=MONDAY, end=MONDAY, now=now)
    assert result.slots[0].local_start.time() == time(11, 15)


def test_the_balanced_choice_prefers_the_quieter_time(clinic_a):
    clinic_a.patients_per_nurse = 2
    clinic_a.save(update_fields=["patients_per_nurse"])
    chairs = list(Chair.objects.filter(clinic=clinic_a))
    # Mornings busy (3 of 4 places), afternoons empty.
    for index, chair in enumerate(chairs[:3]):
        book_directly(
            chair=chair, course=new_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8, 15 * index), minutes=240
        )
    result = search(clinic_a, chair_time=HOUR)
    assert result.earliest.local_start.time() < time(9)
    assert result.balanced.peak < result.earliest.peak
    assert result.balanced.local_start.time() >= time(12, 30)  # after the mornings' visits


def test_the_search_takes_the_same_four_queries_for_few_or_many_appointments(clinic_a):
    chairs = list(Chair.objects.filter(clinic=clinic_a))
    counts = []
    for days in (range(0, 1), range(1, 20)):
        for offset in days:
            day = MONDAY + timedelta(days=offset)
            for chair in chairs:
                book_directly(chair=chair, course=new_course(clinic_a), starts_at=local(clinic_a, day, 8), minutes=60)
        with CaptureQueriesContext(connection) as queries:
            search(clinic_a, chair_time=HOUR, end=MONDAY + timedelta(days=27), patient_id=1)
        counts.append(len(queries))
    assert counts == [4, 4]


@time_machine.travel(datetime(2027, 2, 1, 12, 0, tzinfo=UTC), tick=False)
def test_a_course_search_offers_its_next_dose_in_its_window_in_at_most_nine_queries(clinic_a):
    course = TreatmentCourseFactory(patient=PatientFactory(clinic=clinic_a), start_date=MONDAY)
    course.refresh_from_db()
    course = type(course).objects.select_related("patient__clinic", "regimen").get(pk=course.pk)
    with CaptureQueriesContext(connection) as queries:
        result = find_slots_for_course(course)
    # Five for the course's doses (its visits, the regimen, its phases and monitoring rules, the clinic's own
    # chair time), four for the search.
    assert len(queries) <= 9
    assert result.dose.dose_number == 1
    assert result.start == MONDAY  # dose 1 falls on the course start date, not before
    assert result.slots[0].local_day == MONDAY
    # Ocrevus dose 1: 30 min premedication, 150 min infusion, 60 min observation.
    assert result.chair_time.total_minutes == 240
    assert local_starts(result, clinic_a)[-1] == "14:00"


@time_machine.travel(datetime(2027, 2, 1, 12, 0, tzinfo=UTC), tick=False)
def test_a_course_search_leaves_the_regimens_monitoring_rules_to_the_next_reader(clinic_a):
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a), regimen=Regimen.objects.get(code="lemtrada"), start_date=MONDAY
    )
    course = type(course).objects.select_related("patient__clinic", "regimen").get(pk=course.pk)
    rules = list(course.regimen.monitoring.all())
    assert len(rules) == 2  # Lemtrada: monthly blood and urine tests, thyroid every 3 months
    find_slots_for_course(course)
    assert list(course.regimen.monitoring.all()) == rules
    prefetched = type(course).objects.prefetch_related("regimen__monitoring").get(pk=course.pk)
    find_slots_for_course(prefetched)
    assert list(prefetched.regimen.monitoring.all()) == rules


def test_the_day_arithmetic_needs_only_plain_values(clinic_a):
    rules = ClinicRules(clinic_id=1, tz=clinic_a.tz, slot_minutes=30, patients_per_nurse=1, starts_per_nurse=1)
    opening = local(clinic_a, MONDAY, 8)
    begin = int(opening.timestamp() // 60)
    # One nurse looks after one patient: a visit 08:00-10:00 on chair 1 leaves nothing before 10:00.
    booked = [
        Booked(
            chair_id=1, patient_id=7, clinic_id=1, start=begin, end=begin + 120, infusion_start=begin, appointment_id=1
        )
    ]
    info = build_day(rules, MONDAY, time(8), time(12), 1, booked, None)
    slots, code, reason = search_day(
        rules, info, chairs=[(1, "Chair 1"), (2, "Chair 2")], duration=60, premed=0, now_minute=0, late=False
    )
    assert (code, reason) == ("open", "")
    assert sorted({f"{slot.local_start:%H:%M}" for slot in slots}) == ["10:00", "10:30", "11:00"]
