"""The course status form. It checks the shape of what was typed; the service checks the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from patients.forms import apply_errors
from patients.models import TreatmentCourse
from scheduling.courses.services import HALTING_STATUSES, check_status_reason


class CourseStatusForm(forms.Form):
    status = forms.ChoiceField(label="New status", widget=forms.RadioSelect, choices=())
    reason = forms.CharField(
        label="Why?",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed to pause or stop the course; kept in the history of each cancelled appointment.",
    )
    confirm = forms.BooleanField(
        label="Cancel the future appointments listed above and the course's dose reminders",
        required=False,
    )

    def __init__(self, *args, course: TreatmentCourse, **kwargs):
        super().__init__(*args, **kwargs)
        # Only a change is offered: the course's own status is not a choice.
        self.fields["status"].choices = [
            (value, label) for value, label in TreatmentCourse.Status.choices if value != course.status
        ]

    def clean(self):
        cleaned = super().clean()
        status = cleaned.get("status")
        if not status:
            return cleaned
        # The service's own check, here too so every problem shows on the first try.
        try:
            check_status_reason(status=status, reason=cleaned.get("reason", ""))
        except ValidationError as error:
            apply_errors(self, error)
        if status in HALTING_STATUSES and not cleaned.get("confirm"):
            self.add_error(
                "confirm",
                "Tick the box to confirm that the appointments listed above are cancelled.",
            )
        return cleaned
