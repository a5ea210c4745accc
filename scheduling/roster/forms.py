"""The roster's forms: what a nurse types about a visit."""

from __future__ import annotations

from django import forms


class ReactionForm(forms.Form):
    note = forms.CharField(
        label="What happened and what was done",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Describe the reaction: what happened and what was done."},
    )
    serious = forms.BooleanField(label="Serious reaction", required=False)
