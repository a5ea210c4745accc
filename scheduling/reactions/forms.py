"""The form that clears a prescriber hold."""

from __future__ import annotations

from django import forms


class ReviewClearForm(forms.Form):
    note = forms.CharField(
        label="Prescriber's decision",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
        error_messages={"required": "Write the prescriber's decision in the note; it is kept with the reaction."},
    )
