"""What a nurse must know about a visit before infusing: the badges on the roster.

Pure: `visit_flags` reads the appointment, its course and regimen, and what the dose module
and the dosing rules already answered (the planned dose, the monitoring due). No queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from clinic import dates
from clinic.dosing import MonitoringItem
from clinic.models import MonitoringRule

# Labs are flagged when they fall due within a week of the visit.
LABS_HORIZON_DAYS = 7


@dataclass(frozen=True)
class Flag:
    code: str  # first_infusion, observation, prior_reaction, authorization, authorization_expired, labs, pregnancy,
    # outside_hours, prescriber_hold
    label: str  # shown on the badge
    short: str  # printed on the timeline bar
    level: str  # info, warning, danger
    detail: str = ""


def visit_flags(
    *,
    appointment,
    course,
    regimen,
    programme: str,
    day: date,
    observation_required: bool,
    monitoring: Iterable[MonitoringItem],
    prior_reaction: bool,
    prior_serious_reaction: bool,
    held_for_review: bool = False,
) -> list[Flag]:
    """The badges of one visit on `day`, in the order the roster shows them.

    `programme` is the regimen's programme as the clinic's country names it;
    `prior_reaction` and `prior_serious_reaction` say whether the patient had an infusion
    reaction (a serious one) at an earlier visit; `held_for_review` that a grade 4 or 5 reaction
    holds the course for the prescriber; `monitoring` is the course's checks due.
    """
    flags: list[Flag] = []
    if held_for_review:
        flags.append(
            Flag(
                "prescriber_hold",
                "Held for the prescriber (grade 4+ reaction)",
                "Hold!",
                "danger",
                "Do not infuse until the prescriber has reviewed the reaction and cleared the hold.",
            )
        )
    if appointment.dose_number == 1:
        flags.append(Flag("first_infusion", "First infusion", "1st", "info"))
    if appointment.observation_minutes or observation_required:
        minutes = appointment.observation_minutes
        label = f"Observe {minutes} min" if minutes else "Observation required"
        flags.append(Flag("observation", label, "Obs", "info"))
    if prior_reaction or prior_serious_reaction:
        flags.append(
            Flag(
                "prior_reaction",
                "Serious infusion reaction before" if prior_serious_reaction else "Infusion reaction before",
                "Rx!",
                "danger" if prior_serious_reaction else "warning",
            )
        )
    if regimen.requires_authorization:
        flags.append(_authorization_flag(programme or "Programme", course.authorization_expires_on, day))
    labs = [
        item
        for item in monitoring
        if item.kind == MonitoringRule.Kind.LABS and day <= item.due_date <= day + timedelta(days=LABS_HORIZON_DAYS)
    ]
    if labs:
        names = "; ".join(f"{item.name} (due {dates.day_month(item.due_date)})" for item in labs)
        flags.append(Flag("labs", "Labs due", "Labs", "warning", names))
    if regimen.pregnancy_check:
        flags.append(Flag("pregnancy", "Pregnancy check", "Preg", "warning"))
    return flags


def _authorization_flag(programme: str, expires: date | None, day: date) -> Flag:
    if expires is None:
        return Flag(
            "authorization_expired",
            f"{programme}: no authorization on file",
            "Auth!",
            "danger",
            "Record the authorization and its expiry on the course before infusing.",
        )
    if expires < day:
        return Flag(
            "authorization_expired",
            f"{programme}: authorization expired {dates.day(expires)}",
            "Auth!",
            "danger",
            "Do not infuse until the authorization is renewed, or a clinic manager overrides it with a reason.",
        )
    return Flag("authorization", f"{programme}: check authorization (valid to {dates.day(expires)})", "Auth", "warning")


def outside_hours_flag(*, starts_at, ends_at, opens_at, closes_at, closed_reason: str, tz) -> Flag | None:
    """The badge of a booked visit that no longer fits the day's opening hours, or None when it fits.

    A visit is booked inside the hours; it falls outside them when the clinic later changes its
    hours, its time zone or closes the day. The nurse sees it on the visit, the manager moves it.
    """
    if closed_reason:
        detail = f"The clinic is closed on this day ({closed_reason}): move or cancel the visit."
    elif opens_at is None:
        detail = "The clinic has no opening hours on this weekday: move or cancel the visit."
    elif starts_at < opens_at or ends_at > closes_at:
        detail = (
            f"The clinic is open {opens_at.astimezone(tz):%H:%M}–{closes_at.astimezone(tz):%H:%M} on this day: "
            "move or cancel the visit."
        )
    else:
        return None
    return Flag("outside_hours", "Outside opening hours", "Hours!", "danger", detail)
