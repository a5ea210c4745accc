"""The rows of each export, for one clinic and a period of its local days (first and last included)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from auditlog.models import LogEntry
from django.db.models import Q

from audit.history import about, history
from clinic.models import Chair, Clinic, Closure, NurseStaffing, OpeningHours
from patients.models import Patient, TreatmentCourse
from scheduling.capacity import selectors as capacity_selectors
from scheduling.capacity.utilisation import clinic_utilisation
from scheduling.models import Appointment, CalendarFeed, DataTransfer, NurseAssignment

# The most audit entries one export writes; a longer period is split.
AUDIT_LIMIT = 100_000

APPOINTMENT_HEADER = [
    "appointment",
    "day",
    "starts",
    "ends",
    "chair",
    "mrn",
    "patient",
    "drug",
    "regimen",
    "dose",
    "status",
    "booked_by",
    "arrived",
    "infusion_started",
    "infusion_ended",
    "completed",
    "reaction",
]
AUDIT_HEADER = ["at", "by", "via", "address", "action", "what", "record", "changes"]


def _bounds(clinic: Clinic, start: date, end: date) -> tuple[datetime, datetime]:
    tz = clinic.tz
    return datetime.combine(start, time.min, tzinfo=tz), datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)


def _clock(moment: datetime | None, tz) -> str:
    return moment.astimezone(tz).strftime("%H:%M") if moment else ""


def appointment_rows(clinic: Clinic, start: date, end: date) -> Iterator[list[str]]:
    """Every appointment of the clinic starting in the period, whatever its status, oldest first."""
    first, last = _bounds(clinic, start, end)
    tz = clinic.tz
    appointments = (
        Appointment.objects.filter(clinic=clinic, starts_at__gte=first, starts_at__lt=last)
        .select_related("chair", "patient", "course__regimen__drug", "booked_by")
        .order_by("starts_at", "chair__position", "pk")
    )
    for appointment in appointments.iterator(chunk_size=2000):
        local = appointment.starts_at.astimezone(tz)
        booked_by = appointment.booked_by
        yield [
            appointment.pk,
            local.date().isoformat(),
            local.strftime("%H:%M"),
            _clock(appointment.ends_at, tz),
            appointment.chair.name,
            appointment.patient.mrn,
            appointment.patient.full_name,
            appointment.course.regimen.drug.brand_name,
            appointment.course.regimen.code,
            appointment.dose_number,
            appointment.get_status_display(),
            (booked_by.get_full_name() or booked_by.get_username()) if booked_by else "",
            _clock(appointment.arrived_at, tz),
            _clock(appointment.infusion_started_at, tz),
            _clock(appointment.infusion_ended_at, tz),
            _clock(appointment.completed_at, tz),
            "serious" if appointment.serious_reaction else ("yes" if appointment.infusion_reaction else ""),
        ]


def utilisation_rows(clinic: Clinic, start: date, end: date) -> tuple[list[str], list[list[str]]]:
    """The utilisation page's figures for the period, by week, as its own CSV gives them."""
    result = clinic_utilisation(clinic, start=start, end=end, drug=None, granularity="week")
    return capacity_selectors.UTILISATION_HEADER, capacity_selectors.utilisation_rows(result)


def clinic_audit_entries(clinic: Clinic, start: date, end: date):
    """Every audit entry about the clinic's own rows (changes and record views) in the period."""
    first, last = _bounds(clinic, start, end)
    parts = [
        about(Clinic.objects.filter(pk=clinic.pk)),
        about(Patient.objects.filter(clinic=clinic)),
        about(TreatmentCourse.objects.filter(patient__clinic=clinic)),
        about(Appointment.objects.filter(clinic=clinic)),
        about(NurseAssignment.objects.filter(clinic=clinic)),
        about(CalendarFeed.objects.filter(clinic=clinic)),
        about(DataTransfer.objects.filter(clinic=clinic)),
    ]
    for model in (Chair, OpeningHours, Closure, NurseStaffing):
        parts.append(about(model.objects.filter(clinic=clinic), owner="clinic", owner_id=clinic.pk))
    found = Q()
    for part in parts:
        found |= part
    return (
        LogEntry.objects.filter(found, timestamp__gte=first, timestamp__lt=last)
        .select_related("actor", "content_type")
        .order_by("timestamp", "pk")
    )


def audit_rows(clinic: Clinic, start: date, end: date) -> Iterator[list[str]]:
    entries = clinic_audit_entries(clinic, start, end)
    # The record's id comes with each row: reading the log a second time for it could pair a
    # row with another entry's id when an entry is written between the two reads.
    for row in history(entries, time_zone=clinic.tz, limit=AUDIT_LIMIT).rows:
        yield [
            row.at.strftime("%Y-%m-%d %H:%M:%S"),
            row.actor,
            row.via,
            row.address,
            row.action,
            row.what,
            row.record,
            "; ".join(f"{change.field}: {change.old} → {change.new}" for change in row.changes),
        ]
