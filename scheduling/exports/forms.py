"""The export page's form: the clinic, what to export and the period."""

from __future__ import annotations

from django import forms

from clinic.access import clinics_for_user

SUBJECTS = {
    "appointments": "Appointments",
    "utilisation": "Utilisation (by week)",
    "audit": "Audit trail",
}
MAX_DAYS = 366


class ExportForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=None, empty_label=None)
    subject = forms.ChoiceField(choices=list(SUBJECTS.items()), label="What")
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (included)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics_for_user(user).order_by("name")
        for name, field in self.fields.items():
            field.widget.attrs["class"] = "form-select" if name in ("clinic", "subject") else "form-control"

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", "The last day is before the first day. Pick a later last day.")
        elif start and end and (end - start).days >= MAX_DAYS:
            self.add_error("end", f"Export at most {MAX_DAYS} days at once. Pick a shorter period.")
        return cleaned
