"""Chairside's one way of writing a date: "1 Dec 2026", with the weekday where it helps.

One order (day, month, year) and no leading zeros. Staff pages abbreviate; a message to a
patient writes the date out, as a letter would ("Thursday 1 April 2027"). Every page, message
and refusal writes dates through these functions (templates through the `dates` filters), so a
date never appears as "01 Apr 2027" in one place and "1 Dec 2026" in another. The formats are Django's, so the month and weekday names follow the active language.

Staff pages are English. A patient's message is rendered in the patient's language
(`translation.override`), and the two formats written for patients follow it too: each
language's catalogue gives its own order ("jueves, 1 de abril de 2027"), with the English
one as the source.
Times of day are always 24-hour ("09:30"). A datetime is written as given: convert it to the
clinic's time zone first.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils.formats import date_format
from django.utils.translation import pgettext

DAY = "j M Y"  # 1 Dec 2026
WEEKDAY_DAY = "D j M Y"  # Tue 1 Dec 2026
DAY_MONTH = "j M"  # 1 Dec: only where the year is already on the page
WEEKDAY_DAY_MONTH = "D j M"  # Tue 1 Dec
MOMENT = "j M Y, H:i"  # 1 Dec 2026, 09:30
WEEKDAY_MOMENT = "D j M Y, H:i"  # Tue 1 Dec 2026, 09:30
WEEKDAY_DAY_AT = r"D j M Y \a\t H:i"  # Tue 1 Dec 2026 at 09:30: inside a sentence
# Messages to patients: each language's catalogue gives its own form (the English one is the
# msgid in `written_out` and `text_moment`, the same as these).
WRITTEN_OUT = "l j F Y"  # Tuesday 1 December 2026
TEXT_MOMENT = "D j M H:i"  # Tue 1 Dec 09:30: a text message, where room is short


def day(value: date) -> str:
    return date_format(value, DAY)


def weekday_day(value: date) -> str:
    return date_format(value, WEEKDAY_DAY)


def day_month(value: date) -> str:
    return date_format(value, DAY_MONTH)


def weekday_day_month(value: date) -> str:
    return date_format(value, WEEKDAY_DAY_MONTH)


def moment(value: datetime) -> str:
    return date_format(value, MOMENT)


def weekday_moment(value: datetime) -> str:
    return date_format(value, WEEKDAY_MOMENT)


def weekday_day_at(value: datetime) -> str:
    return date_format(value, WEEKDAY_DAY_AT)


def written_out(value: date) -> str:
    """The date as a letter to the patient writes it, in the active language: Thursday 1 April 2027."""
    # Translators: a Django date format (https://docs.djangoproject.com/en/stable/ref/templates/builtins/#date)
    # for a date written out in a letter; backslash a letter that is meant literally.
    return date_format(value, pgettext("date format, written out", "l j F Y"))


def text_moment(value: datetime) -> str:
    """A moment the way a text message to the patient gives it, in the active language: Thu 1 Apr 09:30."""
    # Translators: a Django date format for a day and time in a text message, kept short.
    return date_format(value, pgettext("date format, text message", "D j M H:i"))
