"""What Chairside shares with the rest of the hospital: calendar feeds, and the imports and exports done."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.models import Clinic


class CalendarFeed(models.Model):
    """An iCalendar subscription: a clinic's roster, or one nurse's assignments, at a secret address.

    The address carries a long random token; only its SHA-256 is kept, so the table cannot give
    an address away. Revoking the feed makes the address answer 404 for good.
    """

    class Kind(models.TextChoices):
        CLINIC = "clinic", "Clinic roster"
        NURSE = "nurse", "My assignments"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="calendar_feeds")
    # The nurse whose assignments a nurse feed holds; empty for a clinic feed.
    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="calendar_feeds"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(max_length=80, blank=True, help_text="A name to tell feeds apart (the calendar app, say).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    fetch_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["clinic", "kind", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="clinic", nurse__isnull=True) | Q(kind="nurse", nurse__isnull=False),
                name="calendar_feed_nurse_only_on_nurse_feeds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} feed {self.pk}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class DataTransfer(models.Model):
    """One import or export of a clinic's data: who, when, what, and the counts. The trace of each one."""

    class Kind(models.TextChoices):
        IMPORT = "import", "Import"
        EXPORT = "export", "Export"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="data_transfers")
    # What was exported (appointments, utilisation, audit) or "patients" for an import.
    subject = models.CharField(max_length=20)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=200, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    # Rows read, refused, and the records created and matched: counts only, never a patient.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.subject} at {self.at:%Y-%m-%d %H:%M}Z"
