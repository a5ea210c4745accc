"""The answer form a patient fills in from a message link: the purpose, and a note where it helps."""

from __future__ import annotations

from django import forms

from scheduling.answers.services import NOTE_MAX_LENGTH
from scheduling.models import AnswerLink


class AnswerForm(forms.Form):
    purpose = forms.ChoiceField(choices=AnswerLink.Purpose.choices, widget=forms.HiddenInput)
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": f"Write at most {NOTE_MAX_LENGTH} characters; the clinic will call you for the rest."
        },
    )

    def __init__(self, *args, purpose: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("purpose", purpose)
        if purpose == AnswerLink.Purpose.CANCEL:
            self.fields["note"].label = "Why are you cancelling? (optional)"
        elif purpose == AnswerLink.Purpose.OTHER_TIME:
            self.fields["note"].label = "Which days or times suit you better? (optional)"
        else:
            del self.fields["note"]
