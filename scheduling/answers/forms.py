"""The answer form a patient fills in from a message link: the purpose, and a note where it helps."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from scheduling.answers.services import NOTE_MAX_LENGTH
from scheduling.models import AnswerLink


class AnswerForm(forms.Form):
    purpose = forms.ChoiceField(choices=AnswerLink.Purpose.choices, widget=forms.HiddenInput)
    note = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": _("Write at most %(limit_value)d characters; the clinic will call you for the rest.")
        },
    )

    def __init__(self, *args, purpose: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("purpose", purpose)
        if purpose == AnswerLink.Purpose.CANCEL:
            self.fields["note"].label = _("Why are you cancelling? (optional)")
        elif purpose == AnswerLink.Purpose.OTHER_TIME:
            self.fields["note"].label = _("Which days or times suit you better? (optional)")
        else:
            del self.fields["note"]
