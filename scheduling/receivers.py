"""Keeps the stored next-dose state in step with every write, whatever path it takes.

The booking and visit services, the course pages, the admin and a data fix in the shell all
save appointments and courses through the ORM: these receivers refresh the course's
`DoseState` in that same transaction, so no path can leave it behind. Bulk writes
(`bulk_create`, `update`) send no signal; code that uses them calls
`scheduling.doses.dose_states_refresh` itself. A regimen edit can move thousands of
courses: its courses are recomputed by a Celery task once the edit is committed.
"""

from __future__ import annotations

from functools import partial

from django.db import transaction

from patients.models import TreatmentCourse
from scheduling import tasks
from scheduling.doses import dose_states_refresh
from scheduling.models import DoseState


def appointment_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw and instance.course_id:
        dose_states_refresh([instance.course_id])


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


def states_after_migrate(sender, using="default", **kwargs) -> None:
    """A database migrated to this version for the first time gets its states computed."""
    if not DoseState.objects.using(using).exists() and TreatmentCourse.objects.using(using).exists():
        dose_states_refresh()
