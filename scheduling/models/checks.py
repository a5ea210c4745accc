"""The checks before the needle as ticked on a visit: who ticked which item, and when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from clinic.models import RegimenCheck
from scheduling.models.appointments import Appointment


class VisitCheckQuerySet(models.QuerySet):
    def standing(self):
        """The ticks that count: not taken back."""
        return self.filter(unticked_at__isnull=True)


class VisitCheck(models.Model):
    """One item of the visit's checklist, ticked by a nurse. Written only by the roster's services.

    A tick taken back keeps its row (who ticked, who took it back, when): nothing is deleted,
    and ticking again writes a new row.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="checks")
    regimen_check = models.ForeignKey(RegimenCheck, on_delete=models.PROTECT, related_name="+")
    ticked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ticked_at = models.DateTimeField()
    unticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unticked_at = models.DateTimeField(null=True, blank=True)

    objects = VisitCheckQuerySet.as_manager()

    class Meta:
        ordering = ["appointment", "ticked_at", "pk"]
        constraints = [
            # Two nurses ticking the same item at once: one tick stands, the other click finds it.
            models.UniqueConstraint(
                fields=["appointment", "regimen_check"],
                condition=Q(unticked_at__isnull=True),
                name="one_standing_tick_per_visit_check",
            ),
            models.CheckConstraint(
                condition=Q(unticked_at__isnull=True) | Q(unticked_at__gte=models.F("ticked_at")),
                name="visit_check_unticked_after_ticked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.regimen_check.label} on {self.appointment}"
