"""The week view's form (GET): ids and a date only."""

from __future__ import annotations

from django import forms


class WeekForm(forms.Form):
    clinic = forms.IntegerField(required=False, widget=forms.HiddenInput)
    start = forms.DateField(required=False, label="Week of", widget=forms.DateInput(attrs={"type": "date"}))
    course = forms.IntegerField(required=False, widget=forms.HiddenInput)
