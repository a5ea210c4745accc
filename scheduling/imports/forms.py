"""The import page's form: the clinic, the file, and whether to check it only."""

from __future__ import annotations

from django import forms

from clinic.access import clinics_for_user
from scheduling.imports.reading import MAX_BYTES


class ImportForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=None, empty_label=None)
    file = forms.FileField(
        label="File (.csv or .xlsx)", help_text="Use the template's columns; one row per dose given."
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics_for_user(user).order_by("name")
        self.fields["clinic"].widget.attrs["class"] = "form-select"
        self.fields["file"].widget.attrs.update({"class": "form-control", "accept": ".csv,.xlsx"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files."
            )
        return upload
