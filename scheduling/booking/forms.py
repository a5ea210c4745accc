"""Forms of the booking pages. Each keeps what the person typed when it is refused."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic import dates
from clinic.inputs import EARLIEST_DAY, NOTE_MAX_LENGTH, BoundedDateField, latest_day
from clinic.models import Chair, Clinic

MAX_SEARCH_DAYS = 62
# No regimen comes near this many doses; a larger number in a URL is a mistake, not a dose.
MAX_DOSE_NUMBER = 1000


def _latest_day() -> date:
    return latest_day(timezone.localdate())


def _search_day(label: str) -> BoundedDateField:
    return BoundedDateField(
        required=False,
        label=label,
        earliest=EARLIEST_DAY,
        latest=_latest_day,
        too_early=f"Search from {dates.day(EARLIEST_DAY)} on. Check the year.",
        too_late="Search at most five years ahead. Check the year.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class SlotSearchForm(forms.Form):
    """The days to search (GET): ids and dates only."""

    start = _search_day("From")
    end = _search_day("To")
    dose = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_DOSE_NUMBER, label="Dose number", widget=forms.HiddenInput
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The last day is before the first day. Swap the two dates.")
            elif end - start > timedelta(days=MAX_SEARCH_DAYS):
                self.add_error("end", f"Search at most {MAX_SEARCH_DAYS} days at a time. Choose a closer last day.")
        return data


class ChairSlotForm(forms.Form):
    """A chosen (chair, start): the start is an ISO date-time in UTC, as the suggestions give it."""

    chair = forms.ModelChoiceField(queryset=Chair.objects.none(), empty_label=None)
    starts_at = forms.DateTimeField(widget=forms.HiddenInput)

    def __init__(self, *args, clinic: Clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["chair"].queryset = Chair.objects.filter(clinic=clinic, active=True)

    def clean_starts_at(self):
        starts_at = self.cleaned_data["starts_at"]
        # Far from the calendar's ends, so the chair time and the reminders can be computed.
        earliest = datetime.combine(EARLIEST_DAY, time(), tzinfo=self.clinic.tz)
        latest = datetime.combine(_latest_day(), time(), tzinfo=self.clinic.tz)
        if not earliest <= starts_at <= latest:
            raise ValidationError("This start time is outside the days Chairside books. Choose a slot from the list.")
        return starts_at


class BookingForm(ChairSlotForm):
    series = forms.BooleanField(required=False, widget=forms.HiddenInput)
    override_reason = forms.CharField(
        required=False,
        label="Reason for booking before the earliest date",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only a clinic manager may book a dose early. The reason is kept with the appointment.",
    )

    def __init__(self, *args, can_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_override:
            del self.fields["override_reason"]


class RescheduleForm(ChairSlotForm):
    reason = forms.CharField(
        required=False,
        label="Why is it moved?",
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. patient asked"}),
    )
    # Set by the "move the later doses with it" button.
    together = forms.BooleanField(required=False, widget=forms.HiddenInput)
    override_reason = forms.CharField(
        required=False,
        label="Reason for moving before the earliest date or against the spacing between doses",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, can_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_override:
            del self.fields["override_reason"]


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Why is it cancelled?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write why the appointment is cancelled; the reason is kept in its history."},
    )
    later_doses = forms.BooleanField(required=False, label="Cancel the later booked doses of this course too")
