"""What the availability search reads from the database, as plain values for `day.py`.

A fixed number of queries whatever the number of appointments: the chairs, the opening hours
with the day's nurse staffing, the closures, and the active appointments of the date range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import OuterRef, Q, Subquery

from clinic.models import Chair, Clinic, Closure, NurseStaffing, OpeningHours
from scheduling.availability.day import Booked, ClinicRules, minutes, minutes_ceil
from scheduling.models import Appointment


@dataclass
class ClinicData:
    rules: ClinicRules
    chairs: list[tuple[int, str]]  # (id, name) in the clinic's order
    hours: dict[int, tuple[time, time, int]]  # weekday -> (opens, closes, nurses)
    closures: list[tuple[date, date, str]]  # (first day, last day, reason)
    booked: list[Booked] = field(default_factory=list)


def bookable_chairs(clinic: Clinic, chair_ids: Sequence[int] | None = None) -> list[tuple[int, str]]:
    """The clinic's active chairs as (id, name), in the order the clinic lists them."""
    chairs = Chair.objects.filter(clinic=clinic, active=True).order_by("position", "name")
    if chair_ids is not None:
        chairs = chairs.filter(pk__in=list(chair_ids))
    return list(chairs.values_list("id", "name"))


def opening_hours(clinic: Clinic) -> dict[int, tuple[time, time, int]]:
    """Weekday -> (opens, closes, nurses on duty), in one query; a weekday missing is closed."""
    staffing = NurseStaffing.objects.filter(clinic=OuterRef("clinic"), weekday=OuterRef("weekday")).values("nurses")
    return {
        weekday: (opens, closes, nurses or 0)
        for weekday, opens, closes, nurses in OpeningHours.objects.filter(clinic=clinic)
        .annotate(nurses=Subquery(staffing[:1]))
        .values_list("weekday", "opens", "closes", "nurses")
    }


def closures_between(clinic: Clinic, start: date, end: date) -> list[tuple[date, date, str]]:
    """The clinic's closures touching the local days `start` to `end`, as (first, last, reason)."""
    return list(
        Closure.objects.filter(clinic=clinic, starts_on__lte=end, ends_on__gte=start).values_list(
            "starts_on", "ends_on", "reason"
        )
    )


def booked_between(
    clinic: Clinic,
    start: date,
    end: date,
    *,
    patient_id: int | None = None,
    exclude_appointment_ids: Iterable[int] = (),
) -> list[Booked]:
    """The active appointments of the clinic (and of the patient, at any clinic) around these days."""
    tz = clinic.tz
    # One day of margin either side: appointments are bucketed by the clinic's local day.
    range_start = datetime.combine(start - timedelta(days=1), time.min, tzinfo=tz)
    range_end = datetime.combine(end + timedelta(days=2), time.min, tzinfo=tz)
    who = Q(clinic=clinic)
    if patient_id is not None:
        who |= Q(patient_id=patient_id)
    rows = (
        Appointment.objects.active()
        .filter(who, starts_at__lt=range_end, ends_at__gt=range_start)
        .exclude(pk__in=list(exclude_appointment_ids))
        .values_list("id", "chair_id", "patient_id", "clinic_id", "starts_at", "ends_at", "premed_minutes")
    )
    booked = []
    for pk, chair_id, patient, clinic_id, starts_at, ends_at, premed in rows:
        begin = minutes(starts_at)
        booked.append(Booked(chair_id, patient, clinic_id, begin, minutes_ceil(ends_at), begin + premed, pk))
    return booked


def load_clinic_data(
    *,
    clinic: Clinic,
    start: date,
    end: date,
    patient_id: int | None,
    chair_ids: Sequence[int] | None,
    exclude_appointment_ids: Iterable[int],
) -> ClinicData:
    """Everything the search needs for the local days `start` to `end`, in four queries."""
    return ClinicData(
        rules=ClinicRules.of(clinic),
        chairs=bookable_chairs(clinic, chair_ids),
        hours=opening_hours(clinic),
        closures=closures_between(clinic, start, end),
        booked=booked_between(
            clinic, start, end, patient_id=patient_id, exclude_appointment_ids=exclude_appointment_ids
        ),
    )
