"""Shared fixtures: a fixed cast of clinics and staff, and the service gates.

Tests marked `postgres`, `redis` or `browser` need that real service. Locally they are
skipped when it is missing; in CI (CI=true) they fail instead, so a missing service can
never pass for a green run.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from urllib.parse import urlparse

import pytest
from django.db import connection

from clinic.models import Clinic
from clinic.roles import FRONT_DESK, MANAGER, NURSE

# The cast's builders live in tests/helpers.py; importable from here too.
from tests.helpers import DEMO_PASSWORD, ensure_formulary, make_clinic, make_staff

__all__ = ["DEMO_PASSWORD", "make_clinic", "make_staff"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(reason: str):
    if IN_CI:
        pytest.fail(f"Required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "")


def _redis_answers() -> bool:
    url = redis_url()
    if not url:
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(autouse=True)
def _service_gates(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("PostgreSQL is not configured: set DATABASE_URL=postgres://… to run this test.")
    if request.node.get_closest_marker("redis") and not _redis_answers():
        _missing("Redis does not answer: set REDIS_URL=redis://127.0.0.1:6379/0 to run this test.")
    if request.node.get_closest_marker("browser"):
        if not chromium_path():
            _missing("Chromium is not installed (apt-get install chromium chromium-driver).")
        try:
            import playwright  # noqa: F401
        except ImportError:
            _missing("Playwright is not installed.")


@pytest.fixture(autouse=True)
def _seeded_regimens(request):
    """Keep the formulary that migration 0003 seeds, even after a live-server test emptied the tables.

    Tests that need a real commit (transactional_db, live_server) end by flushing every table,
    which takes the seeded regimens with it; the role groups come back on their own (post_migrate).
    """
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in names or "live_server" in names or (marker and marker.kwargs.get("transaction")):
        request.getfixturevalue("transactional_db")
    elif "db" in names or marker:
        request.getfixturevalue("db")
    else:
        return
    ensure_formulary()


@pytest.fixture(autouse=True)
def _dose_states_agree(request, _seeded_regimens):
    """After every test that used the database: each course's stored next dose is what its visits say.

    Whatever path a test wrote by (services, the admin, a page, a factory), the stored state
    must have followed; `dosing_state --verify` runs the same check on a real database.
    """
    # Only where the database was set up before this fixture: one a test asks for later
    # (request.getfixturevalue) is already torn down when this runs.
    uses_database = bool({"db", "transactional_db"} & set(request.fixturenames))
    yield
    if not uses_database or request.node.get_closest_marker("stale_dose_states"):
        return
    if hasattr(request.node, "rep_call") and request.node.rep_call.failed:
        return  # the test's own failure says more
    from scheduling.doses import dose_states_verify

    differences = dose_states_verify()
    assert not differences, "Stored next doses differ from the visits: " + "; ".join(map(str, differences[:5]))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def clinic_a(db) -> Clinic:
    return make_clinic("Northside Infusion Centre")


@pytest.fixture
def clinic_b(db) -> Clinic:
    return make_clinic("Harbour Infusion Suite", time_zone="America/New_York", chairs=4)


@pytest.fixture
def front_desk(clinic_a):
    """Alice works the front desk of clinic A."""
    return make_staff("alice", FRONT_DESK, clinic_a, first_name="Alice")


@pytest.fixture
def nurse(clinic_a):
    """Nina is a nurse at clinic A."""
    return make_staff("nina", NURSE, clinic_a, first_name="Nina")


@pytest.fixture
def manager(clinic_a):
    """Max manages clinic A."""
    return make_staff("max", MANAGER, clinic_a, first_name="Max", is_staff=True)


@pytest.fixture
def staff_b(clinic_b):
    """Bob works the front desk of clinic B and must never see clinic A's patients."""
    return make_staff("bob", FRONT_DESK, clinic_b, first_name="Bob")


@pytest.fixture(autouse=True)
def _answer_rate_limits_of_this_test(settings, request):
    """Each test counts the answer links' openings afresh: its own key prefix in the "answers" cache.

    That cache is Redis when REDIS_URL is set, shared by every test of the run; a prefix keeps
    one test's tries from another's without flushing the database the Celery tests queue in.
    """
    settings.ANSWER_RATE_LIMIT_PREFIX = f"test-{os.getpid()}-{id(request.node)}-{time.monotonic_ns()}:"
