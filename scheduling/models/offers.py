"""Earlier-time offers: chair time that became free, and the patients asked whether they want it.

A `ChairOpening` is one stretch of one chair freed by a cancellation, a move or a no-show.
The offer scan asks a few patients at a time whose next dose fits it (`SlotOffer`, one per
patient asked), by their own channels through the reminder outbox; the first to accept is
booked through the booking services and the others are told the time was taken. Rows are
never deleted: the front desk's list and the audit trail read them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from clinic.models import Chair, Clinic
from patients.models import Patient, TreatmentCourse
from scheduling.models.appointments import Appointment


class ChairOpening(models.Model):
    """One chair's stretch of time freed before it began, and what became of it."""

    class Status(models.TextChoices):
        NEW = "new", "Waiting for the offer scan"
        OFFERING = "offering", "Offered to patients"
        FILLED = "filled", "Taken from an offer"
        CLOSED = "closed", "Closed"

    class Cause(models.TextChoices):
        CANCELLED = "cancelled", "Cancelled"
        MOVED = "moved", "Moved"
        NO_SHOW = "no_show", "No-show"

    OPEN_STATUSES = (Status.NEW, Status.OFFERING)

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="chair_openings")
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="openings")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    cause = models.CharField(max_length=10, choices=Cause.choices)
    freed_by = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="+", help_text="The visit whose change freed the time."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    rounds = models.PositiveSmallIntegerField(default=0, help_text="How many groups of patients were asked.")
    filled_by = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The visit booked from an accepted offer.",
    )
    outcome = models.CharField(max_length=200, blank=True, help_text="Why the opening closed, in a sentence.")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="opening_ends_after_start")]
        indexes = [
            models.Index(
                fields=["clinic", "starts_at"], condition=Q(status__in=["new", "offering"]), name="opening_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.chair} free {self.starts_at:%Y-%m-%d %H:%M}Z ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class SlotOffer(models.Model):
    """One patient asked whether they want an opening's time, and their answer."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for an answer"
        ACCEPTED = "accepted", "Took the time"
        DECLINED = "declined", "Said no thanks"
        EXPIRED = "expired", "No answer in time"
        TAKEN = "taken", "Taken by another patient"
        WITHDRAWN = "withdrawn", "No longer possible"

    opening = models.ForeignKey(ChairOpening, on_delete=models.PROTECT, related_name="offers")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="slot_offers")
    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="slot_offers")
    dose_number = models.PositiveSmallIntegerField()
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earlier_offers",
        help_text="The patient's later visit that accepting moves here; empty for a dose not yet booked.",
    )
    appointment_starts_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="That visit's start when the offer was made: a visit moved since is not moved again.",
    )
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    round = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="The answer is taken until then; never after the time begins.")
    answered_at = models.DateTimeField(null=True, blank=True)
    booked = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", help_text="The visit it gave."
    )
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["opening", "round", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["opening", "course"], name="offer_once_per_course_and_opening"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="offer_ends_after_start"),
        ]
        indexes = [models.Index(fields=["expires_at"], condition=Q(status="open"), name="offer_open_expiry")]

    def __str__(self) -> str:
        return f"Offer of {self.starts_at:%Y-%m-%d %H:%M}Z to patient {self.patient_id} ({self.get_status_display()})"
