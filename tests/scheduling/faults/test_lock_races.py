"""A change waiting behind another change of the same row is applied, or refused with a sentence.

Real threads, each with its own PostgreSQL connection and transaction. The first holds its
transaction open after its change until PostgreSQL shows the second waiting for the row
lock, then commits: the second then locks a row that changed under it. Locked through a
join (`select_for_update(of=("self",))` with `select_related`), PostgreSQL re-checks the
join against the changed row, finds no row and the person gets a 500; locked bare and then
loaded, the second sees the row as committed and answers as it would have a moment later.
"""

from __future__ import annotations

import threading
import time
import traceback
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import pytest
import requests
import time_machine
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.models import Chair, Regimen
from clinic.roles import sync_roles
from patients.services import course_update
from scheduling.booking.services import (
    BookingError,
    booking_cancel,
    booking_create,
    booking_mark_no_show,
    booking_reschedule,
)
from scheduling.models import Appointment, AppointmentEvent, NurseAssignment
from scheduling.roster.services import nurse_assign
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, ensure_formulary, make_staff

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.fault,
    pytest.mark.django_db(transaction=True),
]

WAIT_SECONDS = 20


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    ensure_formulary()
    sync_roles()


def next_monday_in_two_weeks(clinic) -> date:
    today = timezone.now().astimezone(clinic.tz).date()
    return today + timedelta(days=14 - today.weekday())


def at(clinic, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=clinic.tz)


def tysabri_course(clinic, start: date):
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic), regimen=Regimen.objects.get(code="tysabri"), start_date=start
    )


def tysabri_visit(course, starts_at: datetime, chair) -> Appointment:
    """Dose 1 of Tysabri as booked: a one-hour infusion, then an hour of observation."""
    return book_directly(course=course, starts_at=starts_at, chair=chair, premed=0, infusion=60, observation=60)


def _waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def second_waits_behind_first(first, second) -> tuple:
    """Run `first()` in a transaction held open until `second()`, in another thread, waits for a lock.

    Returns how `second` ended: ("done", result), ("refused", sentence) or ("error", traceback).
    Fails the test when `second` never waited, so a pass always means the race was run.
    """
    held, release = threading.Event(), threading.Event()
    outcomes: dict[str, tuple] = {}
    pids: dict[str, int] = {}

    def run_first() -> None:
        try:
            with transaction.atomic():
                outcomes["first"] = ("done", first())
                held.set()
                release.wait(WAIT_SECONDS)
        except Exception:  # noqa: BLE001 - reported by the assertion below
            outcomes["first"] = ("error", traceback.format_exc())
            held.set()
        finally:
            connections.close_all()

    def run_second() -> None:
        try:
            held.wait(WAIT_SECONDS)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids["second"] = cursor.fetchone()[0]
            outcomes["second"] = ("done", second())
        except BookingError as refusal:
            outcomes["second"] = ("refused", refusal.message)
        except Exception:  # noqa: BLE001 - a 500 for the person: fails the test below
            outcomes["second"] = ("error", traceback.format_exc())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    waited = False
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and "second" not in outcomes and outcomes.get("first", ("done",))[0] == "done":
        if "second" in pids and _waits_for_a_lock(pids["second"]):
            waited = True
            break
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert outcomes.get("first", ("missing",))[0] == "done", outcomes.get("first")
    assert waited, f"the second change never waited for the first one's lock: {outcomes.get('second')}"
    return outcomes["second"]


def test_a_cancel_waiting_behind_a_chair_move_cancels_the_moved_appointment(front_desk, clinic_a):
    monday = next_monday_in_two_weeks(clinic_a)
    chair_1, chair_2 = Chair.objects.filter(clinic=clinic_a).order_by("position")[:2]
    appointment = tysabri_visit(tysabri_course(clinic_a, monday), at(clinic_a, monday, 9), chair_1)

    outcome = second_waits_behind_first(
        lambda: booking_reschedule(
            appointment=appointment, chair=chair_2, starts_at=at(clinic_a, monday, 11), by=front_desk, reason="asked"
        ),
        lambda: booking_cancel(appointment=appointment, by=front_desk, reason="The patient is unwell."),
    )

    assert outcome[0] == "done", outcome[1]
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.chair == chair_2
    assert list(appointment.events.order_by("pk").values_list("action", flat=True)) == [
        AppointmentEvent.Action.RESCHEDULED,
        AppointmentEvent.Action.CANCELLED,
    ]


def test_a_no_show_waiting_behind_a_move_to_later_is_refused_with_a_sentence(front_desk, clinic_a):
    monday = date(2027, 3, 1)
    chair_1, chair_2 = Chair.objects.filter(clinic=clinic_a).order_by("position")[:2]
    with time_machine.travel(at(clinic_a, monday, 10, 30), tick=True):
        # The patient rang: running late. The front desk moves the visit while a nurse marks it missed.
        appointment = tysabri_visit(tysabri_course(clinic_a, monday), at(clinic_a, monday, 10), chair_1)

        outcome = second_waits_behind_first(
            lambda: booking_reschedule(
                appointment=appointment, chair=chair_2, starts_at=at(clinic_a, monday, 13), by=front_desk, reason="late"
            ),
            lambda: booking_mark_no_show(appointment=appointment, by=front_desk),
        )

    assert outcome == (
        "refused",
        "The appointment starts Mon 1 Mar 2027 at 13:00. Mark a no-show once its start time has passed, or cancel it.",
    )
    appointment.refresh_from_db()
    assert (appointment.status, appointment.chair) == (Appointment.Status.BOOKED, chair_2)


def test_a_booking_waiting_behind_a_regimen_change_books_the_new_regimens_dose(front_desk, manager, clinic_a):
    monday = next_monday_in_two_weeks(clinic_a)
    chair = Chair.objects.filter(clinic=clinic_a).first()
    course = tysabri_course(clinic_a, monday)
    ocrevus = Regimen.objects.get(code="ocrevus")

    outcome = second_waits_behind_first(
        lambda: course_update(course=course, regimen=ocrevus),
        lambda: booking_create(course=course, chair=chair, starts_at=at(clinic_a, monday, 9), booked_by=front_desk),
    )

    assert outcome[0] == "done", outcome[1]
    booked = outcome[1]
    # Ocrevus's first dose: 30 minutes of premedication, 150 of infusion, 60 of observation.
    assert (booked.premed_minutes, booked.infusion_minutes, booked.observation_minutes) == (30, 150, 60)


def test_two_managers_giving_the_same_chair_to_two_nurses_at_once_keep_the_later_choice(clinic_a, manager, nurse):
    monday = next_monday_in_two_weeks(clinic_a)
    chair = Chair.objects.filter(clinic=clinic_a).first()
    other_nurse = make_staff("nadia", "Nurse", clinic_a, first_name="Nadia")

    outcome = second_waits_behind_first(
        lambda: nurse_assign(clinic=clinic_a, day=monday, chair=chair, nurse=nurse, by=manager),
        lambda: nurse_assign(clinic=clinic_a, day=monday, chair=chair, nurse=other_nurse, by=manager),
    )

    assert outcome[0] == "done", outcome[1]
    (assignment,) = NurseAssignment.objects.filter(day=monday, chair=chair)
    assert assignment.nurse == other_nurse


def test_cancelling_and_moving_the_same_visits_at_once_over_http_never_answers_500(live_server, front_desk, clinic_a):
    clinic = clinic_a
    first_day = next_monday_in_two_weeks(clinic)
    days = [first_day + timedelta(days=offset) for offset in range(21)]
    days = [day for day in days if day.weekday() < 5]
    chair_1, chair_2 = Chair.objects.filter(clinic=clinic).order_by("position")[:2]
    appointments = [tysabri_visit(tysabri_course(clinic, first_day), at(clinic, day, 9), chair_1) for day in days[:12]]

    login = Client()
    login.force_login(front_desk)
    cookies = {"sessionid": login.cookies["sessionid"].value}
    page = requests.get(
        live_server.url + reverse("scheduling:cancel", args=[appointments[0].pk]), cookies=cookies, timeout=30
    )
    assert page.status_code == 200
    cookies["csrftoken"] = page.cookies["csrftoken"]
    token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]

    def post(url: str, data: dict, delay: float, barrier: threading.Barrier, statuses: list, index: int) -> None:
        barrier.wait(timeout=30)
        time.sleep(delay)
        response = requests.post(
            live_server.url + url,
            data={**data, "csrfmiddlewaretoken": token},
            cookies=cookies,
            headers={"Referer": live_server.url + url},
            allow_redirects=False,
            timeout=60,
        )
        statuses[index] = response.status_code

    answers: list[tuple[int, int]] = []
    for number, appointment in enumerate(appointments):
        moved_to = at(clinic, appointment.starts_at.astimezone(clinic.tz).date(), 13).astimezone(UTC)
        move = {"chair": chair_2.pk, "starts_at": moved_to.strftime("%Y-%m-%dT%H:%MZ"), "reason": "asked"}
        statuses = [0, 0]
        barrier = threading.Barrier(2)
        # The cancel leaves a little later each time, so some arrive while the move holds the row.
        threads = [
            threading.Thread(
                target=post,
                args=(reverse("scheduling:reschedule", args=[appointment.pk]), move, 0, barrier, statuses, 0),
            ),
            threading.Thread(
                target=post,
                args=(
                    reverse("scheduling:cancel", args=[appointment.pk]),
                    {"reason": "The patient is unwell."},
                    number * 0.008,
                    barrier,
                    statuses,
                    1,
                ),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        answers.append(tuple(statuses))

    assert all(status in (302, 409) for pair in answers for status in pair), answers
    for appointment, (moved, cancelled) in zip(appointments, answers, strict=True):
        appointment.refresh_from_db()
        assert appointment.status == (Appointment.Status.CANCELLED if cancelled == 302 else Appointment.Status.BOOKED)
        assert appointment.chair_id == (chair_2.pk if moved == 302 else chair_1.pk)
