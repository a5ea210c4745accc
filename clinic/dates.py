"""Chairside's one way of writing a date: "1 Dec 2026", with the weekday where it helps.

One order (day, month, year) and no leading zeros. Staff pages abbreviate; a message to a
patient writes the date out, as a letter would ("Thursday 1 April 2027"). Every page, message
and refusal writes dates through these functions (templates through the `dates` filters), so a
date never appears as "01 Apr 2027" in one place and "1 Dec 2026" in another. The formats are Django's, so the month and weekday names follow the active language.
Times of day are always 24-hour ("09:30"). A datetime is written as given: convert it to the
clinic's time zone first.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils.formats import date_format

DAY = "j M Y"  # 1 Dec 2026
WEEKDAY_DAY = "D j M Y"  # Tue 1 Dec 2026
DAY_MONTH = "j M"  # 1 Dec: only where the year is already on the page
WEEKDAY_DAY_MONTH = "D j M"  # Tue 1 Dec
MOMENT = "j M Y, H:i"  # 1 Dec 2026, 09:30
WEEKDAY_MOMENT = "D j M Y, H:i"  # Tue 1 Dec 2026, 09:30
WEEKDAY_DAY_AT = r"D j M Y \a\t H:i"  # Tue 1 Dec 2026 at 09:30: inside a sentence
WRITTEN_OUT = "l j F Y"  # Tuesday 1 December 2026: messages to patients


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
    return date_format(value, WRITTEN_OUT)
