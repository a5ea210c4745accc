"""A patient's answers from the links in their messages: confirm, cancel, ask for another time."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from clinic.models import Clinic
from scheduling.models.appointments import Appointment
from scheduling.models.offers import SlotOffer


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
        TAKE_OFFER = "take_offer", "Take an earlier time"
        DECLINE_OFFER = "decline_offer", "Say no thanks to an earlier time"

    # The purposes of an earlier-time offer's links: they name the offer, not a visit.
    OFFER_PURPOSES = (Purpose.TAKE_OFFER, Purpose.DECLINE_OFFER)

    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="answer_links"
    )
    offer = models.ForeignKey(
        SlotOffer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="answer_links",
        help_text="The earlier-time offer a take or no-thanks link answers.",
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    token = models.CharField(max_length=32, unique=True, editable=False)
    starts_at = models.DateTimeField(help_text="The visit's start when the link was made; it acts only on that time.")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True, help_text="When the patient answered with it: once only.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "purpose", "starts_at"], name="answer_link_one_per_visit_time_purpose"
            ),
            models.UniqueConstraint(
                fields=["offer", "purpose"],
                condition=models.Q(offer__isnull=False),
                name="answer_link_one_per_offer_purpose",
            ),
            models.CheckConstraint(
                condition=models.Q(appointment__isnull=False) | models.Q(offer__isnull=False),
                name="answer_link_names_a_visit_or_an_offer",
            ),
        ]

    def __str__(self) -> str:
        if self.offer_id:
            return f"{self.get_purpose_display()} link for offer {self.offer_id}"
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
