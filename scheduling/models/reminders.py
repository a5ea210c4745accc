"""The reminder outbox row: one message owed to a patient."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db import models
from django.db.models import Q

from clinic.models import Clinic
from patients.models import Patient, TreatmentCourse
from scheduling.models.appointments import Appointment
from scheduling.models.offers import SlotOffer


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


class Reminder(models.Model):
    """One message owed to a patient: the outbox row is the record, Redis only carries work.

    The key makes each message unique: the same reminder is never created twice, and a
    rescheduled appointment gets new keys (its start time is part of them) while the rows
    of its old time are cancelled. Keys are built and read only here.
    """

    class Kind(models.TextChoices):
        APPOINTMENT_UPCOMING = "appointment_upcoming", "Appointment coming up"
        DOSE_DUE_SOON = "dose_due_soon", "Dose due soon, please book"
        DOSE_OVERDUE = "dose_overdue", "Dose overdue, please book"
        MISSED_APPOINTMENT = "missed_appointment", "Missed appointment, please rebook"
        MONITORING_LABS = "monitoring_labs", "Lab tests due"
        BOOKING_CONFIRMED = "booking_confirmed", "Booking confirmed"
        APPOINTMENT_MOVED = "appointment_moved", "Appointment moved"
        APPOINTMENT_CANCELLED = "appointment_cancelled", "Appointment cancelled"
        SLOT_OFFER = "slot_offer", "Earlier time offered"
        SLOT_OFFER_TAKEN = "slot_offer_taken", "Offered time taken by another patient"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"

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
    appointment_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="The visits a booking, move or cancellation notice is about, in order; "
        "`appointment` is the first of them.",
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    key = models.CharField(max_length=160, unique=True, help_text="One message, one key: never created twice.")
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    send_started_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the attempt in progress began; cleared once its outcome is recorded. "
        "Still set when no worker is sending means that attempt died mid-send.",
    )
    lost_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts in a row whose worker died before it could record the outcome."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(status="pending"), name="reminder_pending_due"),
            models.Index(fields=["clinic", "status"]),
            # The failure counts (the minute scan's alert, the manager's home page) read only
            # the few rows whose last attempt failed.
            models.Index(
                fields=["updated_at"],
                condition=Q(status="failed") | Q(status="pending", attempts__gt=0),
                name="reminder_last_attempt_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for patient {self.patient_id} due {self.due_at:%Y-%m-%d %H:%M}Z"

    # How long a dose, lab or missed-visit reminder is still worth sending after it fell due.
    USEFUL_AFTER_DUE = timedelta(days=1)

    # The messages about visits to come: none is worth sending once the (first) visit has begun.
    BEFORE_VISIT_KINDS = (
        Kind.APPOINTMENT_UPCOMING,
        Kind.BOOKING_CONFIRMED,
        Kind.APPOINTMENT_MOVED,
        Kind.APPOINTMENT_CANCELLED,
    )
    # The notices written by a booking action (due at once), one row for all the visits it touched.
    BOOKING_NOTICE_KINDS = (Kind.BOOKING_CONFIRMED, Kind.APPOINTMENT_MOVED, Kind.APPOINTMENT_CANCELLED)

    # The messages about an earlier-time offer: the offer is named by the key, not by a visit.
    OFFER_KINDS = (Kind.SLOT_OFFER, Kind.SLOT_OFFER_TAKEN)

    @property
    def useful_until(self) -> datetime:
        """The moment the message stops being worth sending: the visit's start, or a day after it was due.

        An offer is worth sending until it ends; the news that its time was taken, until that time began.
        """
        if self.kind in self.OFFER_KINDS:
            ends, starts = SlotOffer.objects.values_list("expires_at", "starts_at").get(pk=self.offer_id_from_key)
            return ends if self.kind == self.Kind.SLOT_OFFER else starts
        if self.kind in self.BEFORE_VISIT_KINDS and self.appointment is not None:
            return self.appointment.starts_at
        return self.due_at + self.USEFUL_AFTER_DUE

    @property
    def useful_until_phrase(self) -> str:
        """`useful_until` in words, for the sentence staff read on a failed reminder."""
        if self.kind == self.Kind.SLOT_OFFER:
            return "when the offer ended"
        if self.kind in self.BEFORE_VISIT_KINDS or self.kind in self.OFFER_KINDS:
            return "when the visit began"
        return "a day after it was due"

    # --- Keys ------------------------------------------------------------------------------------

    @classmethod
    def channel_key(cls, key: str, channel: str) -> str:
        """The key of one message on one channel: an email's key as it always was, a text's with `:sms` after it.

        The suffix comes last, so every reading of a key below (its third part, its prefix) holds for both.
        """
        return key if channel == cls.Channel.EMAIL else f"{key}:{channel}"

    @classmethod
    def upcoming_key(cls, appointment: Appointment, days_before: int) -> str:
        """The appointment's id and its start time: a moved appointment gets new rows."""
        return f"{cls._upcoming_prefix(appointment)}{days_before}d"

    @staticmethod
    def _upcoming_prefix(appointment: Appointment) -> str:
        return f"upcoming:{appointment.pk}:{_stamp(appointment.starts_at)}:"

    @staticmethod
    def missed_key(appointment: Appointment) -> str:
        return f"missed:{appointment.pk}"

    @staticmethod
    def booking_confirmed_key(first: Appointment) -> str:
        """A visit is booked once: the first visit of the booking names it."""
        return f"booked:{first.pk}"

    @staticmethod
    def moved_key(first: Appointment, sequence: int) -> str:
        """The first visit moved and its calendar sequence after the move: each move its own notice."""
        return f"moved:{first.pk}:{sequence}"

    @staticmethod
    def cancelled_key(first: Appointment) -> str:
        """A visit is cancelled once: the first visit of the cancellation names it."""
        return f"cancelled:{first.pk}"

    @property
    def sequence_from_key(self) -> int | None:
        """The calendar sequence of the first visit a moved notice was written for."""
        if self.kind == self.Kind.APPOINTMENT_MOVED:
            return int(self.key.split(":")[2])
        return None

    @staticmethod
    def due_soon_key(course_id: int, dose_number: int) -> str:
        return f"due-soon:{course_id}:{dose_number}"

    @staticmethod
    def overdue_key(course_id: int, dose_number: int, number: int) -> str:
        """The `number`th weekly reminder that this dose is overdue."""
        return f"overdue:{course_id}:{dose_number}:{number}"

    @staticmethod
    def offer_key(offer_id: int) -> str:
        """One patient asked once about one opening."""
        return f"offer:{offer_id}"

    @staticmethod
    def offer_taken_key(offer_id: int) -> str:
        return f"offer-taken:{offer_id}"

    @property
    def offer_id_from_key(self) -> int | None:
        """The earlier-time offer an offer or taken message is about."""
        if self.kind in self.OFFER_KINDS:
            return int(self.key.split(":")[1])
        return None

    @staticmethod
    def labs_key(course_id: int, due: date) -> str:
        return f"labs:{course_id}:{due.isoformat()}"

    @property
    def dose_number_from_key(self) -> int | None:
        """The dose a due-soon or overdue reminder is about."""
        if self.kind in (self.Kind.DOSE_DUE_SOON, self.Kind.DOSE_OVERDUE):
            return int(self.key.split(":")[2])
        return None

    @property
    def lab_date_from_key(self) -> date | None:
        """The day the lab tests of a monitoring reminder are due."""
        if self.kind == self.Kind.MONITORING_LABS:
            return date.fromisoformat(self.key.split(":")[2])
        return None

    def is_for_start_of(self, appointment: Appointment) -> bool:
        """Whether this upcoming-visit reminder was made for the appointment's current start time."""
        return self.key.startswith(self._upcoming_prefix(appointment))


class ReminderFailureAlert(models.Model):
    """One alert line logged for a clinic's failing reminders: at most one per clinic per hour.

    The row is how two workers, or two beats, agree that the hour's alert was already logged.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="reminder_failure_alerts")
    hour = models.DateTimeField(help_text="The UTC hour the alert belongs to.")
    failed = models.PositiveIntegerField(help_text="Reminders whose attempt failed in the hour before the alert.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "hour"], name="reminder_alert_once_per_hour")]

    def __str__(self) -> str:
        return f"{self.failed} failing reminders at clinic {self.clinic_id} in the hour to {self.hour:%Y-%m-%d %H:00}Z"
