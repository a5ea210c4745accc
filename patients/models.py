"""Patients and their treatment courses."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from clinic.models import Clinic, Regimen, installation_language


class Patient(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        NONE = "none", "No reminders"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=40, help_text="Medical record number, unique within the clinic.")
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    reminder_consent = models.BooleanField(
        default=False, help_text="The patient agreed to receive appointment and dose reminders."
    )
    reminder_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    sms_consent = models.BooleanField(
        "text message reminders",
        default=False,
        help_text="The patient agreed to get appointment texts on their phone: confirmations, reminders and notices.",
    )
    wants_earlier_offers = models.BooleanField(
        "offers of an earlier time",
        default=False,
        help_text=(
            "The patient agreed to be asked, by their reminder email or text, whether they want an earlier "
            "time that became free; their booking only moves if they say yes."
        ),
    )
    unsubscribed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the patient turned email reminders off from an email link."
    )
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        default=installation_language,
        help_text="The language of the patient's emails, texts and answer pages (a new patient gets the clinic's).",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The credential in the link that stops text messages: random, short enough for a text,
    # made with the first text that carries it and kept, like the unsubscribe token.
    sms_stop_token = models.CharField(max_length=32, blank=True, default="", editable=False)
    # The credential in the patient's unsubscribe links: random, so a link names nobody, made
    # on the first reminder and kept, since a link in an old email must go on working.
    unsubscribe_token = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "mrn"], name="patient_mrn_unique_in_clinic"),
            models.UniqueConstraint(
                fields=["unsubscribe_token"],
                condition=~models.Q(unsubscribe_token=""),
                name="patient_unsubscribe_token_unique",
            ),
            models.UniqueConstraint(
                fields=["sms_stop_token"],
                condition=~models.Q(sms_stop_token=""),
                name="patient_sms_stop_token_unique",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "last_name", "first_name"])]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def wants_email_reminders(self) -> bool:
        return (
            self.reminder_consent
            and self.reminder_channel == self.Channel.EMAIL
            and bool(self.email)
            and self.unsubscribed_at is None
        )

    @property
    def wants_sms_reminders(self) -> bool:
        """Texts have their own consent, apart from the email choice; a patient may want both."""
        return self.sms_consent and bool(self.phone)

    def wants_reminders_by(self, channel: str) -> bool:
        """Whether the patient wants messages on `channel` ("email" or "sms") now."""
        if channel == "sms":
            return self.wants_sms_reminders
        return self.wants_email_reminders


class TreatmentCourse(models.Model):
    """One patient on one regimen from a start date (the target date of dose 1)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"

    # The statuses in which a course keeps the patient on its drug: one such course per drug,
    # and one per therapy class unless a clinic manager overrides it.
    HOLDING_STATUSES = (Status.ACTIVE, Status.PAUSED)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    regimen = models.ForeignKey(Regimen, on_delete=models.PROTECT, related_name="courses")
    start_date = models.DateField(help_text="Target date of the first dose.")
    options = models.JSONField(default=dict, blank=True, help_text="Course options the regimen offers.")
    authorization_number = models.CharField(max_length=60, blank=True)
    authorization_expires_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A second course of one therapy class at a time is a clinic manager's decision, kept here
    # (and so in the course's history) with who made it.
    exclusion_override_reason = models.TextField(
        "reason for two courses of one therapy class",
        blank=True,
        help_text="Why a clinic manager let this course run beside another of its therapy class.",
    )
    exclusion_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="two courses of one therapy class allowed by",
    )
    switched_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="switched_to",
        help_text="The course this one replaced when the patient was switched to another drug.",
    )
    stopped_on = models.DateField(null=True, blank=True, help_text="The day the course stopped, when switched.")

    class Meta:
        ordering = ["patient", "-start_date"]
        indexes = [models.Index(fields=["status", "regimen"])]
        permissions = [
            (
                "override_course_exclusion",
                "Can start a course beside another of its therapy class, with a reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} on {self.regimen}"

    def clean(self) -> None:
        if self.regimen_id and not self.regimen.active and self._state.adding:
            raise ValidationError({"regimen": "This regimen is not active. Choose an active regimen."})

    def option_enabled(self, key: str) -> bool:
        return bool(self.options.get(key))
