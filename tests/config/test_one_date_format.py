"""Chairside writes a date one way ("1 Apr 2027", "Thu 1 Apr 2027"), on every page and in every sentence."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse

from clinic import dates, dosing
from clinic.inputs import InputError, parse_day
from clinic.roles import FRONT_DESK
from tests.helpers import make_clinic, make_course, make_staff

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("accounts", "audit", "clinic", "config", "patients", "scheduling")
# Machine formats (an <input type="date"> value, a data attribute) and a weekday's name alone.
MACHINE_OR_WEEKDAY = {"Y-m-d", "c", "l"}
ZERO_PADDED_DAY = re.compile(r"\b0\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")


def test_the_formats_leave_no_leading_zero_and_name_the_weekday_short():
    day = date(2027, 4, 1)

    assert dates.day(day) == "1 Apr 2027"
    assert dates.weekday_day(day) == "Thu 1 Apr 2027"
    assert dates.day_month(day) == "1 Apr"
    assert dates.weekday_moment(datetime(2027, 4, 1, 9, 5)) == "Thu 1 Apr 2027, 09:05"
    assert dates.weekday_day_at(datetime(2027, 4, 1, 9, 5)) == "Thu 1 Apr 2027 at 09:05"


def test_the_dosing_rules_write_a_day_exactly_as_every_page_does():
    """clinic.dosing stays free of Django, so it keeps its own writer: it must never drift."""
    start = date(2027, 1, 1)
    for day in [start + timedelta(days=offset) for offset in range(366)] + [date(1, 1, 2), date(9999, 12, 31)]:
        assert dosing.format_day(day) == dates.day(day)


def test_only_the_dosing_rules_use_their_own_day_writer():
    stray = []
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "dosing.py" or "migrations" in path.parts:
                continue
            if "format_day" in path.read_text(encoding="utf-8"):
                stray.append(str(path.relative_to(ROOT)))
    assert not stray, "Write dates with clinic.dates (day, weekday_day_at ...): " + ", ".join(stray)


def test_templates_write_dates_only_through_the_date_filters():
    stray = []
    for path in (ROOT / "templates").rglob("*.*"):
        for found in re.findall(r"\|date:[\"']([^\"']*)[\"']", path.read_text(encoding="utf-8")):
            if found not in MACHINE_OR_WEEKDAY:
                stray.append(f"{path.relative_to(ROOT)}: {found}")
    assert not stray, "Use {% load dates %} and |day, |weekday_day, |moment ...: " + "; ".join(stray)


def test_code_writes_dates_only_through_clinic_dates():
    pattern = re.compile(r"%-?d %b|%a %-?d|%A %-?d|%B|\"j M Y|'j M Y|\"l j F")
    stray = []
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "dates.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if pattern.search(line):
                    stray.append(f"{path.relative_to(ROOT)}:{number}")
    assert not stray, "Write dates with clinic.dates: " + ", ".join(stray)


def test_a_refused_date_is_answered_in_the_same_format():
    with pytest.raises(InputError) as refused:
        parse_day("1999-12-31", low=date(2000, 1, 1), high=date(2031, 4, 1))

    assert str(refused.value) == "The date must lie between 1 Jan 2000 and 1 Apr 2031."


@pytest.mark.django_db
def test_the_patient_page_shows_early_days_of_the_month_without_a_leading_zero(client):
    clinic = make_clinic("London Centre")
    course = make_course(clinic, "tysabri", start=date(2027, 4, 1), authorization_expires_on=date(2027, 10, 3))
    course.authorization_number = "TA-7"
    course.save(update_fields=["authorization_number"])
    client.force_login(make_staff("desk", FRONT_DESK, clinic))

    page = client.get(reverse("patients:detail", args=[course.patient_id])).content.decode()

    assert "Started 1 Apr 2027" in page
    assert "expires 3 Oct 2027" in page
    assert not ZERO_PADDED_DAY.search(page)
