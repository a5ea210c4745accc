"""The demo behind `manage.py seed_demo`: two clinics that look like a working week.

Everything is built from a fixed random seed and from today's date in each clinic's own
time zone, so the demo is the same every time it is built on the same day and always looks
current. Dose histories follow the regimens: each dose's target date, earliest date and
chair time come from the dosing rules (`clinic.dosing`) over the seeded regimen phases,
and a dose counts as given only as a completed appointment, which is how the rest of
Chairside reads a course's history.

The appointments keep every rule a booking has to keep: inside the clinic's opening hours
and off its closures, never two at once on a chair or for a patient, and within the nurse
rules (patients in chairs per nurse, infusion starts per nurse per 15 minutes).

Demo only: the users' password is written in the README.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from clinic.dosing import GivenDose, PlannedDose, RegimenSpec, add_months, next_dose
from clinic.models import Chair, Clinic, Closure, NurseStaffing, OpeningHours, Regimen, StaffProfile
from clinic.roles import FRONT_DESK, MANAGER, NURSE, sync_roles
from patients.models import Patient, TreatmentCourse
from scheduling.models import Appointment, AppointmentEvent, NurseAssignment
from scheduling.reminders.outbox import appointment_reminders_sync

DEMO_PASSWORD = "chairside-demo"  # noqa: S105 - demo users only, written in the README
SEED = 2026
# Doses due within this many days are booked ahead (unless the story leaves them unbooked).
BOOKING_HORIZON_DAYS = 35
STARTS_SLOT_MINUTES = 15  # the nurse rule counts infusion starts per 15-minute slot

# --- The clinics and the people ---------------------------------------------------------------


@dataclass(frozen=True)
class ClinicPlan:
    key: str
    name: str
    time_zone: str
    address: str
    phone: str
    email: str
    patients_per_nurse: int
    starts_per_nurse: int
    chairs: tuple[tuple[str, str], ...]
    hours: dict[int, tuple[time, time]]
    staffing: dict[int, int]
    closures: tuple[tuple[str, int, int], ...]  # reason, month, day (the next one from today)
    mrn_prefix: str
    email_domain: str
    phone_prefix: str


LONDON = ClinicPlan(
    key="london",
    name="Riverside Infusion Centre",
    time_zone="Europe/London",
    address="Riverside Wing, St Olave's Hospital\n14 Embankment Road\nLondon SE1 7XY",
    phone="020 7946 0321",
    email="infusions@riverside.example.org",
    patients_per_nurse=4,
    starts_per_nurse=1,
    chairs=(
        ("Chair 1", Chair.Kind.CHAIR),
        ("Chair 2", Chair.Kind.CHAIR),
        ("Chair 3", Chair.Kind.CHAIR),
        ("Chair 4", Chair.Kind.CHAIR),
        ("Chair 5", Chair.Kind.CHAIR),
        ("Bed 1", Chair.Kind.BED),
        ("Bed 2", Chair.Kind.BED),
    ),
    hours={
        **{weekday: (time(8, 0), time(18, 0)) for weekday in range(5)},
        5: (time(9, 0), time(13, 0)),  # a shorter Saturday, for the short infusions
    },
    staffing={0: 3, 1: 3, 2: 3, 3: 3, 4: 2, 5: 1},
    closures=(("Christmas Day", 12, 25), ("Boxing Day", 12, 26), ("New Year's Day", 1, 1)),
    mrn_prefix="RIV",
    email_domain="example.org",
    phone_prefix="07700 900",
)

NEW_YORK = ClinicPlan(
    key="new-york",
    name="Hudson Infusion Suite",
    time_zone="America/New_York",
    address="220 West 57th Street, Suite 400\nNew York, NY 10019",
    phone="(212) 555-0147",
    email="infusions@hudson.example.com",
    patients_per_nurse=3,
    starts_per_nurse=1,
    chairs=(
        ("Chair A", Chair.Kind.CHAIR),
        ("Chair B", Chair.Kind.CHAIR),
        ("Chair C", Chair.Kind.CHAIR),
        ("Chair D", Chair.Kind.CHAIR),
        ("Bed E", Chair.Kind.BED),
    ),
    hours={weekday: (time(7, 30), time(17, 30)) for weekday in range(5)},
    staffing={0: 2, 1: 2, 2: 2, 3: 2, 4: 2},
    closures=(("Independence Day", 7, 4), ("Thanksgiving", 11, 0), ("Christmas Day", 12, 25)),
    mrn_prefix="HIS",
    email_domain="example.com",
    phone_prefix="(212) 555-01",
)

CLINIC_PLANS = (LONDON, NEW_YORK)


@dataclass(frozen=True)
class UserPlan:
    username: str
    role: str
    clinics: tuple[str, ...]
    first_name: str
    last_name: str
    is_staff: bool = False
    can_log_in: bool = True


USERS = (
    UserPlan("frontdesk", FRONT_DESK, ("london",), "Fran", "Okafor"),
    UserPlan("nurse", NURSE, ("london",), "Nadia", "Kowalski"),
    UserPlan("manager", MANAGER, ("london", "new-york"), "Martin", "Reyes", is_staff=True),
    UserPlan("frontdesk-ny", FRONT_DESK, ("new-york",), "Dana", "Brooks"),
    UserPlan("nurse-ny", NURSE, ("new-york",), "Grace", "Liu"),
    # Colleagues on the roster, so each day has as many nurses assigned as the staffing plan
    # has on duty. They have no password: nobody logs in as them.
    UserPlan("priya.shah", NURSE, ("london",), "Priya", "Shah", can_log_in=False),
    UserPlan("tom.evans", NURSE, ("london",), "Tom", "Evans", can_log_in=False),
    UserPlan("maria.lopez", NURSE, ("new-york",), "Maria", "Lopez", can_log_in=False),
)
# The nurses of each clinic in the order they fill the day's teams (the demo's nurse first).
NURSE_TEAMS = {"london": ("nurse", "priya.shah", "tom.evans"), "new-york": ("nurse-ny", "maria.lopez")}
# Nurse assignments are written for the days from a week ago to this many days ahead.
ASSIGNMENT_DAYS_AHEAD = 21

# One line per patient: regimen, course options, the story of the course, and what happens
# to it. Stories: "established" (on treatment for a while), "new" (dose 1 given in the last
# fortnight), "starting" (dose 1 due soon), and three Lemtrada stories. Flags: "unbooked"
# (due and not booked: the worklist), "overdue", "no_show", "reaction", "serious_reaction",
# "auth_soon" (programme authorization about to expire), "cancelled" (future booking
# cancelled, waiting to rebook), "moved" (booking cancelled and booked again), "no_reminders".
PATIENT_MIX: dict[str, tuple[tuple[str, dict, str, frozenset[str]], ...]] = {
    "london": (
        ("ocrevus", {}, "established", frozenset()),
        ("ocrevus", {}, "established", frozenset({"reaction"})),
        ("ocrevus", {"short_infusion": True}, "established", frozenset()),
        ("ocrevus", {"short_infusion": True}, "established", frozenset({"serious_reaction"})),
        ("ocrevus", {"short_infusion": True}, "established", frozenset({"moved"})),
        ("ocrevus", {}, "established", frozenset({"overdue"})),
        ("ocrevus", {}, "established", frozenset()),
        ("ocrevus", {}, "new", frozenset()),
        ("ocrevus", {}, "starting", frozenset({"unbooked"})),
        ("tysabri", {}, "established", frozenset({"no_show"})),
        ("tysabri", {}, "established", frozenset({"auth_soon"})),
        ("tysabri", {}, "established", frozenset({"reaction"})),
        ("tysabri", {"extended_interval": True}, "established", frozenset()),
        ("tysabri", {"extended_interval": True}, "established", frozenset({"unbooked"})),
        ("tysabri", {}, "established", frozenset({"cancelled"})),
        ("tysabri", {}, "new", frozenset()),
        ("lemtrada", {}, "lemtrada_upcoming", frozenset()),
        ("lemtrada", {}, "lemtrada_course_2_due", frozenset({"unbooked"})),
        ("lemtrada", {}, "lemtrada_done", frozenset()),
        ("briumvi", {}, "established", frozenset()),
        ("briumvi", {}, "established", frozenset({"no_reminders"})),
        ("briumvi", {}, "established", frozenset()),
        ("briumvi", {}, "new", frozenset()),
        ("briumvi", {}, "established", frozenset({"unbooked"})),
        ("rituximab", {}, "established", frozenset()),
        ("rituximab", {}, "established", frozenset({"overdue"})),
        ("rituximab", {}, "established", frozenset()),
        ("rituximab", {}, "established", frozenset({"moved"})),
        ("rituximab", {}, "new", frozenset()),
        ("ocrevus-zunovo", {}, "established", frozenset()),
        ("ocrevus-zunovo", {}, "established", frozenset()),
        ("ocrevus-zunovo", {}, "starting", frozenset()),
        ("ocrevus-zunovo", {}, "established", frozenset({"unbooked"})),
        ("tyruko", {}, "established", frozenset()),
        ("tyruko", {}, "established", frozenset({"overdue"})),
        ("tyruko", {}, "established", frozenset()),
    ),
    "new-york": (
        ("ocrevus", {}, "established", frozenset()),
        ("ocrevus", {}, "established", frozenset()),
        ("ocrevus", {"short_infusion": True}, "established", frozenset()),
        ("ocrevus", {"short_infusion": True}, "established", frozenset({"unbooked"})),
        ("ocrevus", {}, "established", frozenset({"no_reminders"})),
        ("ocrevus", {}, "new", frozenset()),
        ("ocrevus", {}, "starting", frozenset()),
        ("tysabri", {}, "established", frozenset()),
        ("tysabri", {}, "established", frozenset({"unbooked"})),
        ("tysabri", {"extended_interval": True}, "established", frozenset()),
        ("tysabri", {}, "established", frozenset({"reaction"})),
        ("tysabri", {}, "established", frozenset({"overdue"})),
        ("lemtrada", {}, "lemtrada_recent", frozenset()),
        ("briumvi", {}, "established", frozenset()),
        ("briumvi", {}, "established", frozenset({"moved"})),
        ("briumvi", {}, "established", frozenset()),
        ("rituximab", {}, "established", frozenset()),
        ("rituximab", {}, "established", frozenset()),
        ("rituximab", {}, "established", frozenset({"unbooked"})),
        ("ocrevus-zunovo", {}, "established", frozenset()),
        ("ocrevus-zunovo", {}, "new", frozenset()),
        ("tyruko", {}, "established", frozenset()),
        ("tyruko", {}, "established", frozenset({"cancelled"})),
        ("tyruko", {}, "established", frozenset()),
    ),
}

# How long ago an established course started, in days, per regimen.
ESTABLISHED_DAYS_AGO = {
    "ocrevus": (250, 1500),
    "ocrevus-zunovo": (200, 700),
    "briumvi": (250, 1200),
    "rituximab": (250, 1400),
    "tysabri": (150, 1100),
    "tyruko": (120, 600),
}

FIRST_NAMES = (
    "Amelia Oliver Priya Tomasz Grace Kwame Sophie Daniel Aisha Lucas Hannah Mateo Chloe Ibrahim "
    "Zoe Samuel Fatima Leo Isla Marcus Yuki Ruth Elena Joseph Niamh Arjun Lily Omar Freya Diego "
    "Harriet Kofi Maya Patrick Anika Rosa Benjamin Leila Ewan Naomi Viktor Imogen Carlos Esther "
    "Rahul Molly Theo Adaeze Finn Clara Hamza Ines Gareth Sienna Andre Bethany Kenji Olivia Rory Talia"
).split()
LAST_NAMES = (
    "Whitfield Adeyemi Novak Brennan Chaudhry Lindqvist Morales Okonkwo Pemberton Sato Galloway Haddad "
    "Ferreira Kowalczyk Ashworth Mensah Delgado Thornton Rahman Fitzgerald Ivanova Castellanos Hargreaves "
    "Nakamura Osei Blackwood Marchetti Quinn Abernathy Varga Lindgren Achebe Moreau Sinclair Petrov "
    "Oduya Callaghan Bergström Iqbal Donnelly Yamamoto Kavanagh Rossi Ellison Tanaka Wojcik Barros "
    "Harrington Nwosu Lachance Gupta Eriksen Mahoney Santos Kaur Whitaker Demir Fontaine Bianchi Ogunleye"
).split()

REACTION_NOTE = "Flushing and itch 40 minutes into the infusion; rate halved, settled with an antihistamine."
SERIOUS_REACTION_NOTE = (
    "Throat tightness and wheeze during the infusion; infusion stopped and treated per protocol, observed "
    "for 3 hours. Shorter infusions no longer allowed."
)
CANCEL_REASONS = (
    "Patient unwell (chest infection); will call to rebook when better.",
    "Patient asked to move it: work commitment.",
    "Transport could not come that day.",
)


# --- Calendar and chair plan of one clinic ------------------------------------------------------


@dataclass
class Placement:
    chair: Chair
    day: date
    start: int  # minutes after local midnight
    end: int
    premed: int
    patient_key: int


class ClinicBook:
    """A clinic's days as the booking rules see them: open hours, closures, chairs and nurses."""

    def __init__(self, clinic: Clinic, plan: ClinicPlan, chairs: list[Chair], closures: list[Closure]):
        self.clinic = clinic
        self.plan = plan
        self.chairs = chairs
        self.closures = [(closure.starts_on, closure.ends_on) for closure in closures]
        self.by_day: dict[date, list[Placement]] = defaultdict(list)

    def is_open(self, day: date) -> bool:
        if day.weekday() not in self.plan.hours or not self.plan.staffing.get(day.weekday()):
            return False
        return not any(first <= day <= last for first, last in self.closures)

    def options(self, day: date, minutes: int, premed: int, patient_key: int) -> list[tuple[int, Chair]]:
        """Every (start, chair) on `day` where a `minutes`-long chair time keeps all the rules."""
        if not self.is_open(day):
            return []
        opens, closes = self.plan.hours[day.weekday()]
        opens_at, closes_at = opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute
        nurses = self.plan.staffing[day.weekday()]
        max_in_chairs = nurses * self.clinic.patients_per_nurse
        max_starts = nurses * self.clinic.starts_per_nurse
        taken = self.by_day[day]
        # Long chair times go to beds first.
        chairs = sorted(self.chairs, key=lambda chair: (minutes < 300) == (chair.kind == Chair.Kind.BED))
        found = []
        for start in range(opens_at, closes_at - minutes + 1, self.clinic.slot_minutes):
            end = start + minutes
            overlapping = [other for other in taken if other.start < end and start < other.end]
            if any(other.patient_key == patient_key for other in overlapping):
                continue
            slot = start // STARTS_SLOT_MINUTES
            if sum(other.start // STARTS_SLOT_MINUTES == slot for other in taken) >= max_starts:
                continue
            infusion_slot = (start + premed) // STARTS_SLOT_MINUTES
            if sum((other.start + other.premed) // STARTS_SLOT_MINUTES == infusion_slot for other in taken) >= (
                max_starts
            ):
                continue
            moments = [start] + [other.start for other in overlapping if other.start > start]
            if any(
                1 + sum(other.start <= moment < other.end for other in overlapping) > max_in_chairs
                for moment in moments
            ):
                continue
            busy = {other.chair.pk for other in overlapping}
            for chair in chairs:
                if chair.pk in busy:
                    continue
                # The nurse who looks after this chair that day keeps the per-nurse rules too.
                team = self.team(chair, day)
                mine = [other for other in taken if self.team(other.chair, day) == team]
                if sum(other.start // STARTS_SLOT_MINUTES == slot for other in mine) >= self.clinic.starts_per_nurse:
                    continue
                if sum((other.start + other.premed) // STARTS_SLOT_MINUTES == infusion_slot for other in mine) >= (
                    self.clinic.starts_per_nurse
                ):
                    continue
                mine_overlapping = [other for other in overlapping if other in mine]
                if any(
                    1 + sum(other.start <= moment < other.end for other in mine_overlapping)
                    > self.clinic.patients_per_nurse
                    for moment in moments
                ):
                    continue
                found.append((start, chair))
        return found

    def team(self, chair: Chair, day: date) -> int:
        """Which of the day's nurses looks after `chair`: the chairs in order, split into even blocks."""
        nurses = self.plan.staffing.get(day.weekday(), 0) or 1
        return self.chairs.index(chair) * nurses // len(self.chairs)

    def choose(self, rng: random.Random, day: date, minutes: int, premed: int, patient_key: int) -> Placement | None:
        options = self.options(day, minutes, premed, patient_key)
        if not options:
            return None
        starts = sorted({start for start, _chair in options})
        # Most people come in the morning; long infusions have to.
        start = starts[min(int(rng.expovariate(1 / 4)), len(starts) - 1)]
        chair = rng.choice([chair for candidate, chair in options if candidate == start][:2])
        return Placement(chair, day, start, start + minutes, premed, patient_key)

    def add(self, placement: Placement) -> None:
        self.by_day[placement.day].append(placement)

    def remove(self, placement: Placement) -> None:
        self.by_day[placement.day].remove(placement)

    def moment(self, day: date, minutes: int) -> datetime:
        """An aware datetime `minutes` after local midnight on `day` (wall-clock time)."""
        return datetime.combine(day, time(0), tzinfo=self.clinic.tz) + timedelta(minutes=minutes)


# --- One course's story -------------------------------------------------------------------------


@dataclass
class Visit:
    """One appointment to write: a dose given, booked, missed or cancelled."""

    dose: PlannedDose
    placement: Placement
    status: str
    serious_reaction: bool = False
    infusion_reaction: bool = False
    cancel_reason: str = ""


@dataclass
class CourseStory:
    clinic_plan: ClinicPlan
    book: ClinicBook
    patient_key: int
    regimen: Regimen
    spec: RegimenSpec
    options: dict
    story: str
    flags: frozenset[str]
    start_date: date
    today: date
    given: list[Visit] = field(default_factory=list)
    others: list[Visit] = field(default_factory=list)

    def history(self) -> list[GivenDose]:
        return [GivenDose(visit.placement.day, serious_reaction=visit.serious_reaction) for visit in self.given]

    def next_dose(self, given: list[GivenDose] | None = None) -> PlannedDose | None:
        return next_dose(
            self.spec,
            start_date=self.start_date,
            given=self.history() if given is None else given,
            options=self.options,
            today=self.today,
            due_soon_days=self.book.clinic.due_soon_days,
        )


def _first_fit(
    book: ClinicBook, rng: random.Random, story: CourseStory, dose: PlannedDose, day: date, last_day: date
) -> Placement | None:
    """The first open day from `day` to `last_day` with room for the dose (and its whole block)."""
    minutes = dose.chair_time.total_minutes
    premed = dose.chair_time.premed_minutes
    spacing = 1
    for phase in story.spec.phases:
        if phase.position == dose.phase_position:
            spacing = phase.spacing_days or 1
    remaining_in_block = dose.block_size - dose.dose_in_block
    while day <= last_day:
        block_days = [day + timedelta(days=spacing * index) for index in range(1, remaining_in_block + 1)]
        if all(book.options(later, minutes, premed, story.patient_key) for later in block_days):
            placement = book.choose(rng, day, minutes, premed, story.patient_key)
            if placement:
                return placement
        day += timedelta(days=1)
    return None


def _give_history(story: CourseStory, rng: random.Random) -> None:
    """Doses given before today, each on an open day near its target date, as the regimen asks."""
    book = story.book
    while True:
        dose = story.next_dose()
        if dose is None or dose.when_needed:
            return
        if dose.dose_in_block > 1:
            day = dose.target_date  # consecutive days of a block: exactly as planned
            if day >= story.today:
                return
            placement = book.choose(
                rng, day, dose.chair_time.total_minutes, dose.chair_time.premed_minutes, story.patient_key
            )
        else:
            day = max(dose.earliest_date, dose.target_date + timedelta(days=rng.choice((0, 0, 0, 1, 1, 2, 3, 6))))
            if day >= story.today:
                return
            placement = _first_fit(book, rng, story, dose, day, story.today - timedelta(days=1))
        if placement is None:
            return
        book.add(placement)
        visit = Visit(dose, placement, Appointment.Status.COMPLETED)
        # A reaction is recorded as it happens, so the chair times after it follow from it.
        if "reaction" in story.flags and dose.dose_number == 2:
            visit.infusion_reaction = True
        if "serious_reaction" in story.flags and dose.dose_number == 3:
            visit.infusion_reaction = visit.serious_reaction = True
        story.given.append(visit)


def _rewind(story: CourseStory, keep) -> PlannedDose | None:
    """Undo the latest doses given until the next one satisfies `keep` (or none is left)."""
    while True:
        dose = story.next_dose()
        if dose is not None and keep(dose):
            return dose
        if len(story.given) <= 1:
            return dose
        visit = story.given.pop()
        story.book.remove(visit.placement)


# --- Building the demo --------------------------------------------------------------------------


@dataclass
class DemoSummary:
    clinics: int = 0
    chairs: int = 0
    users: int = 0
    patients_created: int = 0
    appointments_created: int = 0
    already_there: bool = False


def demo_present() -> bool:
    """The demo's patients are in the database (so `--once` has nothing to do)."""
    return Patient.objects.filter(clinic__name__in=[plan.name for plan in CLINIC_PLANS]).exists()


@transaction.atomic
def demo_build() -> DemoSummary:
    """Create what is missing of the demo: clinics, users, and (once) patients and appointments."""
    summary = DemoSummary()
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    # The demo users get their permissions through the role groups: bring those in step first.
    sync_roles()
    clinics = {plan.key: _clinic_setup(plan) for plan in CLINIC_PLANS}
    summary.clinics = len(clinics)
    summary.chairs = Chair.objects.filter(clinic__in=clinics.values()).count()
    users = {plan.username: _user_setup(plan, clinics) for plan in USERS}
    summary.users = len(users)
    if demo_present():
        summary.already_there = True
        return summary
    regimens = {regimen.code: regimen for regimen in Regimen.objects.prefetch_related("phases", "monitoring")}
    names = _names(rng)
    for plan in CLINIC_PLANS:
        clinic = clinics[plan.key]
        staff = {
            "front_desk": users["frontdesk" if plan.key == "london" else "frontdesk-ny"],
            "nurse": users["nurse" if plan.key == "london" else "nurse-ny"],
            "manager": users["manager"],
            "team": [users[username] for username in NURSE_TEAMS[plan.key]],
        }
        created = _patients_for_clinic(plan, clinic, regimens, staff, names, rng)
        summary.patients_created += created[0]
        summary.appointments_created += created[1]
    return summary


def _clinic_setup(plan: ClinicPlan) -> Clinic:
    clinic, _ = Clinic.objects.get_or_create(
        name=plan.name,
        defaults={
            "time_zone": plan.time_zone,
            "address": plan.address,
            "phone": plan.phone,
            "email": plan.email,
            "patients_per_nurse": plan.patients_per_nurse,
            "starts_per_nurse": plan.starts_per_nurse,
        },
    )
    for position, (name, kind) in enumerate(plan.chairs, start=1):
        Chair.objects.get_or_create(clinic=clinic, name=name, defaults={"kind": kind, "position": position})
    for weekday, (opens, closes) in plan.hours.items():
        OpeningHours.objects.get_or_create(clinic=clinic, weekday=weekday, defaults={"opens": opens, "closes": closes})
    for weekday, nurses in plan.staffing.items():
        NurseStaffing.objects.get_or_create(clinic=clinic, weekday=weekday, defaults={"nurses": nurses})
    today = timezone.localdate(timezone=clinic.tz)
    for reason, month, day in plan.closures:
        first = _next_occurrence(today, month, day)
        Closure.objects.get_or_create(clinic=clinic, reason=reason, defaults={"starts_on": first, "ends_on": first})
    # A training day three weeks out, so the booking pages show a closed weekday.
    training = today + timedelta(days=21)
    training += timedelta(days=(2 - training.weekday()) % 7)  # a Wednesday
    Closure.objects.get_or_create(
        clinic=clinic, reason="Staff training day", defaults={"starts_on": training, "ends_on": training}
    )
    return clinic


def _next_occurrence(today: date, month: int, day: int) -> date:
    """The next date (today or later) of a fixed holiday; day 0 is the fourth Thursday (Thanksgiving)."""
    for year in (today.year, today.year + 1):
        if day:
            candidate = date(year, month, day)
        else:
            first = date(year, month, 1)
            candidate = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
        if candidate >= today:
            return candidate
    raise AssertionError("unreachable: next year always has the holiday")


def _user_setup(plan: UserPlan, clinics: dict[str, Clinic]):
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=plan.username,
        defaults={
            "first_name": plan.first_name,
            "last_name": plan.last_name,
            "email": f"{plan.username}@chairside.example.org",
            "is_staff": plan.is_staff,
        },
    )
    # The documented password always works, and the role is always the demo's.
    if plan.can_log_in:
        user.set_password(DEMO_PASSWORD)
    else:
        user.set_unusable_password()
    user.is_active = True
    user.is_staff = plan.is_staff
    user.is_superuser = False
    user.save(update_fields=["password", "is_active", "is_staff", "is_superuser"])
    user.groups.set([Group.objects.get(name=plan.role)])
    profile, _ = StaffProfile.objects.get_or_create(user=user)
    profile.clinics.set([clinics[key] for key in plan.clinics])
    return user


def _names(rng: random.Random) -> list[tuple[str, str]]:
    pairs = [(first, last) for first in FIRST_NAMES for last in LAST_NAMES]
    return rng.sample(pairs, k=sum(len(mix) for mix in PATIENT_MIX.values()))


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _start_date(story: str, regimen_code: str, today: date, rng: random.Random) -> date:
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
    if story == "lemtrada_recent":
        return today - timedelta(days=rng.randint(40, 80))
    if story == "lemtrada_done":
        return today - timedelta(days=rng.randint(800, 1000))
    raise ValueError(f"No such demo story: {story}")


def _patients_for_clinic(
    plan: ClinicPlan,
    clinic: Clinic,
    regimens: dict[str, Regimen],
    staff: dict,
    names: list[tuple[str, str]],
    rng: random.Random,
) -> tuple[int, int]:
    today = timezone.localdate(timezone=clinic.tz)
    now = timezone.now()
    chairs = list(clinic.chairs.filter(active=True).order_by("position"))
    book = ClinicBook(clinic, plan, chairs, list(clinic.closures.all()))
    specs = {code: regimen.spec() for code, regimen in regimens.items()}
    stories: list[CourseStory] = []
    for index, (code, options, story_name, flags) in enumerate(PATIENT_MIX[plan.key]):
        regimen = regimens[code]
        stories.append(
            CourseStory(
                clinic_plan=plan,
                book=book,
                patient_key=index,
                regimen=regimen,
                spec=specs[code],
                options=dict(options),
                story=story_name,
                flags=flags,
                start_date=_start_date(story_name, code, today, rng),
                today=today,
            )
        )
    # Long, fixed courses first, so their consecutive days find room.
    for story in sorted(stories, key=lambda item: (item.regimen.code != "lemtrada", item.patient_key)):
        _live_course(story, rng)
    for story in sorted(stories, key=lambda item: (item.regimen.code != "lemtrada", item.patient_key)):
        _book_ahead(story, rng)

    appointments = 0
    for story in stories:
        first, last = names.pop()
        patient = _patient_create(plan, clinic, story, first, last, rng, now)
        course = _course_create(story, patient, staff, rng, now)
        appointments += _appointments_create(story, clinic, patient, course, staff, rng, now)
    _nurse_assignments(book, today, staff)
    return len(stories), appointments


def _nurse_assignments(book: ClinicBook, today: date, staff: dict) -> None:
    """Each open day's chairs split between the nurses on duty, as the placements assumed."""
    assignments = []
    day = today - timedelta(days=7)
    while day <= today + timedelta(days=ASSIGNMENT_DAYS_AHEAD):
        if book.is_open(day):
            for chair in book.chairs:
                team = min(book.team(chair, day), len(staff["team"]) - 1)
                assignments.append(
                    NurseAssignment(
                        clinic=book.clinic,
                        day=day,
                        chair=chair,
                        nurse=staff["team"][team],
                        assigned_by=staff["manager"],
                    )
                )
        day += timedelta(days=1)
    NurseAssignment.objects.bulk_create(assignments)


def _story_window(story: CourseStory) -> tuple[date, date] | None:
    """Where a flagged story wants its next dose's target date: due now, overdue, or just missed."""
    today, late = story.today, story.regimen.late_window_days
    if "overdue" in story.flags:
        return today - timedelta(days=late + 40), today - timedelta(days=late + 3)
    if "no_show" in story.flags:
        return today - timedelta(days=14), today - timedelta(days=2)
    if "unbooked" in story.flags:
        return today - timedelta(days=3), today + timedelta(days=story.book.clinic.due_soon_days - 3)
    return None


def _live_course(story: CourseStory, rng: random.Random) -> None:
    """Give the course's doses up to today; a flagged story ends with its next dose where it wants it.

    A dose due in the story's window is left ungiven (the patient did not come, or has not
    booked). An established course whose next dose falls outside the window starts again from
    a start date moved by the difference, so the story holds whatever today is.
    """
    window = _story_window(story)
    for _attempt in range(4):
        _give_history(story, rng)
        if window is None:
            return
        dose = _rewind(story, lambda dose, window=window: dose.target_date <= window[1])
        if dose is None or dose.when_needed or window[0] <= dose.target_date <= window[1]:
            break
        if story.story != "established":
            break
        for visit in story.given:
            story.book.remove(visit.placement)
        story.given.clear()
        story.start_date += (window[0] + (window[1] - window[0]) / 2) - dose.target_date
    if "no_show" in story.flags:
        dose = story.next_dose()
        if dose is not None and dose.target_date < story.today:
            day = max(dose.target_date, dose.earliest_date)
            placement = _first_fit(story.book, rng, story, dose, day, story.today - timedelta(days=1))
            if placement is not None:
                # A no-show does not hold the chair, so it stays out of the book.
                story.others.append(Visit(dose, placement, Appointment.Status.NO_SHOW))


def _book_ahead(story: CourseStory, rng: random.Random) -> None:
    """Book the doses due within the horizon, each in its window, blocks on consecutive days."""
    if story.flags & {"overdue", "no_show", "unbooked"}:
        return
    today = story.today
    horizon = today + timedelta(days=BOOKING_HORIZON_DAYS)
    booked: list[Visit] = []
    while True:
        history = story.history() + [GivenDose(visit.placement.day) for visit in booked]
        dose = story.next_dose(history)
        if dose is None or dose.when_needed or dose.target_date > horizon:
            break
        first_day = max(dose.earliest_date, dose.target_date, today)
        if dose.dose_in_block > 1:
            placement = story.book.choose(
                rng, first_day, dose.chair_time.total_minutes, dose.chair_time.premed_minutes, story.patient_key
            )
            if first_day != dose.target_date:
                placement = None
        else:
            placement = _first_fit(story.book, rng, story, dose, first_day, first_day + timedelta(days=21))
        if placement is None:
            break
        story.book.add(placement)
        booked.append(Visit(dose, placement, Appointment.Status.BOOKED))
    if not booked:
        if "moved" in story.flags and story.given:
            _cancelled_first(story, story.given[-1], rng)
        return
    if "moved" in story.flags:
        _cancelled_first(story, booked[0], rng)
    if "cancelled" in story.flags:
        # The next one was cancelled and is not booked again yet: the worklist shows it.
        for visit in booked:
            story.book.remove(visit.placement)
        first = booked[0]
        first.status = Appointment.Status.CANCELLED
        first.cancel_reason = CANCEL_REASONS[0]
        story.others.append(first)
        return
    story.others.extend(booked)


def _cancelled_first(story: CourseStory, visit: Visit, rng: random.Random) -> None:
    """The visit was first booked on another day, then cancelled at the patient's request."""
    offsets = [-3, -2, -1, 1, 2, 3, 4]
    rng.shuffle(offsets)
    for offset in offsets:
        day = visit.placement.day + timedelta(days=offset)
        if (day > story.today) != (visit.placement.day >= story.today):
            continue  # a cancellation stays on the same side of today as the visit it moved
        chair_time = visit.dose.chair_time
        placement = story.book.choose(rng, day, chair_time.total_minutes, chair_time.premed_minutes, story.patient_key)
        if placement is not None:
            story.others.append(
                Visit(visit.dose, placement, Appointment.Status.CANCELLED, cancel_reason=CANCEL_REASONS[1])
            )
            return


def _patient_create(
    plan: ClinicPlan, clinic: Clinic, story: CourseStory, first: str, last: str, rng: random.Random, now: datetime
) -> Patient:
    consent = "no_reminders" not in story.flags
    patient = Patient(
        clinic=clinic,
        mrn=f"{plan.mrn_prefix}{rng.randint(100000, 999999)}{story.patient_key:02d}",
        first_name=first,
        last_name=last,
        date_of_birth=date(rng.randint(1962, 2003), rng.randint(1, 12), rng.randint(1, 28)),
        email=f"{_ascii(first)}.{_ascii(last)}@{plan.email_domain}",
        phone=f"{plan.phone_prefix}{rng.randint(0, 99 if plan.key == 'new-york' else 999):0{2 if plan.key == 'new-york' else 3}d}",
        reminder_consent=consent,
        reminder_channel=Patient.Channel.EMAIL if consent else Patient.Channel.NONE,
        notes=rng.choice(PATIENT_NOTES),
    )
    patient.save()
    registered = min(now, datetime.combine(story.start_date - timedelta(days=21), time(10, 0), tzinfo=clinic.tz))
    Patient.objects.filter(pk=patient.pk).update(created_at=registered)
    return patient


PATIENT_NOTES = (
    "",
    "",
    "",
    "",
    "Prefers afternoon appointments.",
    "Needle-phobic: numbing cream an hour before.",
    "Uses a wheelchair: a bed or the wide chair.",
    "Hospital transport: confirm the time two days before.",
    "Works shifts; call after 4 pm.",
)


AUTHORIZATION_PREFIX = {"tysabri": "TOUCH", "tyruko": "TYRUKO", "lemtrada": "LEM"}


def _course_create(story: CourseStory, patient: Patient, staff: dict, rng: random.Random, now: datetime):
    regimen = story.regimen
    course = TreatmentCourse(
        patient=patient,
        regimen=regimen,
        start_date=story.start_date,
        options=story.options,
        status=TreatmentCourse.Status.ACTIVE,
        created_by=staff["manager"],
    )
    if regimen.requires_authorization:
        prefix = AUTHORIZATION_PREFIX.get(regimen.code, "AUTH")
        course.authorization_number = f"{prefix}-{rng.randint(10_000_000, 99_999_999)}"
        days_left = 12 if "auth_soon" in story.flags else rng.randint(45, 170)
        course.authorization_expires_on = story.today + timedelta(days=days_left)
    if story.options.get("extended_interval"):
        course.notes = "Stable on every 4 weeks for over a year; extended interval agreed with the neurologist."
    course.save()
    created = min(
        now, datetime.combine(story.start_date - timedelta(days=14), time(11, 0), tzinfo=story.book.clinic.tz)
    )
    TreatmentCourse.objects.filter(pk=course.pk).update(created_at=created)
    return course


def _status_on_the_day(visit: Visit, book: ClinicBook, now: datetime) -> tuple[str, list[tuple[str, datetime]]]:
    """Where a visit stands at `now`, and the times it moved through the day's statuses."""
    placement, chair_time = visit.placement, visit.dose.chair_time
    start = book.moment(placement.day, placement.start)
    arrived = start - timedelta(minutes=10)
    infusion_started = start + timedelta(minutes=chair_time.premed_minutes + 5)
    infusion_ended = infusion_started + timedelta(minutes=chair_time.infusion_minutes)
    completed = infusion_ended + timedelta(minutes=chair_time.observation_minutes)
    steps = [
        (Appointment.Status.ARRIVED, arrived),
        (Appointment.Status.IN_CHAIR, start),
        (Appointment.Status.INFUSING, infusion_started),
        (Appointment.Status.OBSERVATION, infusion_ended),
        (Appointment.Status.COMPLETED, completed),
    ]
    if not chair_time.observation_minutes:
        steps.pop(3)
    done = [(status, moment) for status, moment in steps if moment <= now]
    return (done[-1][0] if done else Appointment.Status.BOOKED), done


def _appointments_create(
    story: CourseStory,
    clinic: Clinic,
    patient: Patient,
    course: TreatmentCourse,
    staff: dict,
    rng: random.Random,
    now: datetime,
) -> int:
    front_desk, nurse = staff["front_desk"], staff["nurse"]
    visits = sorted(story.given + story.others, key=lambda visit: (visit.placement.day, visit.placement.start))
    rows: list[tuple[Appointment, list[AppointmentEvent]]] = []
    for visit in visits:
        placement, chair_time = visit.placement, visit.dose.chair_time
        starts_at = story.book.moment(placement.day, placement.start)
        ends_at = story.book.moment(placement.day, placement.end)
        booked_at = min(
            now - timedelta(hours=1), starts_at - timedelta(days=rng.randint(5, 40), hours=rng.randint(0, 5))
        )
        appointment = Appointment(
            clinic=clinic,
            chair=placement.chair,
            patient=patient,
            course=course,
            dose_number=visit.dose.dose_number,
            starts_at=starts_at,
            ends_at=ends_at,
            premed_minutes=chair_time.premed_minutes,
            infusion_minutes=chair_time.infusion_minutes,
            observation_minutes=chair_time.observation_minutes,
            status=visit.status,
            booked_by=front_desk,
            created_at=booked_at,
        )
        slot = {
            "chair_id": placement.chair.pk,
            "chair": placement.chair.name,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
        }
        events = [
            AppointmentEvent(
                by=front_desk,
                at=booked_at,
                action=AppointmentEvent.Action.BOOKED,
                to_status=Appointment.Status.BOOKED,
                details={**slot, "dose_number": visit.dose.dose_number, "dose": visit.dose.reason},
            )
        ]
        if visit.status == Appointment.Status.CANCELLED:
            cancelled_at = min(now - timedelta(minutes=30), booked_at + timedelta(days=rng.randint(1, 4)))
            events.append(
                AppointmentEvent(
                    by=front_desk,
                    at=cancelled_at,
                    action=AppointmentEvent.Action.CANCELLED,
                    from_status=Appointment.Status.BOOKED,
                    to_status=Appointment.Status.CANCELLED,
                    reason=visit.cancel_reason,
                    details=slot,
                )
            )
        elif visit.status == Appointment.Status.NO_SHOW:
            appointment.notes = "Did not attend; no answer on the phone."
            events.append(
                AppointmentEvent(
                    by=front_desk,
                    at=starts_at + timedelta(minutes=45),
                    action=AppointmentEvent.Action.STATUS,
                    from_status=Appointment.Status.BOOKED,
                    to_status=Appointment.Status.NO_SHOW,
                    reason="Did not attend; no answer on the phone.",
                    details={"at": (starts_at + timedelta(minutes=45)).isoformat()},
                )
            )
        else:
            # Given before today, or on today's roster: moved through the day's statuses.
            status, steps = _status_on_the_day(visit, story.book, now)
            appointment.status = status
            previous = Appointment.Status.BOOKED
            for step, moment in steps:
                setattr(appointment, STEP_FIELDS[step], moment)
                if step == Appointment.Status.COMPLETED and not appointment.infusion_ended_at:
                    appointment.infusion_ended_at = moment  # no observation after this infusion
                events.append(
                    AppointmentEvent(
                        by=front_desk if step == Appointment.Status.ARRIVED else nurse,
                        at=moment,
                        action=AppointmentEvent.Action.STATUS,
                        from_status=previous,
                        to_status=step,
                        details={"at": moment.isoformat()},
                    )
                )
                previous = step
            if visit.infusion_reaction and appointment.infusion_started_at:
                appointment.infusion_reaction = True
                appointment.serious_reaction = visit.serious_reaction
                appointment.reaction_note = SERIOUS_REACTION_NOTE if visit.serious_reaction else REACTION_NOTE
                noticed = appointment.infusion_started_at + timedelta(minutes=40)
                events.append(
                    AppointmentEvent(
                        by=nurse,
                        at=noticed,
                        action=AppointmentEvent.Action.REACTION,
                        from_status=Appointment.Status.INFUSING,
                        to_status=Appointment.Status.INFUSING,
                        reason=appointment.reaction_note,
                        details={"serious": visit.serious_reaction, "at": noticed.isoformat()},
                    )
                )
        rows.append((appointment, events))
    _write(rows)
    # The reminder outbox follows the bookings, as it does after every booking change.
    for appointment, _events in rows:
        if appointment.status in (Appointment.Status.BOOKED, Appointment.Status.NO_SHOW):
            appointment_reminders_sync(appointment=appointment)
    return len(rows)


STEP_FIELDS = {
    Appointment.Status.ARRIVED: "arrived_at",
    Appointment.Status.IN_CHAIR: "in_chair_at",
    Appointment.Status.INFUSING: "infusion_started_at",
    Appointment.Status.OBSERVATION: "infusion_ended_at",
    Appointment.Status.COMPLETED: "completed_at",
}


def _write(rows: list[tuple[Appointment, list[AppointmentEvent]]]) -> None:
    """Insert the appointments and their history; keep the historical times auto_now_add would replace."""
    appointments = [appointment for appointment, _events in rows]
    booked_at = [appointment.created_at for appointment in appointments]
    Appointment.objects.bulk_create(appointments)
    for appointment, moment in zip(appointments, booked_at, strict=True):
        appointment.created_at = moment
    Appointment.objects.bulk_update(appointments, ["created_at"])
    events = []
    for appointment, appointment_events in rows:
        for event in appointment_events:
            event.appointment = appointment
            events.append(event)
    moments = [event.at for event in events]
    AppointmentEvent.objects.bulk_create(events)
    for event, moment in zip(events, moments, strict=True):
        event.at = moment
    AppointmentEvent.objects.bulk_update(events, ["at"])
