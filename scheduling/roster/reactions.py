"""Recording an infusion reaction, and clearing the prescriber hold a grade 4 or 5 reaction puts on a course.

Services: keyword-only, atomic, the appointment row locked as every visit change locks it,
history written (an AppointmentEvent on the visit), and a refusal as a sentence the nurse or
manager can act on. Recording a reaction also brings the appointment's summary flags up to
date in the same transaction; saving the appointment refreshes the course's stored next dose
(`scheduling.receivers`), so the next dose's chair time changes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from clinic.access import clinics_for_user
from patients.models import TreatmentCourse
from scheduling.models import PRESCRIBER_REVIEW_GRADE, Appointment, AppointmentEvent, InfusionReaction
from scheduling.models.reactions import Action, Grade, Outcome, Symptom
from scheduling.reminders.outbox import appointment_reminders_sync
from scheduling.roster.services import (
    REACTION_STATUSES,
    STATUS_PERMISSION,
    VisitError,
    VisitPermissionError,
    lock_visit,
)

CLEAR_PERMISSION = "scheduling.clear_reaction_review"

# A clock a few minutes fast on the nurse's tablet must not refuse a reaction noticed just now.
ONSET_LEEWAY = timedelta(minutes=5)
# Outcomes that make a reaction serious whatever was ticked: hospital care, death.
SERIOUS_OUTCOMES = (Outcome.TRANSFERRED, Outcome.DIED)


def _works_at(user, clinic_id: int) -> bool:
    return clinics_for_user(user).filter(pk=clinic_id).exists()


def _check_onset(appointment: Appointment, onset_at: datetime, now: datetime) -> None:
    tz = appointment.clinic.tz
    if timezone.is_naive(onset_at):
        raise VisitError("The onset time has no time zone. Enter the time again.")
    if onset_at > now + ONSET_LEEWAY:
        raise VisitError(
            f"The onset time {onset_at.astimezone(tz):%H:%M} is later than now ({now.astimezone(tz):%H:%M}). "
            "Enter when the reaction began."
        )
    began = appointment.arrived_at or appointment.starts_at
    if onset_at < began - ONSET_LEEWAY:
        raise VisitError(
            f"The onset time {onset_at.astimezone(tz):%H:%M} is before the visit began "
            f"({began.astimezone(tz):%H:%M}). Enter when the reaction began."
        )


def _check_choices(*, grade: int, symptoms: Sequence[str], other_symptom: str, actions: Sequence[str], outcome: str):
    if grade not in Grade.values:
        raise VisitError("Choose the reaction's grade, 1 to 5 (CTCAE).")
    if not symptoms:
        raise VisitError("Tick at least one symptom, or Other and describe it.")
    unknown = [code for code in symptoms if code not in Symptom.values]
    if unknown:
        raise VisitError("A symptom in the form could not be read. Tick the symptoms again.")
    if Symptom.OTHER in symptoms and not other_symptom.strip():
        raise VisitError("Describe the other symptom, or untick Other.")
    if any(code not in Action.values for code in actions):
        raise VisitError("An action in the form could not be read. Tick what was done again.")
    if outcome not in Outcome.values:
        raise VisitError("Choose the outcome: resolved, ongoing, transferred to hospital or died.")
    if (grade == Grade.DEATH) != (outcome == Outcome.DIED):
        raise VisitError("Grade 5 means the patient died: choose grade 5 with the outcome Died, or neither.")


def _in_order(codes: Sequence[str], known: Sequence[str]) -> list[str]:
    """The codes once each, in the order of their choices; unknown ones last, for the check to refuse."""
    chosen = set(codes)
    return [code for code in known if code in chosen] + [code for code in dict.fromkeys(codes) if code not in known]


def _summary(reaction: InfusionReaction) -> str:
    parts = [reaction.grade_text, ", ".join(reaction.symptom_labels)]
    if reaction.action_labels:
        parts.append(", ".join(reaction.action_labels).lower())
    parts.append(reaction.get_outcome_display().lower())
    text = "; ".join(part for part in parts if part)
    return f"{text}. {reaction.notes}".strip() if reaction.notes else f"{text}."


@transaction.atomic
def reaction_record(
    *,
    appointment: Appointment,
    onset_at: datetime,
    grade: int,
    symptoms: Sequence[str],
    actions: Sequence[str],
    outcome: str,
    serious: bool,
    hypersensitivity: bool,
    by: AbstractBaseUser,
    other_symptom: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> InfusionReaction:
    """Record one infusion reaction on a visit (a visit may have several).

    A reaction is serious when ticked so, and always at grade 4 or 5 or when the patient went
    to hospital or died. Grade 4 or 5 holds the course for the prescriber. The appointment's
    summary flags follow, and through them the course's next dose: no Ocrevus short infusion
    after a serious reaction, Tysabri observation kept after hypersensitivity, Briumvi
    observation back after any reaction.
    """
    now = now or timezone.now()
    appointment = lock_visit(appointment)
    if not (by.has_perm(STATUS_PERMISSION) and _works_at(by, appointment.clinic_id)):
        raise VisitPermissionError("Only nurses and clinic managers of this clinic can record an infusion reaction.")
    if appointment.status not in REACTION_STATUSES:
        raise VisitError(
            f"This visit is {appointment.get_status_display().lower()}; record a reaction once the patient "
            "is in the chair."
        )
    other_symptom, notes = other_symptom.strip(), notes.strip()
    symptoms, actions = _in_order(symptoms, Symptom.values), _in_order(actions, Action.values)
    _check_choices(grade=grade, symptoms=symptoms, other_symptom=other_symptom, actions=actions, outcome=outcome)
    _check_onset(appointment, onset_at, now)
    reaction = InfusionReaction(
        appointment=appointment,
        onset_at=onset_at,
        grade=grade,
        symptoms=symptoms,
        other_symptom=other_symptom if Symptom.OTHER in symptoms else "",
        actions=actions,
        outcome=outcome,
        serious=serious or grade >= PRESCRIBER_REVIEW_GRADE or outcome in SERIOUS_OUTCOMES,
        hypersensitivity=hypersensitivity,
        notes=notes,
        recorded_by=by,
        review_required=grade >= PRESCRIBER_REVIEW_GRADE,
    )
    reaction.full_clean()
    reaction.save()
    appointment.infusion_reaction = True
    appointment.serious_reaction = appointment.serious_reaction or reaction.serious
    appointment.hypersensitivity_reaction = appointment.hypersensitivity_reaction or reaction.hypersensitivity
    # Saved through the ORM: the receiver refreshes the course's stored next dose in this transaction.
    appointment.save(update_fields=["infusion_reaction", "serious_reaction", "hypersensitivity_reaction"])
    AppointmentEvent.objects.create(
        appointment=appointment,
        by=by,
        action=AppointmentEvent.Action.REACTION,
        from_status=appointment.status,
        to_status=appointment.status,
        reason=_summary(reaction),
        details={
            "reaction": reaction.pk,
            "at": now.isoformat(),
            "onset_at": onset_at.isoformat(),
            "grade": grade,
            "symptoms": symptoms,
            "actions": actions,
            "outcome": outcome,
            "serious": reaction.serious,
            "hypersensitivity": hypersensitivity,
            "review_required": reaction.review_required,
        },
    )
    appointment_reminders_sync(appointment=appointment)
    return reaction


@transaction.atomic
def reaction_review_clear(
    *, course: TreatmentCourse, note: str, by: AbstractBaseUser, now: datetime | None = None
) -> list[InfusionReaction]:
    """Clear the prescriber hold on a course: every grade 4 or 5 reaction awaiting review, with the note.

    The note (the prescriber's decision) is kept on each reaction and in its visit's history.
    """
    now = now or timezone.now()
    if not (by.has_perm(CLEAR_PERMISSION) and _works_at(by, course.patient.clinic_id)):
        raise VisitPermissionError("Only a clinic manager or the prescriber can clear this hold.")
    note = note.strip()
    if not note:
        raise VisitError("Write the prescriber's decision in the note; it is kept with the reaction.")
    # The course row first, as the booking services lock it: a booking waits for the hold to clear.
    list(TreatmentCourse.objects.select_for_update(no_key=True).filter(pk=course.pk).values_list("pk", flat=True))
    held = list(
        InfusionReaction.objects.awaiting_review()
        .select_for_update()
        .filter(appointment__course_id=course.pk)
        .order_by("pk")
    )
    if not held:
        raise VisitError("This course has no hold to clear: no grade 4 or 5 reaction is waiting for review.")
    for reaction in held:
        reaction.review_cleared_at = now
        reaction.review_cleared_by = by
        reaction.review_note = note
        reaction.save(update_fields=["review_cleared_at", "review_cleared_by", "review_note"])
        appointment = Appointment.objects.get(pk=reaction.appointment_id)
        AppointmentEvent.objects.create(
            appointment=appointment,
            by=by,
            action=AppointmentEvent.Action.REVIEW,
            from_status=appointment.status,
            to_status=appointment.status,
            reason=note,
            details={"reaction": reaction.pk, "at": now.isoformat()},
        )
    return held
