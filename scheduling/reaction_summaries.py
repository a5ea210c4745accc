"""Reads of infusion reactions that pages and the booking rules share.

Each reads every course asked about in one query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from clinic import dates
from scheduling.models import InfusionReaction


def _by_course(reactions) -> dict[int, list[InfusionReaction]]:
    grouped: dict[int, list[InfusionReaction]] = defaultdict(list)
    for reaction in reactions:
        grouped[reaction.appointment.course_id].append(reaction)
    return dict(grouped)


@dataclass(frozen=True)
class CourseReactions:
    """A course's reactions as the patient and course pages show them."""

    all: list[InfusionReaction] = field(default_factory=list)  # oldest first

    @property
    def held(self) -> list[InfusionReaction]:
        """Those holding the course for the prescriber."""
        return [reaction for reaction in self.all if reaction.awaiting_review]

    @property
    def hold_sentence(self) -> str:
        return hold_sentence(self.held) if self.held else ""

    def __bool__(self) -> bool:
        return bool(self.all)


def course_reactions(course_ids: Iterable[int]) -> dict[int, CourseReactions]:
    """Every reaction recorded on these courses' visits, by course id (an empty one for a course without)."""
    ids = list(course_ids)
    if not ids:
        return {}
    found = _by_course(
        InfusionReaction.objects.filter(appointment__course_id__in=ids)
        .select_related("appointment__clinic", "recorded_by", "review_cleared_by")
        .order_by("appointment__starts_at", "onset_at", "pk")
    )
    return {course_id: CourseReactions(found.get(course_id, [])) for course_id in ids}


def course_review_holds(course_ids: Iterable[int]) -> dict[int, list[InfusionReaction]]:
    """The reactions holding each course for the prescriber (grade 4 or 5, not cleared yet), by course id."""
    ids = list(course_ids)
    if not ids:
        return {}
    return _by_course(
        InfusionReaction.objects.awaiting_review()
        .filter(appointment__course_id__in=ids)
        .select_related("appointment__clinic")
        .order_by("appointment__starts_at", "onset_at", "pk")
    )


def hold_sentence(reactions: list[InfusionReaction]) -> str:
    """Why a course is held, in one sentence the front desk can act on."""
    first = reactions[0]
    appointment = first.appointment
    day = dates.day(appointment.starts_at.astimezone(appointment.clinic.tz).date())
    more = f" (and {len(reactions) - 1} more)" if len(reactions) > 1 else ""
    return (
        f"A grade {first.grade} infusion reaction at dose {appointment.dose_number} on {day}{more} holds this "
        "course for the prescriber: a clinic manager or the prescriber must review it and clear the hold with "
        "a note on the patient's page before the next dose is booked."
    )
