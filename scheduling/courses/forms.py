"""The course status and switch forms. They check the shape of what was typed; the services check the rules."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic import dates
from clinic.inputs import EARLIEST_DAY, BoundedDateField, latest_day
from clinic.models import Regimen
from patients.forms import DateInput, RegimenChoiceField, apply_errors
from patients.models import TreatmentCourse
from scheduling.courses.services import HALTING_STATUSES, check_status_reason
from scheduling.doses import clinic_today


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


def _latest() -> date:
    return latest_day(timezone.localdate())


def _switch_date(**kwargs) -> BoundedDateField:
    """A switch date: from 2000 to five years ahead, as anything Chairside plans."""
    return BoundedDateField(
        earliest=EARLIEST_DAY,
        latest=_latest,
        too_early=f"Choose a date on or after {dates.day(EARLIEST_DAY)}. Check the year.",
        too_late="Choose a date at most five years from today. Check the year.",
        widget=DateInput(),
        **kwargs,
    )


class CourseSwitchForm(forms.Form):
    """Switch to another drug: which one, when the old course stops, when the new one starts, why.

    Sent twice: first to see what the switch will do, then with `confirm` to make it.
    """

    to_regimen = RegimenChoiceField(
        label="Switch to",
        queryset=Regimen.objects.none(),
        error_messages={"invalid_choice": "Choose a regimen from the list: only active regimens start new courses."},
    )
    stop_on = _switch_date(
        label="Stop the current course on", help_text="Today, or an earlier day such as its last dose."
    )
    start_on = _switch_date(
        label="Start the new course on",
        required=False,
        help_text="Leave empty for the earliest day the washout allows.",
    )
    reason = forms.CharField(
        label="Why is the patient switched?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Write why the patient is switched; the reason is kept in the history of the courses."
        },
    )
    # Sent by the switch button shown with the preview.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, course: TreatmentCourse, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_regimen"].queryset = (
            Regimen.objects.filter(active=True).exclude(drug_id=course.regimen.drug_id).select_related("drug")
        )
        if not self.is_bound:
            self.initial["stop_on"] = clinic_today(course.patient.clinic)
