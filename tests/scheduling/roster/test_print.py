"""The printed roster: who may open it, what each visit's line says, its query count and its paper."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import pytest
from django.db import connection
from django.urls import reverse

from clinic.models import Chair, RegimenCheck
from clinic.roles import NURSE
from scheduling.models import Appointment
from scheduling.roster import printing
from scheduling.roster.checklists import visit_checklist
from scheduling.roster.printing import A3, A4, LETTER, TABLOID, fits, paper_for, print_sheet
from scheduling.roster.selectors import roster_for_day
from scheduling.roster.services import visit_check_tick
from tests.helpers import (
    DEMO_PASSWORD,
    book_directly,
    local,
    make_clinic,
    make_course,
    make_staff,
    tick_all_checks,
)

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)
Status = Appointment.Status
book_visit = partial(book_directly, premed=30, infusion=150, observation=60)


def print_url(clinic, day=MONDAY) -> str:
    return f"{reverse('scheduling:roster_print')}?clinic={clinic.pk}&day={day.isoformat()}"


def sheet_of(clinic, day=MONDAY, *, country: str = "GB"):
    return print_sheet(roster=roster_for_day(clinic=clinic, day=day), country=country)


# --- Who may open it -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["front_desk", "nurse", "manager"])
def test_the_clinics_staff_open_the_printed_roster(client, request, clinic_a, who):
    course = make_course(clinic_a, mrn="MRN-PRINT-1")
    book_visit(chair=clinic_a.chairs.first(), course=course, starts_at=local(clinic_a, MONDAY, 9), dose_number=2)
    client.force_login(request.getfixturevalue(who))

    response = client.get(print_url(clinic_a))

    assert response.status_code == 200
    assert b"MRN-PRINT-1" in response.content
    assert b"data-print-on-load" in response.content
    assert b"Back to the roster" in response.content


def test_staff_of_another_clinic_get_not_found(client, staff_b, clinic_a):
    client.force_login(staff_b)

    assert client.get(print_url(clinic_a)).status_code == 404


def test_someone_with_no_role_is_refused(client, clinic_a):
    client.force_login(make_staff("nobody", None, clinic_a))

    assert client.get(print_url(clinic_a)).status_code == 403


def test_anyone_not_logged_in_is_sent_to_the_login_page(client, clinic_a):
    response = client.get(print_url(clinic_a))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_date_that_cannot_be_read_is_not_found(client, nurse, clinic_a):
    client.force_login(nurse)

    assert client.get(f"{reverse('scheduling:roster_print')}?clinic={clinic_a.pk}&day=31/02/2027").status_code == 404


def test_the_rosters_print_button_opens_the_printed_roster_of_the_same_day(client, nurse, clinic_a):
    client.force_login(nurse)

    response = client.get(reverse("scheduling:roster"), {"clinic": clinic_a.pk, "day": MONDAY.isoformat()})

    assert f'href="{print_url(clinic_a).replace("&", "&amp;")}">Print</a>'.encode() in response.content


# --- What each visit's line says ------------------------------------------------------------


def test_each_line_has_the_name_surname_first_the_mrn_status_and_clock_times_in_the_clinics_zone(clinic_b):
    course = make_course(clinic_b, "tysabri", first_name="Ann", last_name="Okafor-Lindqvist", mrn="B-0042")
    # 09:00 in New York is 14:00 UTC (EST, before the clocks change): the sheet shows the clinic's clock.
    appointment = book_visit(
        chair=clinic_b.chairs.first(), course=course, starts_at=local(clinic_b, MONDAY, 9), dose_number=2
    )

    (row,) = sheet_of(clinic_b, country="US").rows

    assert row.pk == appointment.pk
    assert (row.chair, row.patient, row.mrn, row.status) == ("Chair 1", "Okafor-Lindqvist, Ann", "B-0042", "Booked")
    assert (row.premed_start, row.infusion_start, row.observation_start, row.ends) == (
        "09:00",
        "09:30",
        "12:00",
        "13:00",
    )
    assert row.checks == ["3 to tick"]  # TOUCH authorization, the pre-infusion checklist, the infection check


def test_the_line_says_how_many_checks_before_the_needle_are_still_to_tick(clinic_a, nurse):
    course = make_course(clinic_a, "tysabri", authorization_expires_on=MONDAY + timedelta(days=90))
    appointment = book_visit(
        chair=clinic_a.chairs.first(),
        course=course,
        starts_at=local(clinic_a, MONDAY, 9),
        dose_number=2,
        status=Appointment.Status.IN_CHAIR,
    )
    (first, *rest) = visit_checklist(appointment).items
    visit_check_tick(
        appointment=appointment,
        regimen_check=RegimenCheck.objects.get(pk=first.check_id),
        by=nurse,
        now=local(clinic_a, MONDAY, 9, 5),
    )
    assert sheet_of(clinic_a).rows[0].checks == [f"{len(rest)} of {len(rest) + 1} to tick"]

    tick_all_checks(appointment, by=nurse)
    assert sheet_of(clinic_a).rows[0].checks == [f"all {len(rest) + 1} ticked"]


def test_a_visit_without_premedication_or_observation_leaves_those_times_blank(clinic_a):
    course = make_course(clinic_a)
    book_directly(
        chair=clinic_a.chairs.first(), course=course, starts_at=local(clinic_a, MONDAY, 10), infusion=120, dose_number=2
    )

    (row,) = sheet_of(clinic_a).rows

    assert (row.premed_start, row.infusion_start, row.observation_start, row.ends) == ("", "10:00", "", "12:00")


def test_the_needs_are_the_rosters_badges_and_a_bed(clinic_a):
    bed = clinic_a.chairs.get(position=2)
    bed.kind = Chair.Kind.BED
    bed.save(update_fields=["kind"])
    earlier = MONDAY - timedelta(days=28)
    reacted = make_course(clinic_a, "tysabri", start=earlier, authorization_expires_on=MONDAY - timedelta(days=1))
    book_visit(
        chair=clinic_a.chairs.first(),
        course=reacted,
        starts_at=local(clinic_a, earlier, 9),
        status=Status.COMPLETED,
        infusion_reaction=True,
    )
    book_visit(chair=bed, course=reacted, starts_at=local(clinic_a, MONDAY, 9), dose_number=2)
    pregnancy = make_course(clinic_a, "briumvi")
    book_visit(chair=clinic_a.chairs.first(), course=pregnancy, starts_at=local(clinic_a, MONDAY, 9), dose_number=1)

    sheet = sheet_of(clinic_a)

    needs = {row.patient: [(need.text, need.level) for need in row.needs] for row in sheet.rows}
    assert needs[f"{reacted.patient.last_name}, {reacted.patient.first_name}"] == [
        ("Bed", "info"),
        ("Rx!", "warning"),
        ("Auth!", "danger"),
    ]
    # Observation has its own columns, so the first infusion and the pregnancy check are what it needs.
    assert needs[f"{pregnancy.patient.last_name}, {pregnancy.patient.first_name}"] == [
        ("1st", "info"),
        ("Preg", "warning"),
    ]
    meanings = {item.text: item.meaning for item in sheet.legend}
    assert meanings["Auth!"] == "no valid authorization: do not infuse"
    assert set(meanings) == {"Bed", "1st", "Rx!", "Auth!", "Preg"}


def test_lines_go_by_chair_then_time(clinic_a):
    first, second = clinic_a.chairs.order_by("position")[:2]
    late_in_first = book_visit(chair=first, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 13))
    early_in_second = book_visit(chair=second, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8))
    early_in_first = book_visit(chair=first, course=make_course(clinic_a), starts_at=local(clinic_a, MONDAY, 8))

    assert [row.pk for row in sheet_of(clinic_a).rows] == [early_in_first.pk, late_in_first.pk, early_in_second.pk]


def test_the_sheet_names_the_clinic_the_day_and_when_it_was_printed(client, nurse, clinic_a):
    client.force_login(nurse)

    content = client.get(print_url(clinic_a, date(2027, 3, 2))).content.decode()

    assert "Northside Infusion Centre" in content
    assert "Tue 2 Mar 2027" in content
    assert "Printed " in content
    assert "Prints on one A4 landscape sheet" in content


# --- Queries -------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def fill(clinic, day, visits: int) -> None:
    chairs = list(clinic.chairs.order_by("position"))
    for number in range(visits):
        course = make_course(clinic, ("ocrevus", "tysabri", "briumvi")[number % 3], start=day - timedelta(days=14))
        book_directly(
            chair=chairs[number % len(chairs)],
            course=course,
            starts_at=local(clinic, day, 8) + timedelta(minutes=150 * (number // len(chairs))),
            premed=15,
            infusion=90,
            observation=30,
            dose_number=2,
        )


def page_queries(client, clinic, day) -> int:
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        response = client.get(print_url(clinic, day))
    assert response.status_code == 200
    return counter.count


def test_the_printed_roster_takes_the_same_queries_for_three_visits_and_for_sixty(client, db):
    clinic = make_clinic("Central Infusion Centre", chairs=20, nurses=20)
    quiet_day, busy_day = MONDAY, MONDAY + timedelta(days=1)
    fill(clinic, quiet_day, 3)
    fill(clinic, busy_day, 60)
    make_staff("nora", NURSE, clinic)
    client.login(username="nora", password=DEMO_PASSWORD)
    page_queries(client, clinic, quiet_day)  # the session's first page checks the sign-in step once

    assert page_queries(client, clinic, quiet_day) == page_queries(client, clinic, busy_day)


# --- Paper ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "chairs", "visits", "paper"),
    [
        ("GB", 8, 20, A4),
        ("GB", 40, 150, A3),
        ("", 8, 20, A4),
        ("", 40, 150, A3),
        ("US", 8, 20, LETTER),
        ("US", 40, 150, TABLOID),
        ("CA", 40, 150, TABLOID),
    ],
)
def test_a_normal_day_prints_on_the_normal_sheet_and_a_big_one_on_the_double_size(country, chairs, visits, paper):
    assert paper_for(country=country, chairs=chairs, visits=visits) == paper


def test_the_threshold_between_the_sheets_comes_from_the_layout():
    largest = max(visits for visits in range(300) if fits(A4, chairs=12, visits=visits))

    assert 60 <= largest <= 100  # two columns of one-line visits under a 12-chair timeline
    assert paper_for(country="GB", chairs=12, visits=largest) == A4
    assert paper_for(country="GB", chairs=12, visits=largest + 1) == A3
    # A day of 40 chairs and 150 visits fits on one large sheet of either kind.
    assert fits(A3, chairs=40, visits=150)
    assert fits(TABLOID, chairs=40, visits=150)
    assert not fits(A4, chairs=40, visits=150)


def test_a_big_day_says_it_prints_on_a3_and_picks_its_page_rule(client, db):
    clinic = make_clinic("Central Infusion Centre", chairs=40, nurses=40)
    fill(clinic, MONDAY, 150)
    client.force_login(make_staff("nora", NURSE, clinic))

    content = client.get(print_url(clinic)).content.decode()

    assert '<html lang="en" class="paper-a3">' in content
    assert "Prints on one A3 landscape sheet" in content
    assert content.count('class="status-booked" id="print-visit-') == 150


def test_a_clinic_in_the_us_prints_on_letter(client, clinic_b, staff_b):
    client.force_login(staff_b)

    content = client.get(print_url(clinic_b)).content.decode()

    assert printing.clinic_country(clinic_b) == "US"
    assert '<html lang="en" class="paper-letter">' in content
    assert "Prints on one Letter landscape sheet" in content


def test_a_day_the_clinic_is_shut_prints_a_sentence_not_an_empty_table(client, nurse, clinic_a):
    client.force_login(nurse)

    content = client.get(print_url(clinic_a, date(2027, 3, 6))).content.decode()  # a Saturday

    assert "No visits are booked on this day." in content
    assert "print-chart" not in content
    assert "Prints on one A4 landscape sheet" in content
