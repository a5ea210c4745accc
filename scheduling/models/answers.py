"""A patient's answers from the links in their messages: confirm, cancel, ask for another time."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from clinic.models import Clinic
from scheduling.models.appointments import Appointment


class AnswerLink(models.Model):
    """One link in a patient's message: one appointment, one purpose, the time it was sent for, used once.

    The token is the whole credential (no login), random and short enough for a text message.
    A link names the visit's start it was made for: once the visit moves, the old links stop
    acting, and the messages about the new time carry new ones.
    """

    class Purpose(models.TextChoices):
        CONFIRM = "confirm", "Confirm attendance"
        CANCEL = "cancel", "Cancel"
        OTHER_TIME = "other_time", "Ask for another time"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="answer_links")
    purpose = models.CharField(max_length=12, choices=Purpose.choices)
    token = models.CharField(max_length=32, unique=True, editable=False)
    starts_at = models.DateTimeField(help_text="The visit's start when the link was made; it acts only on that time.")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True, help_text="When the patient answered with it: once only.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "purpose", "starts_at"], name="answer_link_one_per_visit_time_purpose"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} link for appointment {self.appointment_id}"


class PatientAnswer(models.Model):
    """What a patient answered from a message, for the roster and the front desk. Never deleted."""

    class Kind(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed attendance"
        CANCELLED = "cancelled", "Cancelled"
        OTHER_TIME = "other_time", "Asked for another time"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patient_answers")
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="patient_answers")
    link = models.OneToOneField(AnswerLink, on_delete=models.PROTECT, related_name="answer")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    note = models.TextField(blank=True, help_text="The patient's reason or wish, as typed.")
    starts_at = models.DateTimeField(help_text="The visit's start the answer was about.")
    at = models.DateTimeField(auto_now_add=True)
    ip_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="A keyed hash of the address it came from: tells repeats apart, names nobody.",
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["clinic", "at"], condition=models.Q(handled_at__isnull=True), name="answer_open")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for appointment {self.appointment_id}"
