"""The week view's form (GET): ids and a date only, each bounded so a URL cannot break the page."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from clinic import dates
from clinic.inputs import EARLIEST_DAY, BoundedDateField, IdField, latest_day


def _latest_day() -> date:
    return latest_day(timezone.localdate())


class WeekForm(forms.Form):
    clinic = IdField(required=False, widget=forms.HiddenInput)
    start = BoundedDateField(
        required=False,
        label="Week of",
        earliest=EARLIEST_DAY,
        latest=_latest_day,
        too_early=f"Choose a week from {dates.day(EARLIEST_DAY)} on. Check the year.",
        too_late="Choose a week at most five years ahead. Check the year.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    course = IdField(required=False, widget=forms.HiddenInput)
    highlight = IdField(required=False, widget=forms.HiddenInput)
