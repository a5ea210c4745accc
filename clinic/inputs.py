"""Dates, numbers and phone numbers as a person or a URL sends them: parsed with bounds, never trusted.

Every value that reaches a query, a date computation or a stored row passes one of these
first, so nothing typed into a form or edited into a URL can raise past a view: a bad value
is refused with a sentence that says what to send instead (a 400 page, or a form error), or
clamped when the page has an obvious nearest answer. Digits are checked with `isdecimal()`
(`'²'.isdigit()` is true, but `int('²')` raises), and dates must lie inside a range Chairside
can compute with, far from the calendar's ends at year 1 and 9999.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from importlib import resources

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError

from clinic import dates

# The largest id a BigAutoField holds; a larger one in a URL names no row, it must not reach SQL.
MAX_ID = 2**63 - 1
# Nothing Chairside schedules or looks at lies before this day, or more than AHEAD after today.
EARLIEST_DAY = date(2000, 1, 1)
AHEAD = timedelta(days=5 * 366)
EARLIEST_BIRTH = date(1900, 1, 1)
DEFAULT_PHONE_REGION = "GB"
# Longest free text kept from a form: a note, a reason, a reaction. Past this it is not a note.
NOTE_MAX_LENGTH = 2000


class InputError(ValueError):
    """A value from a URL or a form that Chairside refuses; `message` says what to send instead."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def latest_day(today: date) -> date:
    """The last day a page may show or a date may be booked for: five years after `today`."""
    return today + AHEAD


def parse_int(value: str | None, *, low: int, high: int, name: str, default: int | None = None) -> int | None:
    """A whole number from `low` to `high` written in ASCII digits; empty gives `default`."""
    text = (value or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdecimal()) or len(text) > len(str(high)):
        raise InputError(f"The {name} must be a whole number, such as {low}.")
    number = int(text)
    if not low <= number <= high:
        raise InputError(f"The {name} must be between {low} and {high}.")
    return number


def parse_id(value: str | None, *, name: str) -> int | None:
    """A record's id from a URL, or None when it is not sent."""
    return parse_int(value, low=1, high=MAX_ID, name=name)


def clamp_int(value: str | None, *, low: int, high: int, default: int) -> int:
    """A whole number kept between `low` and `high`; anything unreadable gives `default`."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdecimal()):
        return default
    return max(low, min(high, int(text[:20])))


def parse_day(value: str | None, *, low: date, high: date, name: str = "date") -> date | None:
    """A day written YYYY-MM-DD from `low` to `high`; None when it is not sent."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise InputError(f"The {name} could not be read. Write it as YYYY-MM-DD, for example {high:%Y}-03-01.")
    if not low <= day <= high:
        raise InputError(f"The {name} must lie between {dates.day(low)} and {dates.day(high)}.")
    return day


class BoundedDateField(forms.DateField):
    """A date field that refuses days outside `earliest` and `latest` (a date, or a callable giving one)."""

    def __init__(self, *, earliest=EARLIEST_DAY, latest=None, too_early: str = "", too_late: str = "", **kwargs):
        super().__init__(**kwargs)
        self.earliest, self.latest = earliest, latest
        self.too_early, self.too_late = too_early, too_late

    @staticmethod
    def _bound(value):
        return value() if callable(value) else value

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        earliest, latest = self._bound(self.earliest), self._bound(self.latest)
        if earliest is not None and value < earliest:
            raise ValidationError(
                self.too_early or f"Choose a date on or after {dates.day(earliest)}.", code="too_early"
            )
        if latest is not None and value > latest:
            raise ValidationError(self.too_late or f"Choose a date on or before {dates.day(latest)}.", code="too_late")


class IdField(forms.IntegerField):
    """A record's id from a hidden field or a URL: a whole number a database id can hold."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not value.strip().isdecimal():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


# --- Phone numbers ------------------------------------------------------------------------------


@functools.cache
def _countries_by_time_zone() -> dict[str, str]:
    """IANA zone name -> ISO 3166 country code, from the tz database's own zone.tab."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    countries = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            countries[parts[2]] = parts[0]
    return countries


def country_for_time_zone(time_zone: str) -> str:
    """The ISO 3166 country a time zone lies in, or "" for zones of no one country (UTC)."""
    return _countries_by_time_zone().get(time_zone, "")


def phone_region_for_time_zone(time_zone: str) -> str:
    """The country whose numbers a clinic's staff type without +: the one its time zone lies in."""
    return _countries_by_time_zone().get(time_zone, DEFAULT_PHONE_REGION)


def phone_e164(value: str, *, region: str) -> str:
    """`value` as an E.164 number (+442079460321); a national number is read in `region`.

    Raises ValidationError with the sentence the front desk reads when it is not a phone number.
    Accepts numbers of a possible length for their country, so new and fictional ranges pass.
    """
    text = value.strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise ValidationError(
            "This is not a phone number Chairside can dial. Write it with its area code, "
            "e.g. 020 7946 0321, or with the country code, e.g. +1 212 555 0147.",
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
