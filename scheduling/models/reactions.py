"""Infusion reactions: what a nurse records when a patient reacts during or after a visit.

A visit may have several reactions (a flush at 40 minutes, then wheeze after the rate went back
up). Each row is the structured record: onset, CTCAE grade, symptoms, what was done, the
outcome, whether it was serious or looked like hypersensitivity. The dosing rules read them
through the appointment's summary flags (`infusion_reaction`, `serious_reaction`,
`hypersensitivity_reaction`), which the recording service keeps in step in the same
transaction, so the dose module still reads a course's visits in one query.

A reaction of grade 4 or higher holds the course for the prescriber: its next dose is not
booked until a clinic manager or the prescriber clears the hold with a note. Rows recorded
before the structured form existed (free text and a "serious" tick) were carried over by
migration 0009 with `legacy` set: their grade and onset are unknown, their note is kept.

Nothing is deleted: a hold cleared keeps who cleared it, when and why.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from scheduling.models.appointments import Appointment

# A reaction of this CTCAE grade or higher (life-threatening, death) holds the course for the prescriber.
PRESCRIBER_REVIEW_GRADE = 4


class Symptom(models.TextChoices):
    RASH = "rash", "Rash"
    ITCHING = "itching", "Itching"
    FLUSHING = "flushing", "Flushing"
    FEVER = "fever", "Fever"
    CHILLS = "chills", "Chills"
    HEADACHE = "headache", "Headache"
    NAUSEA = "nausea", "Nausea"
    THROAT_IRRITATION = "throat_irritation", "Throat irritation"
    SHORTNESS_OF_BREATH = "shortness_of_breath", "Shortness of breath"
    CHEST_TIGHTNESS = "chest_tightness", "Chest tightness"
    LOW_BLOOD_PRESSURE = "low_blood_pressure", "Low blood pressure"
    FAST_HEART_RATE = "fast_heart_rate", "Fast heart rate"
    SWELLING = "swelling", "Swelling of lips, tongue or face"
    OTHER = "other", "Other"


class Action(models.TextChoices):
    PAUSED = "paused", "Infusion paused"
    RATE_REDUCED = "rate_reduced", "Rate reduced"
    MEDICATION_GIVEN = "medication_given", "Medication given"
    STOPPED = "stopped", "Infusion stopped"


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    ONGOING = "ongoing", "Ongoing"
    TRANSFERRED = "transferred", "Transferred to hospital"
    DIED = "died", "Died"


class Grade(models.IntegerChoices):
    MILD = 1, "Grade 1 (mild)"
    MODERATE = 2, "Grade 2 (moderate)"
    SEVERE = 3, "Grade 3 (severe)"
    LIFE_THREATENING = 4, "Grade 4 (life-threatening)"
    DEATH = 5, "Grade 5 (death)"


class InfusionReactionQuerySet(models.QuerySet):
    def awaiting_review(self):
        """Reactions that hold their course for the prescriber and are not cleared yet."""
        return self.filter(review_required=True, review_cleared_at__isnull=True)


class InfusionReaction(models.Model):
    Symptom = Symptom
    Action = Action
    Outcome = Outcome
    Grade = Grade

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="reactions")
    onset_at = models.DateTimeField(null=True, blank=True, help_text="When the reaction began (empty on old records).")
    grade = models.PositiveSmallIntegerField(
        choices=Grade.choices,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="CTCAE grade, 1 to 5 (empty on records from before grades were recorded).",
    )
    symptoms = models.JSONField(default=list, blank=True, help_text="Symptom codes, in the order of Symptom.")
    other_symptom = models.CharField(max_length=200, blank=True)
    actions = models.JSONField(default=list, blank=True, help_text="Action codes, in the order of Action.")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    serious = models.BooleanField(default=False)
    hypersensitivity = models.BooleanField(
        default=False,
        help_text="Looked allergic (hives, swelling, wheeze, anaphylaxis) or could not be ruled out.",
    )
    notes = models.TextField(blank=True)
    legacy = models.BooleanField(default=False, help_text="Carried over from the free-text record.")
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_required = models.BooleanField(
        default=False, help_text="Holds the course's next dose until the prescriber's review is recorded."
    )
    review_cleared_at = models.DateTimeField(null=True, blank=True)
    review_cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.TextField(blank=True)

    objects = InfusionReactionQuerySet.as_manager()

    class Meta:
        ordering = ["appointment", "onset_at", "pk"]
        permissions = [
            (
                "clear_reaction_review",
                "Can clear the prescriber hold a grade 4 or 5 infusion reaction puts on a course",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=5), name="reaction_grade_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(review_cleared_at__isnull=True) | Q(review_required=True),
                name="reaction_cleared_only_when_held",
            ),
        ]
        indexes = [
            models.Index(
                fields=["appointment"],
                condition=Q(review_required=True, review_cleared_at__isnull=True),
                name="reaction_awaiting_review",
            )
        ]

    def __str__(self) -> str:
        return f"{self.grade_text} reaction at visit {self.appointment_id}"

    @property
    def grade_text(self) -> str:
        return f"Grade {self.grade}" if self.grade else "Grade not recorded"

    @property
    def symptom_labels(self) -> list[str]:
        labels = dict(Symptom.choices)
        names = [labels.get(code, code) for code in self.symptoms if code != Symptom.OTHER]
        if Symptom.OTHER in self.symptoms:
            names.append(self.other_symptom or "Other")
        return names

    @property
    def action_labels(self) -> list[str]:
        labels = dict(Action.choices)
        return [labels.get(code, code) for code in self.actions]

    @property
    def awaiting_review(self) -> bool:
        return self.review_required and self.review_cleared_at is None
