"""The nurses' roster: what each visit needs, where it sits on the day, and a fixed query count."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from clinic.models import OpeningHours
from clinic.roles import NURSE
from scheduling.models import Appointment, NurseAssignment
from scheduling.roster.selectors import roster_for_day
from tests.helpers import DEMO_PASSWORD, book_directly, local, make_clinic, make_course, make_staff

pytestmark = pytest.mark.django_db


MONDAY = date(2027, 3, 1)  # GMT in London
Status = Appointment.Status


# A visit with 30 minutes of premedication, a 150-minute infusion and an hour of observation,
# unless the test says otherwise.
book_visit = partial(book_directly, premed=30, infusion=150, observation=60)


def flags_of(roster, appointment) -> dict:
    (visit,) = [visit for visit in roster.visits if visit.pk == appointment.pk]
    return {flag.code: flag for flag in visit.flags}


def flag_codes(roster, appointment) -> set[str]:
    return set(flags_of(roster, appointment))


# --- What each visit shows --------------------------------------------------------------


def test_a_visit_shows_its_patient_drug_dose_and_the_parts_of_its_chair_time(clinic_a):
    chair = clinic_a.chairs.first()
    course = make_course(clinic_a, start=MONDAY - timedelta(days=14))
    book_visit(
        chair=chair,
        course=course,
        starts_at=local(clinic_a, MONDAY - timedelta(days=14), 9),
        dose_number=1,
        status=Status.COMPLETED,
    )
    appointment = book_visit(chair=chair, course=course, starts_at=local(clinic_a, MONDAY, 9), dose_number=2)

    roster = roster_for_day(clinic=clinic_a, day=MONDAY, now=local(clinic_a, MONDAY, 7))

    (visit,) = roster.visits
    assert visit.pk == appointment.pk
    assert visit.patient_name == course.patient.full_name
    assert visit.mrn == course.patient.mrn
    assert (visit.drug, visit.dose_label, visit.dose_number, visit.phase) == ("Ocrevus", "300 mg IV", 2, "initial")
    assert (visit.premed_time, visit.infusion_start, visit.infusion_end, visit.observation_end) == (
        "09:00",
        "09:30",
        "12:00",
        "13:00",
    )
    assert [(segment.kind, segment.minutes) for segment in visit.segments] == [
        ("premed", 30),
        ("infusion", 150),
        ("observation", 60),
    ]
    # 08:00-18:00 is ten hours: a visit from 09:00 to 13:00 starts at 10 % and spans 40 %.
    assert (visit.left, visit.width) == (10.0, 40.0)
    assert roster.chairs[0].visits == [visit]


def test_the_maintenance_dose_label_comes_from_the_dosing_rules(clinic_a):
    chair = clinic_a.chairs.first()
    start = date(2026, 9, 1)
    course = make_course(clinic_a, start=start)
    book_visit(chair=chair, course=course, starts_at=local(clinic_a, start, 9), dose_number=1, status=Status.COMPLETED)
    book_visit(
        chair=chair,
        course=course,
        starts_at=local(clinic_a, start + timedelta(days=14), 9),
        dose_number=2,
        status=Status.COMPLETED,
    )
    book_visit(chair=chair, course=course, starts_at=local(clinic_a, MONDAY, 9), dose_number=3, infusion=210)

    (visit,) = roster_for_day(clinic=clinic_a, day=MONDAY, now=local(clinic_a, MONDAY, 7)).visits

    assert (visit.dose_label, visit.phase) == ("600 mg IV", "maintenance")


def test_the_list_is_ordered_by_start_and_cancelled_visits_stay_off_it(clinic_a):
    first, second = clinic_a.chairs.all()[:2]
    late = book_visit(chair=second, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 11))
    early = book_visit(chair=first, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8, 30))
    book_visit(
        chair=first, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 14), status=Status.CANCELLED
    )
    no_show = book_visit(
        chair=first, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 12, 30), status=Status.NO_SHOW
    )

    roster = roster_for_day(clinic=clinic_a, day=MONDAY, now=local(clinic_a, MONDAY, 15))

    assert [visit.pk for visit in roster.visits] == [early.pk, late.pk, no_show.pk]


def test_the_first_infusion_is_flagged_and_a_later_one_is_not(clinic_a):
    first_chair, second_chair = clinic_a.chairs.all()[:2]
    first = book_visit(
        chair=first_chair, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9), dose_number=1
    )
    second = book_visit(
        chair=second_chair, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9), dose_number=2
    )

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    assert "first_infusion" in flag_codes(roster, first)
    assert "first_infusion" not in flag_codes(roster, second)


def test_observation_is_flagged_only_where_the_visit_has_it(clinic_a):
    first_chair, second_chair = clinic_a.chairs.all()[:2]
    start = MONDAY - timedelta(days=400)
    observed = book_visit(
        chair=first_chair,
        course=make_course(clinic_a, "tysabri"),
        starts_at=local(clinic_a, MONDAY, 9),
        dose_number=3,
        observation=60,
    )
    # A Tysabri patient past their 12th infusion (given here) needs no observation.
    later = make_course(clinic_a, "tysabri", start=start)
    for number in range(1, 14):
        book_visit(
            chair=first_chair,
            course=later,
            starts_at=local(clinic_a, start + timedelta(days=28 * (number - 1)), 8),
            dose_number=number,
            premed=0,
            infusion=60,
            observation=0,
            status=Status.COMPLETED,
        )
    unobserved = book_visit(
        chair=second_chair,
        course=later,
        starts_at=local(clinic_a, MONDAY, 9),
        dose_number=14,
        premed=0,
        infusion=60,
        observation=0,
    )

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    assert "observation" in flag_codes(roster, observed)
    assert "observation" not in flag_codes(roster, unobserved)


def test_a_reaction_at_an_earlier_visit_is_flagged_and_a_serious_one_stands_out(clinic_a):
    chair, other = clinic_a.chairs.all()[:2]
    mild = make_course(clinic_a, start=MONDAY - timedelta(days=14))
    book_visit(
        chair=chair,
        course=mild,
        starts_at=local(clinic_a, MONDAY - timedelta(days=14), 9),
        status=Status.COMPLETED,
        infusion_reaction=True,
    )
    serious = make_course(clinic_a, start=MONDAY - timedelta(days=14))
    book_visit(
        chair=chair,
        course=serious,
        starts_at=local(clinic_a, MONDAY - timedelta(days=14), 14),
        status=Status.COMPLETED,
        infusion_reaction=True,
        serious_reaction=True,
    )
    calm = make_course(clinic_a, start=MONDAY - timedelta(days=14))
    book_visit(
        chair=other, course=calm, starts_at=local(clinic_a, MONDAY - timedelta(days=14), 9), status=Status.COMPLETED
    )
    visits = {
        "mild": book_visit(chair=chair, course=mild, starts_at=local(clinic_a, MONDAY, 8), dose_number=2),
        "serious": book_visit(chair=other, course=serious, starts_at=local(clinic_a, MONDAY, 8), dose_number=2),
        "calm": book_visit(chair=chair, course=calm, starts_at=local(clinic_a, MONDAY, 13), dose_number=2),
    }

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    flags = {visit.pk: {flag.code: flag for flag in visit.flags} for visit in roster.visits}
    assert flags[visits["mild"].pk]["prior_reaction"].level == "warning"
    assert flags[visits["serious"].pk]["prior_reaction"].level == "danger"
    assert flags[visits["serious"].pk]["prior_reaction"].label == "Serious infusion reaction before"
    assert "prior_reaction" not in flags[visits["calm"].pk]


@pytest.mark.parametrize(
    ("regimen_code", "expires_on", "expected"),
    [
        ("tysabri", MONDAY + timedelta(days=90), "authorization"),
        ("tysabri", MONDAY - timedelta(days=1), "authorization_expired"),
        ("tysabri", None, "authorization_expired"),
        ("lemtrada", MONDAY, "authorization"),
        ("ocrevus", None, None),
    ],
)
def test_the_programme_authorization_is_flagged_to_check_or_expired(clinic_a, regimen_code, expires_on, expected):
    course = make_course(clinic_a, regimen_code, authorization_expires_on=expires_on)
    appointment = book_visit(
        chair=clinic_a.chairs.first(), course=course, starts_at=local(clinic_a, MONDAY, 9), dose_number=2
    )

    codes = flag_codes(roster_for_day(clinic=clinic_a, day=MONDAY), appointment)

    assert codes & {"authorization", "authorization_expired"} == ({expected} if expected else set())


def test_an_expired_authorization_says_not_to_infuse(clinic_a):
    course = make_course(clinic_a, "tysabri", authorization_expires_on=date(2027, 2, 27))
    book_visit(chair=clinic_a.chairs.first(), course=course, starts_at=local(clinic_a, MONDAY, 9), dose_number=2)

    (visit,) = roster_for_day(clinic=clinic_a, day=MONDAY).visits

    (flag,) = [flag for flag in visit.flags if flag.code == "authorization_expired"]
    assert flag.label == "Tysabri risk minimisation forms: authorization expired 27 Feb 2027"
    assert "Do not infuse" in flag.detail


def test_lemtrada_labs_due_around_the_visit_are_flagged(clinic_a):
    chair = clinic_a.chairs.first()
    course_start = date(2026, 3, 1)
    course = make_course(clinic_a, "lemtrada", start=course_start, authorization_expires_on=date(2028, 1, 1))
    for number in range(1, 6):
        book_visit(
            chair=chair,
            course=course,
            starts_at=local(clinic_a, course_start + timedelta(days=number - 1), 8),
            dose_number=number,
            premed=60,
            infusion=240,
            observation=120,
            status=Status.COMPLETED,
        )
    # Course 2, twelve months after course 1: the monthly labs fall due on the day.
    second_course = book_visit(
        chair=chair,
        course=course,
        starts_at=local(clinic_a, MONDAY, 8),
        dose_number=6,
        premed=60,
        infusion=240,
        observation=120,
    )
    # Day 2 of a first course: no labs are due yet.
    new = make_course(clinic_a, "lemtrada", start=MONDAY - timedelta(days=1), authorization_expires_on=date(2028, 1, 1))
    book_visit(
        chair=chair,
        course=new,
        starts_at=local(clinic_a, MONDAY - timedelta(days=1), 8),
        dose_number=1,
        status=Status.COMPLETED,
    )
    day_two = book_visit(
        chair=clinic_a.chairs.all()[1],
        course=new,
        starts_at=local(clinic_a, MONDAY, 8),
        dose_number=2,
        premed=60,
        infusion=240,
        observation=120,
    )

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    labs = flags_of(roster, second_course)["labs"]
    assert "CBC with differential" in labs.detail
    assert "labs" not in flag_codes(roster, day_two)


def test_a_pregnancy_check_is_flagged_where_the_regimen_asks(clinic_a):
    first_chair, second_chair = clinic_a.chairs.all()[:2]
    briumvi = book_visit(
        chair=first_chair, course=make_course(clinic_a, "briumvi"), starts_at=local(clinic_a, MONDAY, 9), dose_number=2
    )
    ocrevus = book_visit(
        chair=second_chair, course=make_course(clinic_a, "ocrevus"), starts_at=local(clinic_a, MONDAY, 9), dose_number=2
    )

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    assert "pregnancy" in flag_codes(roster, briumvi)
    assert "pregnancy" not in flag_codes(roster, ocrevus)


# --- At a glance -----------------------------------------------------------------------------


def test_a_patient_not_arrived_fifteen_minutes_after_the_start_is_late(clinic_a):
    chair, other = clinic_a.chairs.all()[:2]
    waiting = book_visit(chair=chair, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9))
    arrived = book_visit(
        chair=other, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9), status=Status.ARRIVED
    )

    at_ten_past = roster_for_day(clinic=clinic_a, day=MONDAY, now=local(clinic_a, MONDAY, 9, 10))
    at_sixteen_past = roster_for_day(clinic=clinic_a, day=MONDAY, now=local(clinic_a, MONDAY, 9, 16))

    assert [visit.late for visit in at_ten_past.visits] == [False, False]
    assert {visit.pk for visit in at_sixteen_past.visits if visit.late} == {waiting.pk}
    assert at_sixteen_past.late_count == 1
    assert arrived.pk not in {visit.pk for visit in at_sixteen_past.visits if visit.late}


def test_a_visit_past_its_planned_end_and_not_completed_is_an_overrun(clinic_a):
    chair, other = clinic_a.chairs.all()[:2]
    infusing = book_visit(
        chair=chair, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8), status=Status.INFUSING
    )
    book_visit(chair=other, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8), status=Status.COMPLETED)

    roster = roster_for_day(clinic=clinic_a, day=MONDAY, now=local(clinic_a, MONDAY, 12, 5))

    assert [visit.pk for visit in roster.visits if visit.overrun] == [infusing.pk]
    assert roster.overrun_count == 1


def test_the_page_marks_late_visits_and_refreshes_itself_with_htmx(client, nurse, clinic_a):
    book_visit(chair=clinic_a.chairs.first(), course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9))
    with time_machine.travel(local(clinic_a, MONDAY, 9, 30), tick=False):
        client.force_login(nurse)
        response = client.get(reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": MONDAY.isoformat()})
        partial = client.get(
            reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": MONDAY.isoformat()}, HTTP_HX_REQUEST="true"
        )

    html = response.content.decode()
    assert 'hx-trigger="every 60s' in html
    assert "1 late" in html
    assert "is-late" in html
    assert "chairside/roster.css" in html
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="roster-body"')
    assert "<nav" not in body.split('id="roster-body"')[0]


# --- Days and time zones ---------------------------------------------------------------------


def test_the_roster_opens_on_today_in_the_clinics_own_time_zone(client, db):
    harbour = make_clinic("Harbour Infusion Suite", time_zone="America/New_York")
    nurse = make_staff("nora", NURSE, harbour)
    # 02:00 UTC on Tuesday is still Monday evening in New York.
    with time_machine.travel(datetime(2027, 3, 2, 2, 0, tzinfo=UTC), tick=False):
        client.force_login(nurse)
        response = client.get(reverse("scheduling:roster"))

    assert response.status_code == 200
    assert response.context["day"] == MONDAY
    assert response.context["clinic"] == harbour


def test_a_roster_on_the_day_the_clocks_go_forward_places_visits_by_real_time(db):
    clinic = make_clinic("Night Infusion Unit", time_zone="Europe/London")
    spring_forward = date(2026, 3, 29)  # a Sunday: 01:00 GMT becomes 02:00 BST
    OpeningHours.objects.create(clinic=clinic, weekday=6, opens=time(0, 0), closes=time(23, 0))
    chair = clinic.chairs.first()
    before = book_visit(
        chair=chair,
        course=make_course(clinic),
        starts_at=datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
        premed=0,
        infusion=60,
        observation=0,
    )
    after = book_visit(
        chair=chair,
        course=make_course(clinic),
        starts_at=datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
        premed=0,
        infusion=60,
        observation=0,
    )
    last = book_visit(
        chair=chair,
        course=make_course(clinic),
        starts_at=datetime(2026, 3, 29, 21, 30, tzinfo=UTC),
        premed=0,
        infusion=60,
        observation=0,
    )
    book_visit(
        chair=chair,
        course=make_course(clinic),
        starts_at=datetime(2026, 3, 28, 23, 30, tzinfo=UTC),
        premed=0,
        infusion=30,
        observation=0,
    )
    book_visit(
        chair=chair,
        course=make_course(clinic),
        starts_at=datetime(2026, 3, 29, 23, 0, tzinfo=UTC),
        premed=0,
        infusion=30,
        observation=0,
    )

    roster = roster_for_day(clinic=clinic, day=spring_forward, now=datetime(2026, 3, 30, 12, 0, tzinfo=UTC))

    # The day holds 23 real hours: 28 Mar 23:30 GMT and 30 Mar 00:00 BST are other days.
    assert [visit.pk for visit in roster.visits] == [before.pk, after.pk, last.pk]
    assert [visit.starts for visit in roster.visits] == ["00:00", "03:00", "22:30"]
    # Opening 00:00 to 23:00 local is 22 real hours; 02:00 UTC is two of them in.
    assert roster.visits[1].left == pytest.approx(2 / 22 * 100, abs=0.001)
    assert roster.visits[1].width == pytest.approx(1 / 22 * 100, abs=0.001)
    labels = [tick.label for tick in roster.ticks]
    assert labels[:3] == ["00:00", "02:00", "03:00"]  # there is no 01:00 on this day
    assert labels[-1] == "23:00"
    assert len(roster.ticks) == 23


def test_a_roster_on_the_day_the_clocks_go_back_holds_the_repeated_hour(db):
    clinic = make_clinic("Harbour Night Unit", time_zone="America/New_York")
    fall_back = date(2026, 11, 1)  # a Sunday: 02:00 EDT becomes 01:00 EST
    OpeningHours.objects.create(clinic=clinic, weekday=6, opens=time(0, 0), closes=time(23, 0))
    first_one_am = book_visit(
        chair=clinic.chairs.first(),
        course=make_course(clinic),
        starts_at=datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
        premed=0,
        infusion=30,
        observation=0,
    )
    second_one_am = book_visit(
        chair=clinic.chairs.first(),
        course=make_course(clinic),
        starts_at=datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
        premed=0,
        infusion=30,
        observation=0,
    )

    roster = roster_for_day(clinic=clinic, day=fall_back, now=datetime(2026, 11, 2, 12, 0, tzinfo=UTC))

    assert [visit.starts for visit in roster.visits] == ["01:00", "01:00"]
    assert [visit.pk for visit in roster.visits] == [first_one_am.pk, second_one_am.pk]
    assert roster.visits[1].left - roster.visits[0].left == pytest.approx(1 / 24 * 100, abs=0.001)
    assert [tick.label for tick in roster.ticks][:4] == ["00:00", "01:00", "01:00", "02:00"]


# --- Nurses ----------------------------------------------------------------------------------


def test_each_nurses_load_is_counted_and_a_broken_rule_is_named(clinic_a, nurse, manager):
    clinic_a.patients_per_nurse = 1
    clinic_a.save(update_fields=["patients_per_nurse"])
    first_chair, second_chair, third_chair = clinic_a.chairs.all()[:3]
    NurseAssignment.objects.create(clinic=clinic_a, day=MONDAY, chair=first_chair, nurse=nurse, assigned_by=manager)
    NurseAssignment.objects.create(clinic=clinic_a, day=MONDAY, chair=second_chair, nurse=nurse, assigned_by=manager)
    book_visit(
        chair=first_chair,
        course=make_course(clinic_a),
        starts_at=local(clinic_a, MONDAY, 9),
        premed=0,
        infusion=60,
        observation=0,
    )
    book_visit(
        chair=second_chair,
        course=make_course(clinic_a),
        starts_at=local(clinic_a, MONDAY, 9, 30),
        premed=0,
        infusion=60,
        observation=0,
    )
    book_visit(
        chair=third_chair,
        course=make_course(clinic_a),
        starts_at=local(clinic_a, MONDAY, 14),
        premed=0,
        infusion=60,
        observation=0,
    )

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    (load,) = roster.nurse_loads
    assert load.nurse == nurse
    assert load.peak == 2
    assert load.over_patients
    assert not load.over_starts
    # 15-minute slots from 08:00: 09:00-10:00 holds one patient, 09:30-10:00 two.
    assert load.slots[4:10] == [1, 1, 2, 2, 1, 1]
    assert any("Nina has more than 1 patients at once from 09:30" in warning for warning in roster.warnings)
    assert any("No nurse is assigned to Chair 3" in warning for warning in roster.warnings)


def test_two_infusion_starts_in_fifteen_minutes_for_one_nurse_break_the_staggered_start(clinic_a, nurse, manager):
    first_chair, second_chair = clinic_a.chairs.all()[:2]
    for chair in (first_chair, second_chair):
        NurseAssignment.objects.create(clinic=clinic_a, day=MONDAY, chair=chair, nurse=nurse, assigned_by=manager)
    book_visit(chair=first_chair, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9), premed=30)
    book_visit(chair=second_chair, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9, 5), premed=30)

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    assert roster.nurse_loads[0].over_starts
    assert any("more than 1 infusion start in 15 minutes at 09:30" in warning for warning in roster.warnings)


def test_more_patients_than_the_nurses_on_duty_allow_is_warned(clinic_a):
    clinic_a.patients_per_nurse = 1
    clinic_a.save(update_fields=["patients_per_nurse"])  # two nurses on duty: two patients at once
    for chair in clinic_a.chairs.all()[:3]:
        book_visit(chair=chair, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 9, chair.position * 15))

    roster = roster_for_day(clinic=clinic_a, day=MONDAY)

    assert "More than 2 patients in chairs at once from 09:45 for the 2 nurses on duty." in roster.warnings


# --- Access ----------------------------------------------------------------------------------


def test_staff_of_another_clinic_cannot_open_this_clinics_roster(client, staff_b, clinic_a):
    client.force_login(staff_b)

    response = client.get(reverse("scheduling:roster"), {"clinic": clinic_a.pk})

    assert response.status_code == 404


def test_anyone_not_logged_in_is_sent_to_the_login_page(client, clinic_a):
    response = client.get(reverse("scheduling:roster"), {"clinic": clinic_a.pk})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_date_that_cannot_be_read_falls_back_to_today_with_a_sentence(client, nurse, clinic_a):
    with time_machine.travel(local(clinic_a, MONDAY, 10), tick=False):
        client.force_login(nurse)
        response = client.get(reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": "31/02/2027"})

    assert response.context["day"] == MONDAY
    assert "That date could not be read" in response.content.decode()


# --- A fixed number of queries ---------------------------------------------------------------

REGIMEN_MIX = ("ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab")


def fill_day(clinic, day: date, visits: int, nurses) -> None:
    """`visits` visits over the clinic's chairs, each with a dose given before and some reactions."""
    chairs = list(clinic.chairs.all())
    for index, chair in enumerate(chairs):
        NurseAssignment.objects.create(clinic=clinic, day=day, chair=chair, nurse=nurses[index % len(nurses)])
    for number in range(visits):
        chair = chairs[number % len(chairs)]
        slot = number // len(chairs)  # four two-hour-and-a-quarter visits per chair, 08:00-17:00
        first_dose = day - timedelta(days=200 + number)
        course = make_course(
            clinic,
            REGIMEN_MIX[number % len(REGIMEN_MIX)],
            start=first_dose,
            authorization_expires_on=day + timedelta(days=30),
        )
        book_visit(
            chair=chair,
            course=course,
            starts_at=local(clinic, first_dose, 8),
            status=Status.COMPLETED,
            infusion_reaction=number % 7 == 0,
        )
        book_visit(
            chair=chair,
            course=course,
            starts_at=local(clinic, day, 8) + timedelta(minutes=135 * slot),
            dose_number=2,
            premed=15,
            infusion=90,
            observation=30,
            status=(Status.BOOKED, Status.ARRIVED, Status.INFUSING, Status.COMPLETED)[number % 4],
        )


class QueryCounter:
    """Counts every query sent, across requests (the test client resets Django's own query log)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def roster_queries(clinic, day) -> int:
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        roster = roster_for_day(clinic=clinic, day=day, with_nurse_choices=True)
    assert roster.visits  # evaluated, not lazy
    return counter.count


def page_queries(client, clinic, day, visits: int) -> int:
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        response = client.get(reverse("scheduling:roster"), {"clinic": clinic.pk, "day": day.isoformat()})
    assert response.status_code == 200
    assert response.content.count(b'class="roster-visit ') == visits
    return counter.count


def test_the_roster_takes_the_same_few_queries_for_five_visits_and_for_a_hundred_and_fifty(client, db):
    clinic = make_clinic("Central Infusion Centre", chairs=40, nurses=10)
    nurses = [make_staff(f"nurse{number}", NURSE, clinic, first_name=f"Nurse {number}") for number in range(10)]
    quiet_day, busy_day = MONDAY, MONDAY + timedelta(days=1)
    fill_day(clinic, quiet_day, 5, nurses)
    fill_day(clinic, busy_day, 150, nurses)
    manager = make_staff("mona", "Clinic manager", clinic)
    client.login(username="mona", password=DEMO_PASSWORD)

    quiet, busy = roster_queries(clinic, quiet_day), roster_queries(clinic, busy_day)
    page_queries(client, clinic, quiet_day, 5)  # the session's first page checks the sign-in step once
    quiet_page, busy_page = page_queries(client, clinic, quiet_day, 5), page_queries(client, clinic, busy_day, 150)

    assert quiet == busy
    # Fourteen with the nurse choices: the regimens' checks before the needle, their programme names in
    # other countries, the day's ticks and the reactions recorded at the day's visits are one query each.
    assert busy <= 14
    # The page adds the session, the user, their permissions and clinics: still the same for both days.
    assert quiet_page == busy_page
    assert busy_page <= 21
    assert manager.has_perm("scheduling.add_nurseassignment")
