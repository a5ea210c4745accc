"""Appointments and their history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from clinic.models import Chair, Clinic
from patients.models import Patient, TreatmentCourse
from scheduling.models import statuses


class AppointmentQuerySet(models.QuerySet):
    def active(self):
        """Holding the chair and the patient: upcoming or completed."""
        return self.filter(status__in=statuses.ACTIVE)

    def upcoming(self):
        """Booked or in progress: holding a chair, the dose not given yet."""
        return self.filter(status__in=statuses.UPCOMING)

    def finished(self):
        """Completed, cancelled or no-show."""
        return self.filter(status__in=statuses.FINISHED)

    def completed(self):
        return self.filter(status=statuses.AppointmentStatus.COMPLETED)

    def overlapping(self, starts_at, ends_at):
        return self.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)

    def for_clinic_day(self, clinic, day):
        """Appointments that start on `day` in the clinic's own time zone."""
        from datetime import datetime, time, timedelta

        start = datetime.combine(day, time.min, tzinfo=clinic.tz)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=clinic.tz)
        return self.filter(clinic=clinic, starts_at__gte=start, starts_at__lt=end)


class Appointment(models.Model):
    """A chair booked for one dose; starts_at..ends_at is the whole chair time, in UTC."""

    Status = statuses.AppointmentStatus

    # The status groups (see scheduling/models/statuses.py), here for `Appointment.ACTIVE_STATUSES`.
    IN_PROGRESS_STATUSES = statuses.IN_PROGRESS
    UPCOMING_STATUSES = statuses.UPCOMING
    ACTIVE_STATUSES = statuses.ACTIVE
    FINISHED_STATUSES = statuses.FINISHED

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="appointments")
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="appointments")
    dose_number = models.PositiveSmallIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    premed_minutes = models.PositiveSmallIntegerField(default=0)
    infusion_minutes = models.PositiveSmallIntegerField()
    observation_minutes = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    arrived_at = models.DateTimeField(null=True, blank=True)
    in_chair_at = models.DateTimeField(null=True, blank=True)
    infusion_started_at = models.DateTimeField(null=True, blank=True)
    infusion_ended_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    infusion_reaction = models.BooleanField(default=False)
    # Summary of the visit's InfusionReaction rows, kept in step by the reaction service so the
    # dose module reads a course's visits in one query: any reaction, any serious one, any that
    # looked like hypersensitivity. `reaction_note` is the free text of records made before the
    # structured reactions (carried into them by migration 0009).
    serious_reaction = models.BooleanField(default=False)
    hypersensitivity_reaction = models.BooleanField(default=False)
    reaction_note = models.TextField(blank=True)
    early_override_reason = models.TextField(
        blank=True, help_text="Why a manager allowed this dose before its earliest date."
    )
    early_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # An infusion on an expired (or unrecorded) programme authorization is a clinic manager's
    # decision, kept here with who made it and when (and in the visit's history).
    authorization_override_reason = models.TextField(
        blank=True, help_text="Why a manager allowed the infusion although the programme authorization had expired."
    )
    authorization_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    authorization_override_at = models.DateTimeField(null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "chair"]
        permissions = [
            ("change_appointment_status", "Can move an appointment through the day's statuses"),
            ("mark_arrival", "Can mark arrivals and no-shows"),
            ("override_earliest_date", "Can book a dose before its earliest allowed date"),
            (
                "override_expired_authorization",
                "Can let an infusion start on an expired programme authorization, with a reason",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_ends_after_start"),
        ]
        indexes = [
            models.Index(fields=["clinic", "starts_at"]),
            models.Index(fields=["course", "dose_number"]),
        ]

    def __str__(self) -> str:
        return f"{self.patient} dose {self.dose_number} at {self.starts_at:%Y-%m-%d %H:%M}Z"

    @property
    def is_active(self) -> bool:
        return self.status in statuses.ACTIVE

    @property
    def is_upcoming(self) -> bool:
        return self.status in statuses.UPCOMING


class AppointmentEvent(models.Model):
    """History: every change to an appointment, who made it, when and why. Never deleted."""

    class Action(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        STATUS = "status", "Status changed"
        OVERRIDE = "override", "Earliest date overridden"
        REACTION = "reaction", "Infusion reaction recorded"
        REVIEW = "review", "Prescriber hold cleared"
        NOTE = "note", "Note"
        CHECK_TICKED = "check_ticked", "Pre-infusion check ticked"
        CHECK_UNTICKED = "check_unticked", "Pre-infusion check taken back"
        AUTHORIZATION_OVERRIDE = "auth_override", "Expired authorization overridden"

    # Rows that note something beside the visit's course without moving it: a tick on the
    # checklist, a note. The last move (what an undo takes back) is found past them.
    BESIDE_THE_MOVES = (Action.NOTE, Action.CHECK_TICKED, Action.CHECK_UNTICKED)

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["appointment", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"
