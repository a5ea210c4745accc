"""What a change to a shared regimen does to the courses and booked visits of every clinic.

The clinic app asks through `clinic.signals` (it knows nothing of appointments): before a
change is confirmed, and again as it is applied. The answer runs the real dose rules twice over
every active course on the regimen, with the values as saved and as proposed, each clinic's own
chair time applied both ways, and counts per clinic what moves: the next unbooked dose (later,
earlier, gone, a different window, a different chair time) and each future booked visit (inside
its old window and outside the new one, or a different chair time). Counts only: the formulary
manager who reads them sees no clinic's patients.

Once applied, the stored next doses of the regimen's courses are refreshed in the same
transaction, and each booked visit outside its new window gets a note for the front desk.
Nothing is moved: whether to rebook is the prescriber's and the front desk's call.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from clinic import dates
from clinic.dosing import PlannedDose
from clinic.models import Clinic, Regimen, RegimenChange
from clinic.signals import ClinicEffect, RegimenEffects
from patients.models import TreatmentCourse
from scheduling.doses import (
    RegimenSpecs,
    Visit,
    clinic_chair_times,
    clinic_today,
    course_visits,
    dose_states_refresh,
    plan_course,
    planned_from,
)
from scheduling.models import Appointment, statuses

logger = logging.getLogger(__name__)


def _outside(visit: Visit, planned: PlannedDose | None) -> bool:
    return planned is None or not planned.earliest_date <= visit.date <= planned.latest_date


class _Tally:
    def __init__(self, clinic: Clinic) -> None:
        self.clinic = clinic
        self.counts: Counter[str] = Counter()
        self.next_minutes: Counter[int] = Counter()
        self.booked_minutes: Counter[int] = Counter()

    def effect(self) -> ClinicEffect:
        return ClinicEffect(
            clinic=self.clinic.name,
            **self.counts,
            next_chair_time=tuple(sorted(self.next_minutes.items())),
            booked_chair_time=tuple(sorted(self.booked_minutes.items())),
        )


def _next_dose(tally: _Tally, old: PlannedDose | None, new: PlannedDose | None) -> None:
    if old is None and new is None:
        return
    if new is None:
        tally.counts["next_gone"] += 1
        return
    if old is None:
        tally.counts["next_added"] += 1
        return
    if new.target_date > old.target_date:
        tally.counts["next_later"] += 1
    elif new.target_date < old.target_date:
        tally.counts["next_earlier"] += 1
    elif (new.earliest_date, new.latest_date) != (old.earliest_date, old.latest_date):
        tally.counts["next_window"] += 1
    delta = new.chair_time.total_minutes - old.chair_time.total_minutes
    if delta:
        tally.next_minutes[delta] += 1


def regimen_change_preview(sender, regimen: Regimen, proposed, now: datetime, **kwargs) -> RegimenEffects:
    """Count what the proposed values would change at each clinic (nothing is saved)."""
    courses = list(
        TreatmentCourse.objects.filter(regimen=regimen, status=TreatmentCourse.Status.ACTIVE)
        .select_related("patient__clinic")
        .order_by("pk")
    )
    specs = RegimenSpecs([regimen])
    chair_times = clinic_chair_times([regimen.pk])
    visits = course_visits(courses)
    tallies: dict[int, _Tally] = {}
    unfit: list[int] = []
    for course in courses:
        clinic = course.patient.clinic
        tally = tallies.setdefault(clinic.pk, _Tally(clinic))
        old_spec = specs.for_course(course)
        new_spec = proposed.with_chair_time(chair_times.get((clinic.pk, regimen.pk), {}))
        today = clinic_today(clinic, now)
        given, booked = visits[course.pk]
        tally.counts["courses"] += 1
        try:
            _next_dose(
                tally,
                plan_course(old_spec, course, (given, booked), today=today).next,
                plan_course(new_spec, course, (given, booked), today=today).next,
            )
            history = (*given, *booked)
            for visit in booked:
                if visit.status != statuses.AppointmentStatus.BOOKED or visit.starts_at <= now:
                    continue
                tally.counts["booked"] += 1
                old = planned_from(old_spec, course, history, visit.dose_number, today=today)
                new = planned_from(new_spec, course, history, visit.dose_number, today=today)
                was_outside, is_outside = _outside(visit, old), _outside(visit, new)
                if is_outside and not was_outside:
                    tally.counts["booked_outside"] += 1
                    unfit.append(visit.appointment_id)
                elif was_outside and not is_outside:
                    tally.counts["booked_inside"] += 1
                if old is not None and new is not None:
                    delta = new.chair_time.total_minutes - old.chair_time.total_minutes
                    if delta:
                        tally.booked_minutes[delta] += 1
        except Exception:
            # A course the rules cannot plan is a data problem already listed for its managers;
            # it must not stop the preview of every other course.
            logger.warning("regimen change preview skipped course=%s regimen=%s", course.pk, regimen.pk)
    return RegimenEffects(
        clinics=tuple(tally.effect() for tally in tallies.values()),
        unfit_visits=tuple(unfit),
    )


def _unfit_note(appointment: Appointment, change: RegimenChange) -> str:
    return (
        f"Regimen change from {dates.day(change.effective_from)}: the {change.regimen} rules no longer place "
        f"dose {appointment.dose_number} on this day (outside its dosing window). The visit was not moved: rebook "
        "it, or keep it with the prescriber's agreement."
    )


def regimen_change_applied(sender, change: RegimenChange, unfit_visits, **kwargs) -> None:
    """Refresh the regimen's stored next doses and note the booked visits that no longer fit."""
    for appointment in Appointment.objects.filter(pk__in=list(unfit_visits)).select_related("course__regimen"):
        note = _unfit_note(appointment, change)
        appointment.notes = f"{appointment.notes}\n{note}".strip() if appointment.notes else note
        appointment.save(update_fields=["notes"])
    dose_states_refresh(
        TreatmentCourse.objects.filter(regimen_id=change.regimen_id, status=TreatmentCourse.Status.ACTIVE).values_list(
            "pk", flat=True
        )
    )


# --- The front desk's list --------------------------------------------------------------------


@dataclass(frozen=True)
class UnfitVisit:
    """A booked visit an applied regimen change left outside its dosing window, as the worklist lists it."""

    appointment: Appointment
    starts_local: datetime
    earliest: date | None
    latest: date | None
    change: RegimenChange

    @property
    def when(self) -> str:
        """The visit's day and start in its clinic's time: Fri 12 Mar 2027, 09:00."""
        return dates.weekday_moment(self.starts_local)

    @property
    def window(self) -> str:
        if self.earliest is None or self.latest is None:
            return "no such dose in the regimen now"
        return f"{dates.day(self.earliest)} to {dates.day(self.latest)}"


def regimen_unfit_visits(clinics, *, now: datetime | None = None) -> list[UnfitVisit]:
    """Future booked visits of these clinics that a regimen change left outside their window, soonest first.

    Read live: a visit rebooked into its window, cancelled or given drops off the list.
    """
    now = now or timezone.now()
    noted = {
        pk: change
        for change in RegimenChange.objects.exclude(applied_at=None).select_related("regimen")
        for pk in change.unfit_visits
    }
    if not noted:
        return []
    appointments = list(
        Appointment.objects.filter(
            pk__in=list(noted), clinic__in=clinics, status=statuses.AppointmentStatus.BOOKED, starts_at__gt=now
        )
        .select_related("patient", "chair", "clinic", "course__regimen", "course__patient__clinic")
        .order_by("starts_at", "pk")
    )
    courses = list({appointment.course_id: appointment.course for appointment in appointments}.values())
    visits = course_visits(courses)
    specs = RegimenSpecs.for_regimens(course.regimen_id for course in courses)
    found = []
    for appointment in appointments:
        course = appointment.course
        given, booked = visits[course.pk]
        visit = next((item for item in booked if item.appointment_id == appointment.pk), None)
        if visit is None:
            continue
        planned = planned_from(
            specs.for_course(course),
            course,
            (*given, *booked),
            appointment.dose_number,
            today=clinic_today(appointment.clinic, now),
        )
        if _outside(visit, planned):
            found.append(
                UnfitVisit(
                    appointment=appointment,
                    starts_local=appointment.starts_at.astimezone(appointment.clinic.tz),
                    earliest=planned.earliest_date if planned else None,
                    latest=planned.latest_date if planned else None,
                    change=noted[appointment.pk],
                )
            )
    return found
