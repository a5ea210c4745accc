"""Forms for the patient pages. They check the shape of what was typed; the services check the rules."""

from __future__ import annotations

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from clinic import dates
from clinic.inputs import EARLIEST_BIRTH, EARLIEST_DAY, NOTE_MAX_LENGTH, BoundedDateField, latest_day, phone_e164
from clinic.models import Regimen
from patients.models import Patient, TreatmentCourse
from patients.services import check_mrn_free, patient_phone_region


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def apply_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it, else above the form."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class PatientSearchForm(forms.Form):
    """Search by name or MRN. Sent by POST so names and MRNs never appear in URLs or access logs."""

    q = forms.CharField(
        label="Name or MRN",
        max_length=120,
        required=False,
        error_messages={
            "max_length": "Type at most 120 characters: the start of a name or an MRN is enough.",
        },
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "placeholder": "e.g. Smith or MRN001"}),
    )
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False, widget=forms.HiddenInput)


def _latest_course_day() -> date:
    return latest_day(timezone.localdate())


def _course_date(**kwargs) -> BoundedDateField:
    """A course or authorization date: from 2000 to five years ahead, as anything Chairside plans."""
    return BoundedDateField(
        earliest=EARLIEST_DAY,
        latest=_latest_course_day,
        too_early=f"Choose a date on or after {dates.day(EARLIEST_DAY)}. Check the year.",
        too_late="Choose a date at most five years from today. Check the year.",
        widget=DateInput(),
        **kwargs,
    )


class PatientForm(forms.ModelForm):
    clinic = forms.ModelChoiceField(queryset=None, empty_label=None)
    date_of_birth = BoundedDateField(
        earliest=EARLIEST_BIRTH,
        too_early=f"Choose a date of birth on or after {dates.day(EARLIEST_BIRTH)}. Check the year.",
        widget=DateInput(),
    )
    notes = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = Patient
        fields = [
            "clinic",
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "email",
            "phone",
            "reminder_consent",
            "reminder_channel",
            "sms_consent",
            "language",
            "wants_earlier_offers",
            "notes",
        ]
        widgets = {
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        help_texts = {"phone": "With its area code; a number from another country starts with + and its code."}
        error_messages = {
            "email": {"invalid": "Enter an email address such as name@example.org, or leave the box empty."},
        }

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # A patient stays at the clinic that registered them.
            del self.fields["clinic"]
        else:
            self.fields["clinic"].queryset = clinics
            if clinics.count() == 1:
                self.fields["clinic"].initial = clinics.first()
                self.fields["language"].initial = clinics.first().language
        # Left out of a post (an older form, a script), the language stays as it was, or the clinic's.
        self.fields["language"].required = False

    def _clinic(self):
        if "clinic" in self.fields:
            return self.cleaned_data.get("clinic")
        return self.instance.clinic

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        clinic = self._clinic()
        # "Today" where the clinic is: just after midnight in New York it is still yesterday in London.
        today = timezone.localdate(timezone=clinic.tz) if clinic else timezone.localdate()
        if born and born > today:
            raise ValidationError("The date of birth is in the future. Check the year.")
        return born

    def clean_language(self):
        if self.cleaned_data.get("language"):
            return self.cleaned_data["language"]
        if self.instance.pk:
            return self.instance.language
        # The clinic is cleaned before the language (it comes first in the form); the service
        # gives the clinic's language for an empty one when no clinic was chosen either.
        clinic = self.cleaned_data.get("clinic")
        return clinic.language if clinic else ""

    def clean_phone(self):
        clinic = self._clinic()
        # Stored as E.164 (+442079460321) so reminders and exports read every clinic's numbers alike.
        return phone_e164(self.cleaned_data["phone"], region=patient_phone_region(clinic)) if clinic else ""

    def clean(self):
        cleaned = super().clean()
        clinic = self._clinic()
        if cleaned.get("sms_consent") and "phone" in cleaned and not cleaned.get("phone"):
            self.add_error("phone", "Text messages need a mobile number. Type one, or untick text message reminders.")
        mrn = cleaned.get("mrn")
        if clinic and mrn:
            # Checked here as well as in the services so the form says it in the same sentence
            # (and Django's generic "already exists" never shows); the services stay the rule.
            try:
                check_mrn_free(clinic=clinic, mrn=mrn, exclude_pk=self.instance.pk)
            except ValidationError as error:
                apply_errors(self, error)
        return cleaned


class RegimenChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Regimen) -> str:
        """The regimen's name, with the drug's generic name only when the name does not already say it."""
        generic = obj.drug.generic_name
        stem = generic.replace("-", " ").split()[0].lower() if generic else ""
        if not stem or stem in obj.name.lower():
            return obj.name
        return f"{obj.name} ({generic})"


class CourseForm(forms.ModelForm):
    """A course's regimen, dates, options and notes. A new course starts active; pausing or
    stopping it is done on its status page, which also cancels its future appointments."""

    regimen = RegimenChoiceField(
        queryset=Regimen.objects.none(),
        error_messages={
            "invalid_choice": "That regimen is not active, so no new course can start on it. Choose one from the list."
        },
    )
    options = forms.MultipleChoiceField(
        label="Course options", required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    start_date = _course_date(label="Start date (target date of dose 1)")
    authorization_expires_on = _course_date(label="Authorization expires on", required=False)
    notes = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    # Only for those who may give it (clinic managers), and shown once a course of the same
    # therapy class is in the way (`show_override`); what was typed stays in the form.
    exclusion_override_reason = forms.CharField(
        required=False,
        label="Reason for giving both courses at once",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only a clinic manager may start a second course of one therapy class. The reason is kept "
        "with the course and in its history.",
    )

    class Meta:
        model = TreatmentCourse
        fields = [
            "regimen",
            "start_date",
            "authorization_number",
            "authorization_expires_on",
            "notes",
        ]
        labels = {"authorization_number": "Programme authorization number"}

    def __init__(self, *args, can_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # Set by the page when the service asked for a manager's reason.
        self.override_offered = False
        if not can_override:
            del self.fields["exclusion_override_reason"]
        regimens = Regimen.objects.filter(active=True)
        if self.instance.pk:
            # A course already on a regimen that has since been retired can keep it.
            regimens = Regimen.objects.filter(active=True) | Regimen.objects.filter(pk=self.instance.regimen_id)
        self.fields["regimen"].queryset = regimens.select_related("drug").distinct()
        self.regimen = self._chosen_regimen()
        self.fields["options"].choices = self.regimen.option_choices() if self.regimen else []
        if self.instance.pk and not self.is_bound:
            self.initial["options"] = [key for key, on in (self.instance.options or {}).items() if on]

    def _chosen_regimen(self) -> Regimen | None:
        if self.is_bound:
            value = self.data.get(self.add_prefix("regimen"))
            try:
                return self.fields["regimen"].queryset.prefetch_related("phases").get(pk=value)
            except (Regimen.DoesNotExist, ValueError, TypeError):
                return None
        if self.instance.pk:
            return Regimen.objects.prefetch_related("phases").get(pk=self.instance.regimen_id)
        return None

    @property
    def show_override(self) -> bool:
        """The override box shows once a reason was typed, or once a refusal asked for one."""
        if "exclusion_override_reason" not in self.fields:
            return False
        return self.override_offered or bool(self.data.get(self.add_prefix("exclusion_override_reason"), "").strip())

    def clean(self):
        cleaned = super().clean()
        starts, expires = cleaned.get("start_date"), cleaned.get("authorization_expires_on")
        if expires and starts and expires < starts:
            self.add_error("authorization_expires_on", "The authorization expires before the course starts.")
        return cleaned


class ReviewClearForm(forms.Form):
    """Clears a course's prescriber hold after a grade 4 or 5 infusion reaction (on the patient's page)."""

    note = forms.CharField(
        label="Prescriber's decision",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
        error_messages={"required": "Write the prescriber's decision in the note; it is kept with the reaction."},
    )
