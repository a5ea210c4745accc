"""Levelling a day: the solver's guarantees on plain data, then the page and its confirmation."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from clinic.roles import FRONT_DESK, MANAGER, NURSE
from scheduling.capacity.levelling import (
    DayInput,
    Problem,
    VisitInput,
    apply_moves,
    figures,
    level,
    rules_broken,
    sequence_valid,
)
from scheduling.levelling.selectors import levelling_problem, proposal
from scheduling.levelling.services import STALE, LevellingError, levelling_apply
from scheduling.models import Appointment, AppointmentEvent, CapacityPolicy, Reminder
from tests.helpers import book_directly, local, make_clinic, make_course, make_staff
from tests.scheduling.capacity.levelling_cases import DAY, earliest_day

# --- The solver, on plain data ---------------------------------------------------------------


def _check(problem: Problem, result) -> None:
    places = apply_moves(problem, result.moves)
    assert rules_broken(problem, places) == []
    assert sequence_valid(problem, result.moves), "each move, one after the other, keeps the rules"
    for move in result.moves:
        visit = problem.by_key[move.key]
        assert visit.days, f"visit {visit.key} may not move"
        assert move.after.day in visit.days, "inside its window and the clinic's limit"
    for day, before in result.before.items():
        after = result.after[day]
        assert after.peak <= before.peak and after.conflicts <= before.conflicts, day
    assert result.after == figures(problem, places)


def test_levelling_lowers_the_peak_of_a_day_filled_from_the_earliest_slot():
    problem = earliest_day(chairs=20, nurses=5, visits=60)
    result = level(problem, time_limit=3, workers=1)
    _check(problem, result)
    assert result.after[DAY].peak < result.before[DAY].peak
    assert result.moves


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_levelling_never_leaves_a_window_breaks_a_rule_or_moves_a_fixed_visit(seed):
    """Visits that may move to the days around (a window of some, none for the series), on three seeds."""
    problem = earliest_day(chairs=12, nurses=3, visits=36, seed=seed, around=2, limit_days=2)
    visits = []
    for index, visit in enumerate(problem.visits):
        if index % 5 == 0:
            visit = VisitInput(**{**_fields(visit), "days": ()})  # a series visit: it stays
        elif index % 5 == 1:
            later = tuple(day for day in visit.days if day >= DAY)  # its earliest date is the day itself
            visit = VisitInput(**{**_fields(visit), "days": later})
        visits.append(visit)
    problem = Problem(DAY, problem.days, visits)
    result = level(problem, time_limit=2, workers=1)
    _check(problem, result)
    fixed = {visit.key for visit in visits if not visit.days}
    assert not fixed & {move.key for move in result.moves}
    earliest_today = {visit.key for visit in visits if visit.days and min(visit.days) == DAY}
    assert all(move.after.day >= DAY for move in result.moves if move.key in earliest_today)


def _fields(visit: VisitInput) -> dict:
    return {name: getattr(visit, name) for name in VisitInput.__slots__}


def test_a_level_day_is_left_as_it_is():
    day = DayInput(DAY, 28_432_800, 600, 2, 4, 1, (1, 2, 3))
    problem = Problem(DAY, {DAY: day}, [VisitInput(1, 11, DAY, 1, 0, 120, 0, (DAY,))])
    result = level(problem, time_limit=1, workers=1)
    assert result.moves == [] and result.method == "none"


def test_a_day_that_already_breaks_a_nurse_rule_is_not_levelled():
    day = DayInput(DAY, 28_432_800, 600, 1, 1, 1, (1, 2))
    visits = [VisitInput(1, 11, DAY, 1, 0, 120, 0, (DAY,)), VisitInput(2, 12, DAY, 2, 30, 120, 0, (DAY,))]
    result = level(Problem(DAY, {DAY: day}, visits), time_limit=1, workers=1)
    assert result.moves == [] and result.status == "the day already breaks a rule"


def test_the_solver_stops_at_its_time_limit_on_a_day_of_40_chairs_and_150_visits():
    problem = earliest_day(chairs=40, nurses=10, visits=150)
    assert len(problem.visits) == 150
    started = time.monotonic()
    result = level(problem, time_limit=2.0, workers=2)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0 + 1.5, elapsed  # the limit, and a moment to put the answer in order
    _check(problem, result)
    assert result.after[DAY].peak <= result.before[DAY].peak


# --- The page and its confirmation -----------------------------------------------------------

WEDNESDAY = date(2027, 3, 3)
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def crowded(db, frozen):
    """One nurse (4 patients at once, one start per 15 minutes), four Tysabri visits from 08:00, a Lemtrada series."""
    clinic = make_clinic("Levelling Centre", chairs=8, nurses=1)
    visits = []
    for index in range(4):
        course = make_course(clinic, "tysabri", start=WEDNESDAY - timedelta(days=5), first_name=f"Tess{index}")
        visits.append(
            book_directly(course=course, starts_at=local(clinic, WEDNESDAY, 8, 15 * index), minutes=120, dose_number=1)
        )
    lemtrada = make_course(clinic, "lemtrada", start=WEDNESDAY, first_name="Lena")
    series = book_directly(course=lemtrada, starts_at=local(clinic, WEDNESDAY, 14), minutes=240, dose_number=1)
    return clinic, visits, series


@pytest.fixture
def boss(crowded):
    clinic, _visits, _series = crowded
    return make_staff("mia", MANAGER, clinic, first_name="Mia", is_staff=True)


def _url(clinic, day=WEDNESDAY):
    return f"{reverse('scheduling:levelling_day')}?clinic={clinic.pk}&day={day.isoformat()}"


def test_the_proposal_lowers_the_peak_and_leaves_the_series_in_place(crowded):
    clinic, visits, series = crowded
    item = proposal(clinic, WEDNESDAY, time_limit=1)
    assert item.before.peak == 4 and item.after.peak < 4
    moved = {row.appointment.pk for row in item.rows}
    assert moved and moved <= {visit.pk for visit in visits}
    assert series.pk in item.loaded.fixed_reasons and "series" in item.loaded.fixed_reasons[series.pk]


def test_confirming_moves_each_visit_through_the_booking_services_with_history_and_a_notice(client, crowded, boss):
    clinic, _visits, _series = crowded
    client.force_login(boss)
    page = client.get(_url(clinic))
    assert page.status_code == 200
    item = page.context["proposal"]
    planned = {row.appointment.pk: row.after_at for row in item.rows}
    response = client.post(
        reverse("scheduling:levelling_day"),
        {"clinic": clinic.pk, "day": WEDNESDAY.isoformat(), "token": item.token},
    )
    assert response.status_code == 302 and reverse("scheduling:roster") in response["Location"]
    for pk, after_at in planned.items():
        appointment = Appointment.objects.get(pk=pk)
        assert appointment.starts_at == after_at
        event = AppointmentEvent.objects.get(appointment=appointment, action=AppointmentEvent.Action.RESCHEDULED)
        assert event.by == boss and event.reason == "Levelling the day's nurse load"
        assert Reminder.objects.filter(patient=appointment.patient, kind=Reminder.Kind.APPOINTMENT_MOVED).exists()
    again = levelling_problem(clinic, WEDNESDAY)
    assert figures(again.problem, apply_moves(again.problem, []))[WEDNESDAY].peak == item.after.peak
    roster = client.get(response["Location"]).content.decode()
    for after_at in planned.values():
        assert f"{after_at:%H:%M}" in roster


def test_a_stale_proposal_is_refused_with_a_sentence_and_nothing_moves(client, crowded, boss):
    clinic, visits, _series = crowded
    client.force_login(boss)
    item = client.get(_url(clinic)).context["proposal"]
    assert item.rows
    visits[0].status = Appointment.Status.CANCELLED  # the front desk cancels a visit meanwhile
    visits[0].save(update_fields=["status"])
    before = {visit.pk: Appointment.objects.get(pk=visit.pk).starts_at for visit in visits}
    response = client.post(
        reverse("scheduling:levelling_day"),
        {"clinic": clinic.pk, "day": WEDNESDAY.isoformat(), "token": item.token},
    )
    assert response.status_code == 409
    assert STALE in response.content.decode().replace("&#x27;", "'")
    assert {visit.pk: Appointment.objects.get(pk=visit.pk).starts_at for visit in visits} == before
    assert not AppointmentEvent.objects.filter(action=AppointmentEvent.Action.RESCHEDULED).exists()


def test_a_tampered_or_foreign_token_is_refused(crowded, boss):
    clinic, _visits, _series = crowded
    item = proposal(clinic, WEDNESDAY, time_limit=1)
    with pytest.raises(LevellingError, match="could not be read"):
        levelling_apply(clinic=clinic, day=WEDNESDAY, token=item.token[:-2] + "xx", by=boss)
    with pytest.raises(LevellingError, match="another clinic or day"):
        levelling_apply(clinic=clinic, day=WEDNESDAY + timedelta(days=1), token=item.token, by=boss)


def test_with_a_limit_of_days_a_visit_moves_only_inside_its_window_and_never_before_its_earliest_date(crowded):
    clinic, visits, _series = crowded
    CapacityPolicy.objects.create(clinic=clinic, levelling_days=2)
    loaded = levelling_problem(clinic, WEDNESDAY)
    course = visits[0].course
    from scheduling.doses import planned_dose

    dose = planned_dose(course, 1, exclude_appointment_id=visits[0].pk)
    for visit in loaded.problem.visits:
        if visit.key in {item.pk for item in visits}:
            assert visit.days and all(abs((day - WEDNESDAY).days) <= 2 for day in visit.days)
            assert all(dose.earliest_date <= day <= dose.latest_date or day == WEDNESDAY for day in visit.days)
    result = level(loaded.problem, time_limit=1, workers=1)
    _check(loaded.problem, result)


def test_the_page_is_for_the_clinics_managers_only(client, crowded, boss):
    clinic, _visits, _series = crowded
    for role in (FRONT_DESK, NURSE):
        client.force_login(make_staff(f"user-{role}", role, clinic))
        assert client.get(_url(clinic)).status_code == 403
        assert client.post(reverse("scheduling:levelling_day"), {"clinic": clinic.pk}).status_code == 403
    other = make_clinic("Elsewhere")
    client.force_login(make_staff("olga", MANAGER, other, is_staff=True))
    assert client.get(_url(clinic)).status_code == 404
    client.force_login(boss)
    assert client.get(_url(clinic)).status_code == 200


def test_the_forecast_links_a_flagged_day_to_level_it(client, crowded, boss):
    clinic, _visits, _series = crowded
    client.force_login(boss)
    html = client.get(f"{reverse('scheduling:capacity_forecast')}?clinic={clinic.pk}").content.decode()
    assert f'data-level-day="{WEDNESDAY.isoformat()}"' in html


def test_a_week_is_levelled_day_by_day(crowded, boss):
    clinic, visits, _series = crowded
    from scheduling.levelling.services import levelling_apply_week

    moved = levelling_apply_week(clinic=clinic, monday=WEDNESDAY - timedelta(days=2), by=boss, time_limit=1)
    assert moved[WEDNESDAY] >= 1 and sum(moved.values()) == moved[WEDNESDAY]
    after = levelling_problem(clinic, WEDNESDAY).problem
    assert figures(after, apply_moves(after, []))[WEDNESDAY].peak < 4
