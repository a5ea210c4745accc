"""Every URL in Chairside needs a login and the right role.

The test walks the whole URL configuration (django.urls.get_resolver, recursively) and
builds a real URL for every pattern. `URL_ACCESS` says which roles may open each named
page; a page that is not in the table fails `test_every_page_is_in_the_access_table`, so a
page added later cannot forget its access rule. The admin is for clinic managers only
(is_staff); only the login page and the health check are open to anonymous visitors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from clinic.models import Regimen, StaffProfile
from clinic.roles import FRONT_DESK, MANAGER, NURSE
from tests.factories import PatientFactory, TreatmentCourseFactory

NO_ROLE = "no role"
ROLES = (FRONT_DESK, NURSE, MANAGER, NO_ROLE)
STAFF = frozenset({FRONT_DESK, NURSE, MANAGER})
BOOKERS = frozenset({FRONT_DESK, MANAGER})

# Pages open without a login: logging in, the health check, and the links a patient follows
# from a message: unsubscribing, stopping texts, and answering (confirm, cancel, another time). Their token is
# the credential; tests/scheduling/answers checks them.
OPEN = {"login", "health", "scheduling:reminders_unsubscribe", "answers:answer", "feeds:calendar", "sms_stop:stop"}
# A calendar feed (feeds:calendar) is open too: its token is the credential; tests/scheduling/exchange checks it.

# Which roles may open each page. A user with no role may only see the home page (which tells
# them to ask their manager for one) and log out.
URL_ACCESS: dict[str, frozenset[str]] = {
    "home": frozenset(ROLES),
    # The records Chairside cannot plan from, for the manager to have corrected.
    "data_problems": frozenset({MANAGER}),
    "logout": frozenset(ROLES),
    "patients:list": STAFF,
    "patients:detail": STAFF,
    "patients:create": BOOKERS,
    "patients:edit": BOOKERS,
    "patients:course_create": BOOKERS,
    "patients:course_edit": BOOKERS,
    "patients:course_options": BOOKERS,
    # Read-only: who is due and not booked. Booking from it needs scheduling:book.
    "scheduling:worklist": STAFF,
    "scheduling:book": BOOKERS,
    "scheduling:book_confirm": BOOKERS,
    "scheduling:availability_json": BOOKERS,
    "scheduling:appointment": STAFF,
    "scheduling:reschedule": BOOKERS,
    "scheduling:cancel": BOOKERS,
    "scheduling:no_show": STAFF,
    "scheduling:week": STAFF,
    # Pausing or stopping a course needs the same permission as editing it.
    "scheduling:course_status": BOOKERS,
    "scheduling:course_switch": BOOKERS,
    "scheduling:roster": STAFF,
    # The day's roster on paper: whoever may open the roster.
    "scheduling:roster_print": STAFF,
    # The front desk marks arrivals and no-shows; nurses move the rest of the visit along.
    "scheduling:roster_visit_status": STAFF,
    # Taking back a status: whoever may press it (checked again per move).
    "scheduling:roster_visit_undo": STAFF,
    "scheduling:roster_visit_reaction": frozenset({NURSE, MANAGER}),
    # The checks before the needle: nurses tick them; only a manager overrides an expired authorization.
    "scheduling:roster_visit_check": frozenset({NURSE, MANAGER}),
    "scheduling:roster_visit_authorization_override": frozenset({MANAGER}),
    "scheduling:roster_nurse_assignments": frozenset({MANAGER}),
    # Clearing the prescriber hold a grade 4 or 5 infusion reaction puts on a course.
    "scheduling:reaction_hold_clear": frozenset({MANAGER}),
    "scheduling:reminders_failed": BOOKERS,
    # Taking a patient's cancellation or request for another time off the worklist's list.
    "scheduling:patient_answer_handled": BOOKERS,
    # Freed chair time and the earlier-time offers made for it: read-only, as the worklist.
    "scheduling:offers": STAFF,
    "scheduling:reminder_retry": frozenset({MANAGER}),
    "scheduling:reminders_retry_failed": frozenset({MANAGER}),
    # The manager's capacity pages and the list of authorizations about to expire.
    "scheduling:capacity_forecast": frozenset({MANAGER}),
    "scheduling:capacity_forecast_csv": frozenset({MANAGER}),
    "scheduling:capacity_utilisation": frozenset({MANAGER}),
    "scheduling:capacity_utilisation_csv": frozenset({MANAGER}),
    "scheduling:authorizations_expiring": frozenset({MANAGER}),
    # Levelling a day: the proposal and its confirmation move other people's visits.
    "scheduling:levelling_day": frozenset({MANAGER}),
    # Calendar feeds: managers make their clinics' roster feeds, nurses their own (checked per kind).
    "scheduling:feeds": frozenset({NURSE, MANAGER}),
    "scheduling:feed_revoke": frozenset({NURSE, MANAGER}),
    # Importing patients, courses and past doses, and exporting a clinic's data: managers only.
    "scheduling:import_patients": frozenset({MANAGER}),
    "scheduling:import_template": frozenset({MANAGER}),
    "scheduling:exports": frozenset({MANAGER}),
    "scheduling:export_csv": frozenset({MANAGER}),
    # Signing in: everyone signed in changes their own password and sets up two-step sign-in.
    "accounts:password_change": frozenset(ROLES),
    "accounts:password_change_done": frozenset(ROLES),
    "accounts:mfa": frozenset(ROLES),
    "accounts:mfa_setup": frozenset(ROLES),
    "accounts:mfa_verify": frozenset(ROLES),
    "accounts:recovery_codes_new": frozenset(ROLES),
    "accounts:keep_alive": frozenset(ROLES),
    # The staff page: managers look after their own clinics' staff.
    "accounts:staff": frozenset({MANAGER}),
    "accounts:staff_password": frozenset({MANAGER}),
    "accounts:staff_active": frozenset({MANAGER}),
    "accounts:staff_unlock": frozenset({MANAGER}),
    "accounts:staff_two_step_reset": frozenset({MANAGER}),
}

# Logging out ends at the login page by design.
LOGOUTS = {"logout", "admin:logout"}

# The admin ("Clinic settings") is for admin users only: managers.
ADMIN_ROLES = frozenset({MANAGER})


@dataclass(frozen=True)
class Page:
    pattern: str
    name: str | None
    url: str

    @property
    def is_admin(self) -> bool:
        return self.pattern.startswith("admin/")

    @property
    def key(self) -> str:
        return self.name or self.pattern

    def allowed(self) -> frozenset[str]:
        if self.is_admin:
            return ADMIN_ROLES
        return URL_ACCESS[self.name]


# Ids that exist in `world` below, so an allowed role gets the real page, not a 404.
IDS = {
    "patient_id": 900001,
    "course_id": 900002,
    "pk": 900003,
    "appointment_id": 900003,
    "reminder_id": 900004,
    "answer_id": 900005,
    "object_id": 1,
    "content_type_id": 1,
    "id": 1,
}
SAMPLES = {"url": "no-such-page/", "token": "not-a-real-token"}


def _sample(name: str, converter) -> str:
    if name in SAMPLES:
        return SAMPLES[name]
    if name in IDS:
        return str(IDS[name])
    if converter.regex in (r"[0-9]+",):
        return "1"
    raise AssertionError(f"Add a sample value for the URL parameter <{name}> to tests/test_url_access.py")


def _fill_route(route: str, converters: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda match: _sample(match.group(1), converters[match.group(1)]), route)


def _fill_regex(regex: str) -> str:
    def group(match):
        name, body = match.group(1), match.group(2)
        if name in SAMPLES:
            return SAMPLES[name]
        if name in IDS:
            return str(IDS[name])
        return body.split("|")[0]  # the first alternative, e.g. an app label

    text = re.sub(r"\(\?P<(\w+)>([^)]*)\)", group, regex)
    return text.lstrip("^").rstrip("$").replace("\\", "")


def walk(patterns=None, prefix: str = "", namespace: str | None = None):
    """Every URL pattern with its full route, namespaced name and a URL that resolves to it."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, prefix + _fill_piece(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            route = prefix + str(entry.pattern)
            yield Page(pattern=route, name=name, url="/" + prefix + _fill_piece(entry.pattern))


def _fill_piece(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _fill_route(str(pattern), pattern.converters)
    if isinstance(pattern, RegexPattern):
        return _fill_regex(str(pattern))
    raise AssertionError(f"Unknown URL pattern type {type(pattern)}")


# The FHIR API (/fhir/) signs its clients in with OAuth2 bearer tokens, never a staff login: a
# request without a token answers 401, a staff session changes nothing. `API_ACCESS` names the
# scope each operation needs (None: open, as FHIR's metadata and the OpenAPI description are, and
# the token endpoint, where the client's id and secret are the credential); tests/api checks the
# scopes and clinics themselves.
READ, BOOK = "read", "book"
API_ACCESS: dict[str, str | None] = {
    "fhir:token": None,
    "fhir:openapi-json": None,
    "fhir:metadata": None,
    "fhir:api-root": None,
    # Any other path under /fhir/: a 404 OperationOutcome.
    "fhir:unknown": None,
    "fhir:patient_read": READ,
    "fhir:patient_search": READ,
    "fhir:appointment_read": READ,
    "fhir:appointment_search": READ,
    "fhir:appointment_create": BOOK,
    # Cancelling: PUT or PATCH of the same URL as the read.
    "fhir:appointment_update": BOOK,
    "fhir:appointment_patch": BOOK,
    "fhir:slot_search": READ,
    "fhir:schedule_read": READ,
    "fhir:schedule_search": READ,
    "fhir:location_read": READ,
    "fhir:location_search": READ,
    "fhir:activity_definition_read": READ,
    "fhir:activity_definition_search": READ,
    "fhir:medication_administration_read": READ,
    "fhir:medication_administration_search": READ,
}
ALL_PAGES = list(walk())
API_PAGES = [page for page in ALL_PAGES if page.pattern.startswith("fhir/")]
PAGES = [page for page in ALL_PAGES if page.name not in OPEN and not page.pattern.startswith("fhir/")]


def test_every_api_operation_is_in_the_api_access_table():
    named = {page.name for page in API_PAGES}
    unnamed = sorted(page.pattern for page in API_PAGES if not page.name)
    assert not unnamed, f"Give these API URL patterns a name and an entry in API_ACCESS: {unnamed}"
    assert named == set(API_ACCESS), (
        f"API_ACCESS in tests/test_url_access.py: add {sorted(named - set(API_ACCESS))}, "
        f"remove {sorted(set(API_ACCESS) - named)}"
    )


@pytest.mark.parametrize("page", [page for page in API_PAGES if API_ACCESS.get(page.name)], ids=lambda p: p.key)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "staff session"])
def test_an_api_operation_without_a_token_answers_401_even_to_a_signed_in_manager(client, users, page, signed_in):
    if signed_in:
        client.force_login(users[MANAGER])
    for method in (client.get, client.post, client.put, client.patch):
        response = method(page.url, content_type="application/fhir+json")
        if response.status_code == 405:
            continue  # not this operation's method
        assert response.status_code == 401, (page, method, response.status_code)
        assert response.json()["resourceType"] == "OperationOutcome"
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("page", [page for page in API_PAGES if not API_ACCESS.get(page.name)], ids=lambda p: p.key)
def test_the_open_api_urls_need_no_login(client, world, page):
    response = client.post(page.url) if page.name == "fhir:token" else client.get(page.url)
    assert not _is_login_redirect(response)
    assert response.status_code in (200, 400, 401, 404), (page, response.status_code)


def test_every_page_is_in_the_access_table():
    named = {page.name for page in PAGES if not page.is_admin}
    unnamed = sorted(page.pattern for page in PAGES if not page.is_admin and not page.name)
    assert not unnamed, f"Give these URL patterns a name and an entry in URL_ACCESS: {unnamed}"
    missing = sorted(named - set(URL_ACCESS))
    assert not missing, (
        f"Add these pages to URL_ACCESS in tests/test_url_access.py with the roles that may open them: {missing}"
    )
    stale = sorted(set(URL_ACCESS) - named)
    assert not stale, f"URL_ACCESS lists pages that no longer exist: {stale}"


def test_every_built_url_resolves_to_its_own_pattern():
    for page in PAGES:
        match = resolve(urlparse(page.url).path)
        if page.name:
            assert match.view_name == page.name, page
        else:
            assert match.route == page.pattern, page


def test_the_walk_sees_the_app_and_the_admin():
    names = {page.name for page in PAGES}
    assert {"home", "patients:list", "patients:detail", "admin:index", "admin:clinic_regimen_change"} <= names


@pytest.fixture
def world(clinic_a):
    """Clinic A with one patient, a course and an appointment whose ids match IDS."""
    patient = PatientFactory(pk=IDS["patient_id"], clinic=clinic_a)
    course = TreatmentCourseFactory(pk=IDS["course_id"], patient=patient, regimen=Regimen.objects.get(code="ocrevus"))
    starts = timezone.now() + timedelta(days=3)
    patient.appointments.create(
        pk=IDS["pk"],
        clinic=clinic_a,
        chair=clinic_a.chairs.first(),
        course=course,
        dose_number=1,
        starts_at=starts,
        ends_at=starts + timedelta(hours=4),
        infusion_minutes=210,
        booked_by=_staff("fiona", FRONT_DESK, clinic_a),
    )
    return clinic_a


def _staff(username: str, role: str | None, clinic, **extra):
    """A member of staff without a password: force_login needs none, and hashing one per
    user per page would make this walk slow."""
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create(username=username, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=user).clinics.add(clinic)
    return user


@pytest.fixture
def users(world):
    return {
        FRONT_DESK: _staff("alice", FRONT_DESK, world),
        NURSE: _staff("nina", NURSE, world),
        MANAGER: _staff("max", MANAGER, world, is_staff=True),
        NO_ROLE: _staff("nobody", None, world),
    }


def _fetch(client, page: Page):
    """The page as its view expects it: GET, or an empty POST when the view only takes POST."""
    response = client.get(page.url)
    if response.status_code == 405:
        response = client.post(page.url)
    return response


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlparse(response["Location"]).path in LOGIN_PATHS


LOGIN_PATHS = {"/accounts/login/", "/admin/login/"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.key)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, world, page):
    for method in (client.get, client.post):
        response = method(page.url, follow=True)
        # The admin sends visitors to its own login URL first, which passes them on to Chairside's.
        assert response.redirect_chain, (page, method.__name__, response.status_code)
        assert urlparse(response.redirect_chain[-1][0]).path == "/accounts/login/", (page, response.redirect_chain)
        assert response.status_code == 200
        assert b"Log in to Chairside" in response.content


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.key)
def test_a_role_without_permission_gets_403_and_a_role_with_it_gets_in(client, users, page):
    for role in ROLES:
        client.force_login(users[role])
        response = _fetch(client, page)
        if role in page.allowed() and page.is_admin and page.name not in LOGOUTS:
            # Inside the admin, the model permissions decide (a manager edits the clinic's
            # settings but not the formulary or user accounts); tests/clinic checks those pages.
            assert not _is_login_redirect(response), (role, page)
        elif role in page.allowed() and page.name in LOGOUTS:
            assert response.status_code != 403, (role, page)
        elif role in page.allowed():
            assert response.status_code != 403, (role, page)
            assert not _is_login_redirect(response), (role, page)
        else:
            assert response.status_code == 403, (role, page, response.status_code)
        client.logout()
