"""Keeps the stored next-dose state in step with every write, whatever path it takes, and writes down
the chair time each cancellation, move or no-show gives back (for the earlier-time offers).

The booking and visit services, the course pages, the admin and a data fix in the shell all
save appointments and courses through the ORM: these receivers refresh the course's
`DoseState` in that same transaction, so no path can leave it behind. Bulk writes
(`bulk_create`, `update`) send no signal; code that uses them calls
`scheduling.doses.dose_states_refresh` itself. A regimen edit can move thousands of
courses: its courses are recomputed by a Celery task once the edit is committed.

The clinic's admin asks, through `clinic.signals`, what a time-zone change would do to the
visits booked there, and has their reminders re-planned once a change of its clock is saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from clinic.models import Clinic, RegimenPhase
from clinic.signals import SchedulePreview, VisitClock
from patients.models import TreatmentCourse
from scheduling import tasks
from scheduling.availability.loading import closures_between, opening_hours
from scheduling.doses import dose_states_refresh
from scheduling.models import Appointment, DoseState
from scheduling.offers.openings import opening_record
from scheduling.reminders.outbox import appointment_reminders_sync, planned_reminders_follow_clock


def appointment_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw and instance.course_id:
        dose_states_refresh([instance.course_id])


def appointment_event_saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    """A cancellation, a move or a no-show gives chair time back: it is written down for the offer scan."""
    if created and not raw:
        opening_record(event=instance)


def course_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        dose_states_refresh([instance.pk])


def clinic_saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    """A clinic's "due soon" days are part of each of its courses' stored state."""
    if raw or created:
        return
    dose_states_refresh(
        TreatmentCourse.objects.filter(patient__clinic=instance, status=TreatmentCourse.Status.ACTIVE).values_list(
            "pk", flat=True
        )
    )


def regimen_saved(sender, instance, raw=False, **kwargs) -> None:
    if raw:
        return
    regimen_id = getattr(instance, "regimen_id", None) or instance.pk
    transaction.on_commit(partial(tasks.dose_states_refresh_regimen.delay, regimen_id=regimen_id), robust=True)


def clinic_chair_time_saved(sender, instance, raw=False, **kwargs) -> None:
    """A clinic's own chair time for a phase is part of the stored next dose of its courses on that regimen."""
    if raw:
        return
    dose_states_refresh(
        TreatmentCourse.objects.filter(
            patient__clinic_id=instance.clinic_id,
            regimen_id__in=RegimenPhase.objects.filter(pk=instance.phase_id).values("regimen_id"),
            status=TreatmentCourse.Status.ACTIVE,
        ).values_list("pk", flat=True)
    )


def states_after_migrate(sender, using="default", **kwargs) -> None:
    """A database migrated to this version for the first time gets its states computed."""
    if not DoseState.objects.using(using).exists() and TreatmentCourse.objects.using(using).exists():
        dose_states_refresh()


# --- The clinic's clock ----------------------------------------------------------------------


def _future_booked(clinic: Clinic) -> list[Appointment]:
    return list(
        Appointment.objects.filter(clinic=clinic, status=Appointment.Status.BOOKED, starts_at__gt=timezone.now())
        .select_related("chair", "patient")
        .order_by("starts_at", "pk")
    )


def _preview(clinic: Clinic, appointments: Iterable[Appointment], *, before: ZoneInfo, after: ZoneInfo):
    """Each visit's local start before and after, and whether it lies inside the clinic's hours after."""
    appointments = list(appointments)
    if not appointments:
        return SchedulePreview()
    hours = opening_hours(clinic)
    closures = closures_between(
        clinic,
        appointments[0].starts_at.astimezone(after).date(),
        appointments[-1].ends_at.astimezone(after).date(),
    )
    clocks = []
    for appointment in appointments:
        starts, ends = appointment.starts_at.astimezone(after), appointment.ends_at.astimezone(after)
        day = starts.date()
        opening = hours.get(day.weekday())
        outside = (
            opening is None
            or ends.date() != day
            or any(first <= day <= last for first, last, _reason in closures)
            or starts.time() < opening[0]
            or ends.time() > opening[1]
        )
        clocks.append(
            VisitClock(
                before=appointment.starts_at.astimezone(before),
                after=starts,
                ends_after=ends,
                chair=appointment.chair.name,
                outside_hours=outside,
            )
        )
    return SchedulePreview(tuple(clocks))


def clinic_schedule_preview(sender, clinic, time_zone, **kwargs) -> SchedulePreview:
    """What moving the clinic to `time_zone` would do to its future booked visits (nothing is saved)."""
    return _preview(clinic, _future_booked(clinic), before=ZoneInfo(clinic.time_zone), after=ZoneInfo(time_zone))


def clinic_schedule_changed(sender, clinic, changed, previous_time_zone=None, **kwargs) -> SchedulePreview:
    """Re-plan the reminders of the clinic's future booked visits after its clock changed.

    Each visit keeps its moment; its reminders move to the reminder hour, on the reminder
    days, in the clinic's time zone as now saved. The pending dose and lab reminders keep their
    local day and take the new hour (one already past today goes out at once). Returns the visits as they now stand, so
    the admin can name those that fall outside the opening hours.
    """
    clinic = Clinic.objects.get(pk=clinic.pk)  # as saved, not an instance whose time zone was read before
    appointments = _future_booked(clinic)
    for appointment in appointments:
        appointment.clinic = clinic
        appointment_reminders_sync(appointment=appointment)
    planned_reminders_follow_clock(clinic=clinic, previous_time_zone=previous_time_zone)
    return _preview(clinic, appointments, before=ZoneInfo(previous_time_zone or clinic.time_zone), after=clinic.tz)
