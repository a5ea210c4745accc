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
SAME_DAY_ONLY = 0
DEFAULT_OFFERS_AT_ONCE = 3
DEFAULT_OFFER_MINUTES = 120


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

    levelling_days = models.PositiveSmallIntegerField(
        "levelling: days a visit may move",
        default=SAME_DAY_ONLY,
        validators=[MaxValueValidator(14)],
        help_text=(
            "When a manager levels a day, how far a patient's visit may move: 0 keeps it on the same day "
            "(another time), N lets it move up to N days either way, inside its dose's window."
        ),
    )

    offers_at_once = models.PositiveSmallIntegerField(
        "earlier-time offers: patients asked at once",
        default=DEFAULT_OFFERS_AT_ONCE,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=(
            "When chair time becomes free, how many patients whose next dose fits it are asked at the same "
            "time; the first to say yes gets it, and the next ones are asked when all have answered or the "
            "offers end."
        ),
    )
    offer_minutes = models.PositiveSmallIntegerField(
        "earlier-time offers: minutes to answer",
        default=DEFAULT_OFFER_MINUTES,
        validators=[MinValueValidator(10), MaxValueValidator(48 * 60)],
        help_text="How long an offer stays open; it always ends when the offered time begins.",
    )

    class Meta:
        verbose_name = "capacity policy"
        verbose_name_plural = "capacity policies"

    def __str__(self) -> str:
        return f"{self.clinic}: overloaded above {self.overload_percent}%"

    @property
    def levelling_limit_text(self) -> str:
        if self.levelling_days == SAME_DAY_ONLY:
            return "same day only"
        return f"at most {self.levelling_days} day{'s' if self.levelling_days != 1 else ''} earlier or later"

    @classmethod
    def for_clinics(cls, clinics: Iterable[Clinic]) -> dict[int, CapacityPolicy]:
        """{clinic id: policy} in one query; a clinic without a row gets an unsaved one with the defaults."""
        clinics = list(clinics)
        found = {policy.clinic_id: policy for policy in cls.objects.filter(clinic__in=clinics)}
        return {clinic.pk: found.get(clinic.pk) or cls(clinic=clinic) for clinic in clinics}
