"""A clinic's capacity settings: when the forecast calls a day overloaded.

One row per clinic, optional: a clinic without one is read with the defaults below
(`CapacityPolicy.for_clinics`), so the forecast never needs a row to exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic.models import Clinic

DEFAULT_OVERLOAD_PERCENT = 85


class CapacityPolicy(models.Model):
    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="capacity_policy")
    overload_percent = models.PositiveSmallIntegerField(
        "overload threshold (%)",
        default=DEFAULT_OVERLOAD_PERCENT,
        validators=[MinValueValidator(1), MaxValueValidator(200)],
        help_text=(
            "The forecast flags a day whose chair hours or peak nurse load needed go over this share "
            "of the clinic's capacity."
        ),
    )

    class Meta:
        verbose_name = "capacity policy"
        verbose_name_plural = "capacity policies"

    def __str__(self) -> str:
        return f"{self.clinic}: overloaded above {self.overload_percent}%"

    @classmethod
    def for_clinics(cls, clinics: Iterable[Clinic]) -> dict[int, CapacityPolicy]:
        """{clinic id: policy} in one query; a clinic without a row gets an unsaved one with the defaults."""
        clinics = list(clinics)
        found = {policy.clinic_id: policy for policy in cls.objects.filter(clinic__in=clinics)}
        return {clinic.pk: found.get(clinic.pk) or cls(clinic=clinic) for clinic in clinics}
