"""Nurse assignments: who looks after which chair on a clinic day."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from clinic.models import Chair, Clinic


class NurseAssignment(models.Model):
    """A nurse looking after a chair for one clinic day."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="nurse_assignments")
    day = models.DateField()
    chair = models.ForeignKey(Chair, on_delete=models.PROTECT, related_name="nurse_assignments")
    nurse = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chair_assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "chair"]
        constraints = [
            models.UniqueConstraint(fields=["day", "chair"], name="one_nurse_per_chair_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.nurse} on {self.chair.name}, {self.day}"
