"""The roster's forms: what a nurse records about a visit."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from django import forms

from scheduling.models.reactions import Action, Grade, Outcome, Symptom


class ReactionForm(forms.Form):
    """One infusion reaction, structured: onset, grade, symptoms, what was done, the outcome.

    Ids are prefixed with the visit (`reaction-<pk>-<field>`), so several forms can sit on one roster.
    """

    onset = forms.TimeField(
        label="Began at",
        widget=forms.TimeInput(attrs={"type": "time", "class": "form-control form-control-sm"}, format="%H:%M"),
        error_messages={
            "required": "Enter when the reaction began (the clinic's time).",
            "invalid": "The onset time could not be read. Enter it as HH:MM.",
        },
    )
    grade = forms.TypedChoiceField(
        label="Grade (CTCAE)",
        choices=[("", "Choose…"), *Grade.choices],
        coerce=int,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
        error_messages={"required": "Choose the reaction's grade, 1 to 5 (CTCAE)."},
    )
    symptoms = forms.MultipleChoiceField(
        label="Symptoms",
        choices=Symptom.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Tick at least one symptom, or Other and describe it."},
    )
    other_symptom = forms.CharField(
        label="Other symptom",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    actions = forms.MultipleChoiceField(
        label="What was done", choices=Action.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=[("", "Choose…"), *Outcome.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
        error_messages={"required": "Choose the outcome: resolved, ongoing, transferred to hospital or died."},
    )
    serious = forms.BooleanField(label="Serious reaction", required=False)
    hypersensitivity = forms.BooleanField(
        label="Looked like hypersensitivity (hives, swelling, wheeze, anaphylaxis) or cannot be ruled out",
        required=False,
    )
    notes = forms.CharField(
        label="Notes",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
    )

    def __init__(self, *args, visit_pk: int, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"reaction-{visit_pk}-%s")
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if Symptom.OTHER in data.get("symptoms", []) and not data.get("other_symptom", "").strip():
            self.add_error("other_symptom", "Describe the other symptom, or untick Other.")
        return data

    def onset_at(self, day: date, tz: tzinfo) -> datetime:
        """The onset as an aware moment: the time entered, on the visit's day, on the clinic's clock."""
        return datetime.combine(day, self.cleaned_data["onset"], tzinfo=tz)

    @property
    def error_sentence(self) -> str:
        """Every problem in one line, for the roster's notice."""
        return " ".join(dict.fromkeys(message for errors in self.errors.values() for message in errors))
