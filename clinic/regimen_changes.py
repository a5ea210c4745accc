"""Changes to a shared regimen: reviewed before they are saved, and taking effect from a chosen date.

A regimen is shared by every clinic, so one formulary manager's edit moves every clinic's
courses. The edit is therefore a `RegimenChange`: the values old and new, the day they take
effect, who proposed it and why. Before it is confirmed the formulary manager reads what it
would do (`regimen_change_effects`, in sentences with counts per clinic and no patient); until
its day the old values hold; on its day `regimen_changes_apply_due` (a Celery beat task, or
`manage.py regimen_changes_apply`) writes the new values, so the audit trail keeps each one old
and new, and the apps above refresh what they store from the regimen.

Booked visits that no longer fit their dosing window are not moved: nobody can tell from here
whether the prescriber wants them kept. Each gets a note on the visit for the front desk,
which sees it on the roster and the patient's page; the change keeps their ids.

"Today" is the organisation's calendar (settings.TIME_ZONE): a regimen belongs to no clinic.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from auditlog.context import set_actor
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic import dates
from clinic.dosing import RegimenSpec
from clinic.models import Regimen, RegimenChange, RegimenPhase
from clinic.signals import (
    ClinicEffect,
    RegimenEffects,
    combined_effects,
    regimen_change_applied,
    regimen_change_preview,
)

logger = logging.getLogger(__name__)

Changes = dict[str, dict[str, dict[str, list[Any]]]]


def organisation_today(now: datetime | None = None) -> date:
    """The day a regimen change counts from: the organisation's date, not any one clinic's."""
    return timezone.localdate(now or timezone.now())


# --- Reading a change -------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueChange:
    where: str  # "Regimen" or the phase's name
    field: str  # the field's label, e.g. "Late window days"
    old: str
    new: str

    def sentence(self) -> str:
        return f"{self.field}: {self.old} → {self.new}"


def _shown(model, name: str, value) -> str:
    field = model._meta.get_field(name)
    if value in (None, ""):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


def _label(model, name: str) -> str:
    verbose = str(model._meta.get_field(name).verbose_name)
    return verbose[:1].upper() + verbose[1:]


def value_changes(regimen: Regimen, changes: Changes) -> list[ValueChange]:
    """The change's values old and new, as a person reads them, the regimen's first."""
    rows = [
        ValueChange("Regimen", _label(Regimen, name), _shown(Regimen, name, old), _shown(Regimen, name, new))
        for name, (old, new) in changes.get("regimen", {}).items()
    ]
    phases = {str(phase.pk): phase for phase in regimen.phases.all()}
    for phase_id, values in changes.get("phases", {}).items():
        phase = phases.get(phase_id)
        where = f"{phase.name.capitalize()} phase" if phase else f"Phase {phase_id}"
        rows += [
            ValueChange(
                where, _label(RegimenPhase, name), _shown(RegimenPhase, name, old), _shown(RegimenPhase, name, new)
            )
            for name, (old, new) in values.items()
        ]
    return rows


def change_message(regimen: Regimen, changes: Changes, *, effective_from: date) -> str:
    """One line for the admin's own log: the values old and new and the day they hold from."""
    parts = [
        f"{row.where}: {row.sentence()}" if row.where != "Regimen" else row.sentence()
        for row in value_changes(regimen, changes)
    ]
    return f"{'; '.join(parts)}. Effective from {dates.day(effective_from)}."


def proposed_spec(regimen: Regimen, changes: Changes) -> RegimenSpec:
    """The regimen as the dose rules would read it with the change made."""
    positions = {str(phase.pk): phase.position for phase in regimen.phases.all()}
    regimen_values = {name: new for name, (_old, new) in changes.get("regimen", {}).items()}
    phase_values = {
        positions[phase_id]: {name: new for name, (_old, new) in values.items()}
        for phase_id, values in changes.get("phases", {}).items()
        if phase_id in positions
    }
    return regimen.spec().with_values(regimen_values, phase_values)


# --- What it would do ---------------------------------------------------------------------------


def regimen_change_effects(regimen: Regimen, changes: Changes, *, now: datetime | None = None) -> RegimenEffects:
    """What the change would do to every clinic's active courses and future booked visits (nothing is saved)."""
    regimen = Regimen.objects.prefetch_related("phases", "monitoring").get(pk=regimen.pk)
    return combined_effects(
        regimen_change_preview.send(
            sender=Regimen, regimen=regimen, proposed=proposed_spec(regimen, changes), now=now or timezone.now()
        )
    )


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number} {one if number == 1 else (many or one + 's')}"


def _minutes(delta: int) -> str:
    return f"grows by {delta} min" if delta > 0 else f"shrinks by {-delta} min"


def effect_phrases(effect: ClinicEffect) -> list[str]:
    """What the change does at one clinic (or all of them added up), one phrase per kind of change."""
    phrases = []
    if effect.booked_outside:
        phrases.append(f"{_count(effect.booked_outside, 'booked appointment')} would fall outside the new window")
    if effect.booked_inside:
        phrases.append(
            f"{_count(effect.booked_inside, 'booked appointment')} outside the old window would fit the new one"
        )
    for delta, number in effect.booked_chair_time:
        phrases.append(f"chair time of {_count(number, 'booked appointment')} {_minutes(delta)}")
    if effect.next_later:
        phrases.append(f"{_count(effect.next_later, 'course')}' next dose moves later")
    if effect.next_earlier:
        phrases.append(f"{_count(effect.next_earlier, 'course')}' next dose moves earlier")
    if effect.next_window:
        phrases.append(f"{_count(effect.next_window, 'course')}' next dose keeps its date in a different window")
    if effect.next_gone:
        phrases.append(f"{_count(effect.next_gone, 'course')} would have no further dose")
    if effect.next_added:
        phrases.append(f"{_count(effect.next_added, 'course')} would have a further dose again")
    for delta, number in effect.next_chair_time:
        phrases.append(f"chair time of {_count(number, 'course')}' next dose {_minutes(delta)}")
    # "1 course' next dose" reads wrongly: the possessive of one course.
    return [re.sub(r"\b1 course' ", "1 course's ", phrase) for phrase in phrases]


def total_effect(effects: RegimenEffects) -> ClinicEffect:
    """Every clinic's counts added up."""

    def add(name):
        return sum(getattr(item, name) for item in effects.clinics)

    def add_minutes(name):
        totals: dict[int, int] = {}
        for item in effects.clinics:
            for delta, number in getattr(item, name):
                totals[delta] = totals.get(delta, 0) + number
        return tuple(sorted(totals.items()))

    counted = [
        "courses", "booked", "next_later", "next_earlier", "next_gone", "next_added", "next_window",
        "booked_outside", "booked_inside",
    ]  # fmt: skip
    return ClinicEffect(
        clinic="All clinics",
        **{name: add(name) for name in counted},
        next_chair_time=add_minutes("next_chair_time"),
        booked_chair_time=add_minutes("booked_chair_time"),
    )


def effect_sentences(effects: RegimenEffects) -> list[str]:
    """The preview in sentences: all clinics first, then each clinic it changes something at."""
    total = total_effect(effects)
    head = (
        f"Across all clinics the regimen has {_count(total.courses, 'active course')} "
        f"and {_count(total.booked, 'future booked appointment')}."
    )
    if not total.changes_anything:
        return [head, "This change moves no course's next dose and no booked appointment."]
    sentences = [head, "In all: " + "; ".join(effect_phrases(total)) + "."]
    for effect in effects.clinics:
        if effect.changes_anything:
            sentences.append(f"{effect.clinic}: " + "; ".join(effect_phrases(effect)) + ".")
    if total.booked_outside:
        sentences.append(
            "Booked appointments are not moved: each one outside its new window gets a note for the front desk "
            "on the day the change takes effect, to rebook it or keep it with the prescriber's agreement."
        )
    return sentences


# --- Proposing and applying -------------------------------------------------------------------


@transaction.atomic
def regimen_change_propose(
    *,
    regimen: Regimen,
    changes: Changes,
    effective_from: date,
    reason: str,
    proposed_by,
    now: datetime | None = None,
) -> RegimenChange:
    """Record a reviewed change to a regimen; one effective today is applied at once.

    Raises ValidationError for a day before today or a change of no values.
    """
    now = now or timezone.now()
    if effective_from < organisation_today(now):
        raise ValidationError(
            {"effective_from": "Choose today or a later day: a change cannot take effect in the past."}
        )
    if not any(changes.get("regimen")) and not any(changes.get("phases", {}).values()):
        raise ValidationError("This change holds no new value.")
    change = RegimenChange(
        regimen=regimen,
        changes=changes,
        effective_from=effective_from,
        reason=reason.strip(),
        proposed_by=proposed_by,
        preview=effect_sentences(regimen_change_effects(regimen, changes, now=now)),
    )
    change.full_clean()
    change.save()
    if effective_from <= organisation_today(now):
        regimen_change_apply(change=change, now=now)
        change.refresh_from_db()
    return change


@transaction.atomic
def regimen_change_apply(*, change: RegimenChange, now: datetime | None = None) -> bool:
    """Write a change's new values into its regimen and phases; False when it was applied already.

    The rows are saved one by one, so the audit trail keeps every value old and new, with the
    proposer as the person who made the change. The apps above are told in the same
    transaction (`regimen_change_applied`): the stored next doses follow, and the booked visits
    outside their new window get their note.
    """
    now = now or timezone.now()
    change = RegimenChange.objects.select_for_update().get(pk=change.pk)
    if change.applied_at is not None:
        return False
    regimen = Regimen.objects.select_for_update().get(pk=change.regimen_id)
    effects = regimen_change_effects(regimen, change.changes, now=now)
    with set_actor(change.proposed_by):
        values = change.changes.get("regimen", {})
        if values:
            for name, (_old, new) in values.items():
                setattr(regimen, name, new)
            regimen.save(update_fields=list(values))
        phases = {str(phase.pk): phase for phase in RegimenPhase.objects.select_for_update().filter(regimen=regimen)}
        for phase_id, phase_values in change.changes.get("phases", {}).items():
            phase = phases.get(phase_id)
            if phase is None or not phase_values:
                continue
            for name, (_old, new) in phase_values.items():
                setattr(phase, name, new)
            phase.save(update_fields=list(phase_values))
    change.applied_at = now
    change.unfit_visits = list(effects.unfit_visits)
    change.save(update_fields=["applied_at", "unfit_visits"])
    regimen_change_applied.send(sender=Regimen, change=change, unfit_visits=change.unfit_visits)
    logger.info(
        "regimen change applied change=%s regimen=%s unfit=%s", change.pk, regimen.pk, len(effects.unfit_visits)
    )
    return True


def regimen_changes_apply_due(*, now: datetime | None = None) -> int:
    """Apply every pending change whose day has come, oldest first; returns how many were applied.

    Each change in its own transaction, claimed with `select_for_update`, so two runs never apply
    one twice and one change that fails leaves the others to apply.
    """
    now = now or timezone.now()
    applied = 0
    for change in RegimenChange.objects.due(organisation_today(now)).order_by("effective_from", "pk"):
        try:
            applied += regimen_change_apply(change=change, now=now)
        except Exception:
            logger.exception("regimen change could not be applied change=%s", change.pk)
    return applied
