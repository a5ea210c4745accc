"""The checks before the needle: which items a visit asks for, which are ticked, and what still stops the infusion.

`checklist_for` is pure: it reads the regimen's checks (clinic.RegimenCheck, data), the visit's
standing ticks and the course's authorization, and answers with the items in roster order and
the sentence that refuses "Start infusion" while something is open. `visit_checklist` reads
those rows for one visit; the roster reads them for the whole day at once (selectors).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from clinic import dates, dosing
from clinic.models import RegimenCheck
from scheduling.models import Appointment, VisitCheck


@dataclass(frozen=True)
class ChecklistItem:
    check_id: int
    label: str
    kind: str
    verified: bool
    ticked_by: str = ""  # the nurse's name, when ticked
    ticked_at: datetime | None = None

    @property
    def ticked(self) -> bool:
        return self.ticked_at is not None

    @property
    def is_authorization(self) -> bool:
        return self.kind == RegimenCheck.Kind.AUTHORIZATION


@dataclass(frozen=True)
class Checklist:
    items: list[ChecklistItem]
    programme: str
    authorization_expires_on: date | None
    authorization_current: bool  # True too when no item asks for an authorization
    override_reason: str = ""
    override_by: str = ""
    override_at: datetime | None = None

    @property
    def open_items(self) -> list[ChecklistItem]:
        return [item for item in self.items if not item.ticked]

    @property
    def overridden(self) -> bool:
        return self.override_at is not None

    @property
    def needs_override(self) -> bool:
        """The authorization is expired or not on file, and no manager has overridden it yet."""
        return not self.authorization_current and not self.overridden

    def refusal(self) -> str | None:
        """Why the infusion cannot start yet, in sentences naming what to do; None when it can."""
        sentences = []
        if self.open_items:
            sentences.append(f"Tick {_the(item.label for item in self.open_items)} before starting the infusion.")
        if self.needs_override:
            sentences.append(self.authorization_problem())
        return " ".join(sentences) or None

    def authorization_problem(self) -> str:
        programme = self.programme or "programme"
        if self.authorization_expires_on is None:
            problem = f"No {programme} authorization is recorded on the course"
            fix = "record it and its expiry on the course"
        else:
            problem = f"The {programme} authorization expired on {dates.day(self.authorization_expires_on)}"
            fix = "renew it on the course"
        return f"{problem}: {fix}, or ask a clinic manager to override it with a reason."


def _the(labels: Iterable[str]) -> str:
    """'the a', 'the a and the b', 'the a, the b and the c'."""
    named = [f"the {label}" for label in labels]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def checklist_for(
    *,
    appointment: Appointment,
    checks: Iterable[RegimenCheck],
    first_of_block: bool,
    ticks: Iterable[VisitCheck],
    programme: str,
    authorization_expires_on: date | None,
    day: date,
    authorization_label: str = "",
) -> Checklist:
    """The visit's checklist: the regimen's active checks that its dose asks for, with the standing ticks.

    `checks` are the regimen's checks in roster order; `ticks` the visit's standing ticks (their
    `ticked_by` loaded); `first_of_block` whether the dose opens its block; `day` the visit's
    local day, on which an authorization item needs the course's authorization to be current.
    `authorization_label` names the authorization item where the clinic's country calls the
    programme by another name than the seeded label does (a UK clinic has no TOUCH).
    """
    ticked = {tick.regimen_check_id: tick for tick in ticks}
    items = []
    for check in checks:
        if not check.applies_to(dose_number=appointment.dose_number, first_of_block=first_of_block):
            continue
        tick = ticked.get(check.pk)
        items.append(
            ChecklistItem(
                check_id=check.pk,
                label=authorization_label
                if authorization_label and check.kind == RegimenCheck.Kind.AUTHORIZATION
                else check.label,
                kind=check.kind,
                verified=check.verified,
                ticked_by=_name(tick.ticked_by) if tick else "",
                ticked_at=tick.ticked_at if tick else None,
            )
        )
    asks_authorization = any(item.is_authorization for item in items)
    current = not asks_authorization or (authorization_expires_on is not None and authorization_expires_on >= day)
    return Checklist(
        items=items,
        programme=programme,
        authorization_expires_on=authorization_expires_on,
        authorization_current=current,
        override_reason=appointment.authorization_override_reason,
        override_by=_name(appointment.authorization_override_by) if appointment.authorization_override_at else "",
        override_at=appointment.authorization_override_at,
    )


def visit_checklist(appointment: Appointment) -> Checklist:
    """One visit's checklist, read from the database (the services ask this before a tick or an infusion)."""
    course = appointment.course
    regimen = course.regimen
    checks = RegimenCheck.objects.filter(regimen=regimen, active=True).order_by("position", "pk")
    ticks = VisitCheck.objects.standing().filter(appointment=appointment).select_related("ticked_by")
    return checklist_for(
        appointment=appointment,
        checks=checks,
        first_of_block=dosing.first_of_block(regimen.spec(), appointment.dose_number),
        ticks=ticks,
        authorization_expires_on=course.authorization_expires_on,
        day=appointment.starts_at.astimezone(appointment.clinic.tz).date(),
        **local_programme(regimen, appointment.clinic.country),
    )


def local_programme(regimen, country) -> dict:
    """`programme` and `authorization_label` for `checklist_for`, as the clinic's country names them."""
    local = regimen.programme_for(country)
    return {"programme": local, "authorization_label": f"{local} authorization" if local != regimen.programme else ""}
