"""Forms of the booking pages. Each keeps what the person typed when it is refused."""

from __future__ import annotations

from datetime import timedelta

from django import forms

from clinic.models import Chair, Clinic

MAX_SEARCH_DAYS = 62


class SlotSearchForm(forms.Form):
    """The days to search (GET): ids and dates only."""

    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    dose = forms.IntegerField(required=False, min_value=1, label="Dose number", widget=forms.HiddenInput)

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


class BookingForm(ChairSlotForm):
    series = forms.BooleanField(required=False, widget=forms.HiddenInput)
    override_reason = forms.CharField(
        required=False,
        label="Reason for booking before the earliest date",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only a clinic manager may book a dose early. The reason is kept with the appointment.",
    )

    def __init__(self, *args, can_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_override:
            del self.fields["override_reason"]


class RescheduleForm(ChairSlotForm):
    reason = forms.CharField(
        required=False, label="Why is it moved?", widget=forms.TextInput(attrs={"placeholder": "e.g. patient asked"})
    )
    override_reason = forms.CharField(
        required=False,
        label="Reason for moving before the earliest date",
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
