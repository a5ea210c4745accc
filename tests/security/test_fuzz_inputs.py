"""Nothing a person types or a URL carries makes Chairside answer 500, or leaves a half-written row.

For every page in tests/test_url_access.py's table and every role, hypothesis sends generated
values to each query parameter the page reads and each field of the forms it shows: text with
characters such as '²', numbers far past any id (10**20), dates at the calendar's edges
(0001-01-01, 9999-12-31), very long strings and empty ones. Every answer must be a page, a
redirect or a refusal (4xx), never a server error; afterwards every appointment has its
"booked" event, sits in a chair of its own clinic, and no series was booked in part.
"""

from __future__ import annotations

from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import Chair, Regimen
from clinic.roles import MANAGER, NURSE
from patients.models import TreatmentCourse
from scheduling.booking.services import series_doses
from scheduling.models import Appointment, AppointmentEvent, NurseAssignment
from tests.test_url_access import IDS, PAGES, ROLES, URL_ACCESS

# The query parameters each page reads (form fields are found in the page itself, below).
QUERY_PARAMETERS: dict[str, tuple[str, ...]] = {
    "patients:list": ("page",),
    "scheduling:worklist": ("clinic", "drug", "status", "weeks", "page"),
    "scheduling:book": ("start", "end", "dose"),
    "scheduling:book_confirm": ("chair", "starts_at", "series"),
    "scheduling:availability_json": ("course", "from", "to", "dose", "limit"),
    "scheduling:reschedule": ("chair", "starts_at", "start", "end", "dose"),
    "scheduling:week": ("clinic", "start", "course", "highlight"),
    "scheduling:roster": ("clinic", "day"),
}
# Sent to every page as well: a page must ignore what it does not read.
ALWAYS = ("page", "day", "clinic", "course")

EDGE_VALUES = (
    "",
    " ",
    "0",
    "-1",
    "²",
    "١٢",
    "1e400",
    "NaN",
    str(10**20),
    str(2**63),
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
    "2027-02-30",
    "x" * 10_000,
    "<script>alert(1)</script>",
    "on",
)
BROWSER_SAFE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
NASTY = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.text(BROWSER_SAFE, max_size=30),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
)

pytestmark = pytest.mark.django_db


class _FormFields(HTMLParser):
    """The names of the fields in a page's forms, and whether one of them posts."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()
        self.posts = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("input", "select", "textarea") and values.get("name"):
            self.names.add(values["name"])
        if tag == "form" and (values.get("method") or "").lower() == "post":
            self.posts = True


def form_fields(html: str) -> tuple[set[str], bool]:
    parser = _FormFields()
    parser.feed(html)
    return parser.names - {"csrfmiddlewaretoken"}, parser.posts


def _sensible(world) -> dict[str, list[str]]:
    """Values that reach deep into a view (a real chair, a real clinic), mixed in with the nasty ones."""
    clinic = world["clinic"]
    tomorrow = timezone.now() + timedelta(days=8)
    return {
        "chair": [str(pk) for pk in Chair.objects.values_list("pk", flat=True)],
        "clinic": [str(clinic.pk), str(world["other_clinic"].pk)],
        "course": [str(world["course"].pk), str(world["lemtrada"].pk)],
        "regimen": [str(pk) for pk in Regimen.objects.values_list("pk", flat=True)[:3]],
        "starts_at": [tomorrow.replace(hour=9, minute=0, second=0, microsecond=0).isoformat()],
        "series": ["on"],
        "status": ["paused", "stopped", "arrived", "in_chair"],
    }


def _values(names, sensible) -> st.SearchStrategy[dict[str, str]]:
    """Either one edge value in every field at once, or each field its own value (nasty or sensible)."""
    names = sorted(names)
    mixed = st.fixed_dictionaries(
        {name: st.one_of(NASTY, st.sampled_from(sensible.get(name) or [""])) for name in names}
    )
    same_edge = st.sampled_from(EDGE_VALUES).map(lambda value: dict.fromkeys(names, value))
    return st.one_of(same_edge, mixed)


FUZZED_PAGES = [page for page in PAGES if not page.is_admin and page.name in URL_ACCESS and page.name != "logout"]
UNSUBSCRIBE = "scheduling:reminders_unsubscribe"


def _field_names(users, url: str) -> set[str]:
    """The form fields the page shows to the role that sees most of it."""
    client = Client()
    client.force_login(users[MANAGER])
    response = client.get(url)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return set()
    return form_fields(response.content.decode())[0]


def _series_sizes(world) -> dict[int, int]:
    lemtrada = TreatmentCourse.objects.get(pk=world["lemtrada"].pk)
    return {lemtrada.pk: len(series_doses(lemtrada))}


def _active(course_pk: int) -> int:
    return Appointment.objects.filter(course_id=course_pk).exclude(status=Appointment.Status.CANCELLED).count()


def _check(response, what):
    assert response.status_code < 500, (what, response.status_code)


@pytest.mark.parametrize("page", FUZZED_PAGES, ids=lambda page: page.key)
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_value_in_any_field_or_parameter_makes_a_page_fail(world, page, data):
    client = Client()
    names = _field_names(world["users"], page.url) | set(QUERY_PARAMETERS.get(page.name, ())) | set(ALWAYS)
    sensible = _sensible(world)
    role = data.draw(st.sampled_from(ROLES), label="role")
    values = data.draw(_values(names, sensible), label="values")
    client.force_login(world["users"][role])
    lemtrada = world["lemtrada"].pk
    sizes, before = _series_sizes(world), _active(lemtrada)

    # The same values as a query string and as a form, by a browser and by htmx.
    _check(client.get(page.url, values), (page.key, role, "GET"))
    _check(client.post(page.url, values), (page.key, role, "POST"))
    _check(client.post(page.url, values, headers={"HX-Request": "true"}), (page.key, role, "POST htmx"))

    booked = _active(lemtrada) - before
    # A series is booked whole or not at all; one dose alone is a single booking.
    assert booked in {0, 1, sizes[lemtrada]}, (page.key, values, booked)
    _no_half_written_rows()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.sampled_from(EDGE_VALUES[1:]), st.text(BROWSER_SAFE, min_size=1, max_size=80)))
def test_no_unsubscribe_token_makes_the_unsubscribe_page_fail(world, token):
    token = token.replace("/", "_").strip() or "x"
    url = reverse(UNSUBSCRIBE, args=[token])
    for method in (Client().get, Client().post):
        _check(method(url), (UNSUBSCRIBE, token))


def test_edited_chair_and_nurse_ids_in_the_nurse_assignments_are_refused_without_a_failure(world):
    """The nurse-assignment form's chair-<id> fields: ids with '²', huge ids, another clinic's chair."""
    client = Client()
    client.force_login(world["users"][MANAGER])
    other_chair = world["other_clinic"].chairs.first()
    day = timezone.localdate(timezone=world["clinic"].tz).isoformat()
    nurse = world["users"][NURSE]
    for key, value in (
        ("chair-²", str(nurse.pk)),
        (f"chair-{10**20}", str(nurse.pk)),
        (f"chair-{other_chair.pk}", "²"),
        (f"chair-{other_chair.pk}", str(10**20)),
        (f"chair-{other_chair.pk}", str(nurse.pk)),
    ):
        response = client.post(
            reverse("scheduling:roster_nurse_assignments"), {"clinic": world["clinic"].pk, "day": day, key: value}
        )
        _check(response, key)
    assert not NurseAssignment.objects.filter(chair=other_chair).exists()


def _no_half_written_rows():
    without_history = Appointment.objects.exclude(events__action=AppointmentEvent.Action.BOOKED)
    assert not without_history.exists(), list(without_history.values("pk", "course_id", "dose_number"))
    elsewhere = Appointment.objects.exclude(chair__clinic=F("clinic"))
    assert not elsewhere.exists(), list(elsewhere.values("pk", "clinic_id", "chair_id"))


def test_the_fuzzed_pages_cover_the_access_table():
    assert {page.name for page in FUZZED_PAGES} == set(URL_ACCESS) - {"logout"}


@pytest.mark.parametrize(
    ("name", "args", "query"),
    [
        ("scheduling:roster", [], {"day": "9999-12-31"}),
        ("scheduling:roster", [], {"day": "0001-01-01"}),
        ("scheduling:week", [], {"start": "9999-12-31"}),
        ("scheduling:week", [], {"start": "0001-01-01", "highlight": "²", "course": "²"}),
        ("scheduling:week", [], {"course": str(10**20), "highlight": str(10**20), "clinic": str(10**20)}),
        ("scheduling:book", [IDS["course_id"]], {"start": "9999-12-31", "end": "9999-12-31"}),
        ("scheduling:book", [IDS["course_id"]], {"start": "0001-01-01", "dose": str(10**20)}),
        ("scheduling:book_confirm", [IDS["course_id"]], {"chair": "1", "starts_at": "9999-12-31T23:59:59"}),
        ("scheduling:book_confirm", [IDS["course_id"]], {"chair": "²", "starts_at": "0001-01-01T00:00:00"}),
        ("scheduling:reschedule", [IDS["pk"]], {"chair": "1", "starts_at": "9999-12-31T23:00:00"}),
        ("scheduling:availability_json", [], {"course": "²"}),
        ("scheduling:availability_json", [], {"course": str(10**20)}),
        ("scheduling:availability_json", [], {"course": IDS["course_id"], "from": "9999-12-31", "to": "9999-12-31"}),
        ("scheduling:availability_json", [], {"course": IDS["course_id"], "limit": "²", "dose": str(10**20)}),
        ("scheduling:worklist", [], {"page": str(10**20), "weeks": str(10**20)}),
    ],
)
def test_the_values_that_broke_pages_are_refused_or_clamped(world, name, args, query):
    client = Client()
    client.force_login(world["users"][MANAGER])
    response = client.get(reverse(name, args=args), query)
    assert response.status_code in (200, 302, 400, 404, 409), response.status_code
    if name == "scheduling:availability_json" and response.status_code == 400:
        assert response.json()["error"].endswith(".")  # a sentence that says what to send instead
