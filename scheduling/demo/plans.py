"""What the demo is made of: its two clinics, its staff, its patients' stories and its words.

Plain data only; `people` turns it into clinics, users and patients, `history` and
`bookings` into their visits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta

from clinic.models import Chair
from clinic.roles import FORMULARY, FRONT_DESK, MANAGER, NURSE

DEMO_PASSWORD = "chairside-demo"  # noqa: S105 - demo users only, written in the README
SEED = 2026
# Doses due within this many days are booked ahead (unless the story leaves them unbooked).
BOOKING_HORIZON_DAYS = 35
# A dose goes on the first day with room within this many days of the day it is wanted.
FIRST_FIT_DAYS = 21
# Chair times at least this long go to beds first; shorter ones to chairs first.
LONG_VISIT_MINUTES = 300
# Patients arrive this long before their chair time starts.
ARRIVAL_LEAD = timedelta(minutes=10)

# --- The clinics and the people ---------------------------------------------------------------


@dataclass(frozen=True)
class ClinicPlan:
    key: str
    name: str
    time_zone: str
    country: str  # ISO 3166 code: programme names and paper size
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
    # The demo's documented passwords sign straight in: two-step sign-in is not required of the
    # demo's managers (a real clinic requires it by default). Turn it on under Clinic settings.
    require_mfa_for_managers: bool = False


LONDON = ClinicPlan(
    key="london",
    name="Riverside Infusion Centre",
    time_zone="Europe/London",
    country="GB",
    address="Riverside Wing, St Olave's Hospital\n14 Embankment Road\nLondon SE1 7XY",
    phone="020 7946 0321",
    email="infusions@riverside.example.org",
    patients_per_nurse=4,
    starts_per_nurse=1,
    # A real centre's size: twelve chairs and four beds, four or five nurses on duty.
    chairs=(
        *((f"Chair {number}", Chair.Kind.CHAIR) for number in range(1, 13)),
        *((f"Bed {number}", Chair.Kind.BED) for number in range(1, 5)),
    ),
    hours={
        **{weekday: (time(8, 0), time(18, 0)) for weekday in range(5)},
        5: (time(9, 0), time(13, 0)),  # a shorter Saturday, for the short infusions
    },
    staffing={0: 5, 1: 5, 2: 5, 3: 5, 4: 5, 5: 4},
    closures=(("Christmas Day", 12, 25), ("Boxing Day", 12, 26), ("New Year's Day", 1, 1)),
    mrn_prefix="RIV",
    email_domain="example.org",
    phone_prefix="07700 900",
)

NEW_YORK = ClinicPlan(
    key="new-york",
    name="Hudson Infusion Suite",
    time_zone="America/New_York",
    country="US",
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
    # The organisation's formulary manager: drugs and regimens for every clinic, no clinic of
    # their own; asked to set up two-step sign-in at the first log-in, as every formulary manager is.
    UserPlan("formulary", FORMULARY, (), "Farah", "Haddad", is_staff=True),
    # Colleagues on the roster, so each day has as many nurses assigned as the staffing plan
    # has on duty. They have no password: nobody logs in as them.
    UserPlan("priya.shah", NURSE, ("london",), "Priya", "Shah", can_log_in=False),
    UserPlan("tom.evans", NURSE, ("london",), "Tom", "Evans", can_log_in=False),
    UserPlan("aisha.bello", NURSE, ("london",), "Aisha", "Bello", can_log_in=False),
    UserPlan("sean.murphy", NURSE, ("london",), "Sean", "Murphy", can_log_in=False),
    UserPlan("maria.lopez", NURSE, ("new-york",), "Maria", "Lopez", can_log_in=False),
)
# The nurses of each clinic in the order they fill the day's teams (the demo's nurse first).
NURSE_TEAMS = {
    "london": ("nurse", "priya.shah", "tom.evans", "aisha.bello", "sean.murphy"),
    "new-york": ("nurse-ny", "maria.lopez"),
}
# Nurse assignments are written for the days from a week ago to this many days ahead.
ASSIGNMENT_DAYS_AHEAD = 21

# One line per patient: regimen, course options, the story of the course, and what happens
# to it. Stories: "established" (on treatment for a while), "new" (dose 1 given in the last
# fortnight), "starting" (dose 1 due soon), and three Lemtrada stories. Flags: "unbooked"
# (due and not booked: the worklist), "overdue", "no_show", "reaction", "serious_reaction",
# "auth_soon" (programme authorization about to expire), "cancelled" (future booking
# cancelled, waiting to rebook), "moved" (booking cancelled and booked again), "no_reminders".
# "lemtrada_in_progress" is a course whose five consecutive days include today (or, when
# today cannot be one of them, begin on the next weekday that can).
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
        ("lemtrada", {}, "lemtrada_in_progress", frozenset()),
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
        ("tysabri", {}, "established", frozenset({"auth_soon"})),
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

# The demo's infusion reactions, as a nurse records them on the roster (scheduling.models.InfusionReaction).
MILD_REACTION = {
    "grade": 2,
    "symptoms": ["itching", "flushing"],
    "actions": ["rate_reduced", "medication_given"],
    "outcome": "resolved",
    "serious": False,
    "hypersensitivity": False,
    "notes": "40 minutes in; rate halved, settled with an antihistamine.",
}
SERIOUS_REACTION = {
    "grade": 3,
    "symptoms": ["throat_irritation", "shortness_of_breath"],
    "actions": ["stopped", "medication_given"],
    "outcome": "resolved",
    "serious": True,
    "hypersensitivity": True,
    "notes": "Treated per protocol, observed for 3 hours. Shorter infusions no longer allowed.",
}
CANCEL_REASONS = (
    "Patient unwell (chest infection); will call to rebook when better.",
    "Patient asked to move it: work commitment.",
    "Transport could not come that day.",
)
NO_SHOW_NOTE = "Did not attend; no answer on the phone."

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

# --- The rest of a working clinic -------------------------------------------------------------

# Besides the patients above, each clinic's days are filled with patients on established
# courses, as many as make the chairs as busy as a real centre's: the next two weeks (today
# included) to a share of the open chair time drawn per day from BOOKED_SHARE, and the last
# PAST_DAYS to one drawn from PAST_SHARE, for the utilisation figures.
BOOKED_SHARE = (0.74, 0.84)
PAST_SHARE = (0.6, 0.72)
FILL_DAYS_AHEAD = 14
PAST_DAYS = 42


@dataclass(frozen=True, eq=False)  # told apart by identity: the options are a dict
class FillKind:
    """A kind of patient the fill adds: regimen, course options, course age in days, how common."""

    regimen: str
    options: dict
    age_days: tuple[int, int]
    weight: int
    twice_yearly: bool = True  # given every six months: a visit in the past owes nothing soon


FILL_KINDS = (
    FillKind("ocrevus", {}, (200, 600), 8),
    FillKind("ocrevus", {"short_infusion": True}, (380, 800), 4),
    FillKind("rituximab", {}, (200, 600), 4),
    FillKind("briumvi", {}, (200, 600), 2),
    FillKind("ocrevus-zunovo", {}, (190, 600), 2),
    # Tysabri every four weeks: dose 3 to 11 (observed after each), or past its twelfth.
    FillKind("tysabri", {}, (60, 300), 3, twice_yearly=False),
    FillKind("tysabri", {}, (350, 560), 4, twice_yearly=False),
    FillKind("tysabri", {"extended_interval": True}, (380, 600), 1, twice_yearly=False),
    FillKind("tyruko", {}, (60, 280), 1, twice_yearly=False),
)
# Patients do not all arrive the same number of minutes before their chair time.
ARRIVAL_LEADS = (5, 10, 10, 15, 15, 20, 25)
OVERRUN_NOTE = "Infusion slowed after a rise in heart rate; running about an hour behind."
LATE_NOTE = "Called: stuck in traffic, on the way."

# Reminders whose sending failed, as a mail server refuses them (the manager's retry page).
FAILED_REMINDER_ERRORS = (
    "SMTP 550 5.1.1 <{email}>: Recipient address rejected: User unknown in virtual mailbox table",
    "SMTP 552 5.2.2 <{email}>: Mailbox full, try again later; gave up after 5 attempts",
    "SMTP 554 5.7.1 Message rejected: the recipient's server reported it as spam",
    "SMTP 421 4.7.0 Temporary System Problem. Try again later; gave up after 5 attempts",
    "Could not connect to the mail server (Connection refused); gave up after 5 attempts",
)
FAILED_REMINDERS = {"london": 5, "new-york": 2}

AUTHORIZATION_PREFIX = {"tysabri": "TOUCH", "tyruko": "TYRUKO", "lemtrada": "LEM"}
