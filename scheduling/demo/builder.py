"""The demo behind `manage.py seed_demo`: two clinics that look like a working week.

Everything is built from a fixed random seed and from today's date in each clinic's own
time zone, so the demo is the same every time it is built on the same day and always looks
current. Dose histories follow the regimens (`history`): each dose's target date, earliest
date and chair time come from the dosing rules, and a dose counts as given only as a
completed appointment, which is how the rest of Chairside reads a course's history.

Every visit goes where the booking rules allow it: the slots come from the availability
search, the coming weeks are booked through the booking services (`bookings`), and the
visits already begun are written as they happened (`visits`). On top, each nurse's block
of chairs keeps the per-nurse limits (`days`), as the nurse assignments split them.

Around the story patients, the fill (`filling`) brings in the rest of a busy centre: the
next two weeks about three quarters booked, today's roster two to three visits a chair and
under way as the clock says (arrived, infusing, in observation, done, one late, one
no-show, one running over), and the weeks behind busy enough for the utilisation figures.

Demo only: the users' password is written in the README.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from clinic.dosing import add_months
from clinic.models import Chair, Clinic, Regimen
from clinic.roles import sync_roles
from patients.models import Patient
from scheduling.booking.services import BookingError, booking_create
from scheduling.demo.bookings import course_book_ahead, date_back
from scheduling.demo.days import ClinicDays
from scheduling.demo.filling import ClinicFill, FillCourse, today_under_way, visit_begun
from scheduling.demo.history import CourseStory, course_live
from scheduling.demo.people import (
    clinic_setup,
    course_create,
    fill_people_create,
    patient_create,
    patient_names,
    user_setup,
)
from scheduling.demo.plans import (
    ASSIGNMENT_DAYS_AHEAD,
    CLINIC_PLANS,
    DEMO_PASSWORD,
    ESTABLISHED_DAYS_AGO,
    FAILED_REMINDERS,
    NURSE_TEAMS,
    PATIENT_MIX,
    SEED,
    USERS,
    ClinicPlan,
)
from scheduling.demo.reminders import failed_reminders_write
from scheduling.demo.visits import booked_at_for, visits_write, visits_write_many
from scheduling.doses import dose_states_refresh
from scheduling.models import Reminder

__all__ = ["CLINIC_PLANS", "DEMO_PASSWORD", "USERS", "DemoSummary", "demo_build", "demo_present"]


@dataclass
class DemoSummary:
    clinics: int = 0
    chairs: int = 0
    users: int = 0
    patients_created: int = 0
    appointments_created: int = 0
    already_there: bool = False
    # Per clinic name: the day its roster is busiest (today while open, else the next open
    # day), and whether that day is today.
    busiest_days: dict[str, tuple[date, bool]] = field(default_factory=dict)
    # Fill visits the booking services turned down (none, when the in-memory rules agree).
    refused: int = 0


def demo_present() -> bool:
    """The demo's patients are in the database (so `--once` has nothing to do)."""
    return Patient.objects.filter(clinic__name__in=[plan.name for plan in CLINIC_PLANS]).exists()


@transaction.atomic
def demo_build() -> DemoSummary:
    """Create what is missing of the demo: clinics, users, and (once) patients and appointments.

    Built around the present moment in each clinic's time zone (`timezone.now()`, which the
    booking services read too: tests move it with time-machine).
    """
    summary = DemoSummary()
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    # The demo users get their permissions through the role groups: bring those in step first.
    sync_roles()
    clinics = {plan.key: clinic_setup(plan) for plan in CLINIC_PLANS}
    summary.clinics = len(clinics)
    summary.chairs = Chair.objects.filter(clinic__in=clinics.values()).count()
    users = {plan.username: user_setup(plan, clinics) for plan in USERS}
    summary.users = len(users)
    if demo_present():
        summary.already_there = True
        return summary
    regimens = {regimen.code: regimen for regimen in Regimen.objects.prefetch_related("phases", "monitoring")}
    names = patient_names(rng)
    for plan in CLINIC_PLANS:
        clinic = clinics[plan.key]
        staff = {
            "front_desk": users["frontdesk" if plan.key == "london" else "frontdesk-ny"],
            "nurse": users["nurse" if plan.key == "london" else "nurse-ny"],
            "manager": users["manager"],
            "team": [users[username] for username in NURSE_TEAMS[plan.key]],
        }
        patients, appointments, refused = _clinic_fill(plan, clinic, regimens, staff, names, rng)
        summary.patients_created += patients
        summary.appointments_created += appointments
        summary.refused += refused
        summary.busiest_days[clinic.name] = busiest_day(plan, clinic)
    # The visits of the past were written in bulk, past the per-save bookkeeping: bring every
    # course's stored next dose in step with them.
    dose_states_refresh()
    _booking_notices_withdrawn(clinics.values())
    return summary


def _booking_notices_withdrawn(clinics) -> int:
    """The demo's visits are booked as of days and weeks ago: their "booked" notices are not sent now.

    The booking services write a confirmation (and a notice of each move or cancellation) due at
    once; sent when `make run` starts, hundreds of them would bury the demo's mailbox. The
    reminders before each visit stay, as a clinic's would.
    """
    return Reminder.objects.filter(
        clinic__in=list(clinics),
        status=Reminder.Status.PENDING,
        kind__in=(
            Reminder.Kind.BOOKING_CONFIRMED,
            Reminder.Kind.APPOINTMENT_MOVED,
            Reminder.Kind.APPOINTMENT_CANCELLED,
        ),
    ).update(
        status=Reminder.Status.CANCELLED,
        last_error="Demo data: this visit was booked before the demo began, so no notice was sent.",
        updated_at=timezone.now(),
    )


def _clinic_fill(
    plan: ClinicPlan,
    clinic: Clinic,
    regimens: dict[str, Regimen],
    staff: dict,
    names: list[tuple[str, str]],
    rng: random.Random,
) -> tuple[int, int, int]:
    """The clinic's patients with their courses, their dose histories and the coming weeks' bookings.

    Returns the patients and appointments written, and the fill visits the services refused.
    """
    today = timezone.localdate(timezone=clinic.tz)
    now = timezone.now()
    chairs = list(clinic.chairs.filter(active=True).order_by("position"))
    days = ClinicDays(clinic, plan, chairs, list(clinic.closures.all()), now)
    specs = {code: regimen.spec() for code, regimen in regimens.items()}
    stories = [
        CourseStory(
            clinic_plan=plan,
            days=days,
            patient_key=index,
            regimen=regimens[code],
            spec=specs[code],
            options=dict(options),
            story=story_name,
            flags=flags,
            start_date=_start_date(story_name, code, today, rng, days),
            today=today,
        )
        for index, (code, options, story_name, flags) in enumerate(PATIENT_MIX[plan.key])
    ]
    # Long, fixed courses first, so their consecutive days find room.
    stories.sort(key=lambda item: (item.regimen.code != "lemtrada", item.patient_key))
    courses = []
    appointments = 0
    for story in stories:
        course_live(story, rng)
        first, last = names.pop()
        patient = patient_create(plan, clinic, story, first, last, rng, now)
        course = course_create(story, patient, staff, rng, now)
        appointments += len(
            visits_write([*story.given, *story.others], patient=patient, course=course, staff=staff, rng=rng, now=now)
        )
        courses.append((story, patient, course))
    for story, patient, course in courses:
        appointments += course_book_ahead(story, rng, patient=patient, course=course, staff=staff, now=now)
    fill = ClinicFill(days, regimens, specs, today, busiest_day(plan, clinic)[0], now, rng).fill()
    today_under_way(fill, days, today, now, rng)
    written, refused = _fill_write(plan, clinic, fill, staff, names, rng, now)
    del names[: len(fill)]
    failed_reminders_write(clinic, count=FAILED_REMINDERS[plan.key], rng=rng, now=now)
    days.nurse_assignments_write(
        today=today, days_back=7, days_ahead=ASSIGNMENT_DAYS_AHEAD, team=staff["team"], by=staff["manager"]
    )
    return len(stories) + len(fill), appointments + written, refused


def _fill_write(
    plan: ClinicPlan,
    clinic: Clinic,
    fill: list[FillCourse],
    staff: dict,
    names: list[tuple[str, str]],
    rng: random.Random,
    now: datetime,
) -> tuple[int, int]:
    """The fill's patients, courses and visits begun in bulk; the visits ahead through the booking services."""
    people = fill_people_create(plan, clinic, fill, names, staff, rng, now)
    written = []
    ahead = []
    for (patient, course), item in zip(people, fill, strict=True):
        visits = list(item.given)
        if not item.ahead or visit_begun(item.visit, now):
            visits.append(item.visit)
        else:
            ahead.append((item.visit.placement, course))
        written.append((patient, course, visits))
    count = len(visits_write_many(written, staff=staff, rng=rng, now=now))
    refused = 0
    booked = []
    for placement, course in sorted(ahead, key=lambda pair: pair[0].starts_at):
        try:
            appointment = booking_create(
                course=course, chair=placement.chair, starts_at=placement.starts_at, booked_by=staff["front_desk"]
            )
        except BookingError:
            refused += 1
            continue
        booked.append((appointment, booked_at_for(placement.starts_at, rng, now)))
    date_back(booked)
    return count + len(booked), refused


def busiest_day(plan: ClinicPlan, clinic: Clinic) -> tuple[date, bool]:
    """The day the demo shows busiest: today while the clinic is open or still to open, else the next open day."""
    now = timezone.now().astimezone(clinic.tz)
    day = now.date()
    closures = list(clinic.closures.all())
    for offset in range(14):
        candidate = day + timedelta(days=offset)
        hours = plan.hours.get(candidate.weekday())
        closed = any(closure.starts_on <= candidate <= closure.ends_on for closure in closures)
        if hours is None or closed or not plan.staffing.get(candidate.weekday()):
            continue
        if offset == 0 and now.time() >= hours[1]:
            continue
        return candidate, offset == 0
    return day, False


def _start_date(story: str, regimen_code: str, today: date, rng: random.Random, days: ClinicDays) -> date:
    if story == "established":
        low, high = ESTABLISHED_DAYS_AGO[regimen_code]
        return today - timedelta(days=rng.randint(low, high))
    if story == "new":
        return today - timedelta(days=rng.randint(7, 12))
    if story == "starting":
        return today + timedelta(days=rng.randint(3, 16))
    if story == "lemtrada_upcoming":
        return today + timedelta(days=rng.randint(6, 12))
    if story == "lemtrada_course_2_due":
        # Course 2 falls 12 months after the last day of course 1: in two or three weeks.
        return add_months(today, -12) + timedelta(days=rng.randint(3, 8))
    if story == "lemtrada_in_progress":
        return _lemtrada_days(today, days)
    if story == "lemtrada_recent":
        return today - timedelta(days=rng.randint(40, 80))
    if story == "lemtrada_done":
        return today - timedelta(days=rng.randint(800, 1000))
    raise ValueError(f"No such demo story: {story}")


def _lemtrada_days(today: date, days: ClinicDays) -> date:
    """The first of five consecutive open weekdays that hold today (today in the middle if it can be).

    When today cannot be one of them (a weekend, a closure), the next five that can.
    """

    def fits(first: date) -> bool:
        return all(
            days.is_open(first + timedelta(days=offset)) and (first + timedelta(days=offset)).weekday() < 5
            for offset in range(5)
        )

    for back in (2, 1, 3, 0, 4):
        first = today - timedelta(days=back)
        if fits(first):
            return first
    first = today + timedelta(days=1)
    while not fits(first):
        first += timedelta(days=1)
    return first
