"""The reminder outbox row: one message owed to a patient."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from clinic.models import Clinic
from patients.models import Patient, TreatmentCourse
from scheduling.models.appointments import Appointment


class Reminder(models.Model):
    """One message owed to a patient: the outbox row is the record, Redis only carries work."""

    class Kind(models.TextChoices):
        APPOINTMENT_UPCOMING = "appointment_upcoming", "Appointment coming up"
        DOSE_DUE_SOON = "dose_due_soon", "Dose due soon, please book"
        DOSE_OVERDUE = "dose_overdue", "Dose overdue, please book"
        MISSED_APPOINTMENT = "missed_appointment", "Missed appointment, please rebook"
        MONITORING_LABS = "monitoring_labs", "Lab tests due"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="reminders")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reminders")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )
    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, null=True, blank=True, related_name="reminders"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    key = models.CharField(max_length=160, unique=True, help_text="One message, one key: never created twice.")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="reminder_pending_due"),
            models.Index(fields=["clinic", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for patient {self.patient_id} due {self.due_at:%Y-%m-%d %H:%M}Z"
