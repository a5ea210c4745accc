"""The form of the reminder pages: which failed reminders a manager sends again."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from clinic.access import clinics_for_user
from clinic.models import Clinic

# Failed reminders are looked for this far back by default: past an outage's aftermath.
DEFAULT_DAYS_BACK = 7


class RetryFailedForm(forms.Form):
    """A clinic of the user's and a period of its local days, both days included."""

    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), empty_label=None)
    first_day = forms.DateField(label="Due from", widget=forms.DateInput(attrs={"type": "date"}))
    last_day = forms.DateField(label="Due until", widget=forms.DateInput(attrs={"type": "date"}))
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        clinics = clinics_for_user(user).order_by("name")
        self.fields["clinic"].queryset = clinics
        if not self.is_bound:
            clinic = clinics.first()
            today = timezone.localdate(timezone=clinic.tz) if clinic else timezone.localdate()
            self.initial.update(clinic=clinic, first_day=today - timedelta(days=DEFAULT_DAYS_BACK), last_day=today)

    def clean(self):
        data = super().clean()
        first_day, last_day = data.get("first_day"), data.get("last_day")
        if first_day and last_day and last_day < first_day:
            self.add_error("last_day", "The last day is before the first day. Swap the two dates.")
        return data
