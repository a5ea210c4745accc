"""An appointment's statuses and the groups the rest of Chairside asks about, named once.

The groups are the vocabulary of every query: the booking rules, the exclusion constraints
(migration 0002), the roster, reminders and the dose module all read them from here.
"""

from __future__ import annotations

from django.db import models


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ARRIVED = "arrived", "Arrived"
    IN_CHAIR = "in_chair", "In chair"
    INFUSING = "infusing", "Infusing"
    OBSERVATION = "observation", "Observation"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


_S = AppointmentStatus

# The patient is in the clinic and the visit has begun, not yet finished.
IN_PROGRESS = (_S.ARRIVED, _S.IN_CHAIR, _S.INFUSING, _S.OBSERVATION)
# Holds a chair and the patient's time, and the dose is not given yet: booked or in progress.
UPCOMING = (_S.BOOKED, *IN_PROGRESS)
# Holds the chair and the patient: nothing else may overlap it (the exclusion constraints).
ACTIVE = (*UPCOMING, _S.COMPLETED)
# Over, one way or another: nothing more happens to the visit.
FINISHED = (_S.COMPLETED, _S.CANCELLED, _S.NO_SHOW)


def sql_list(statuses) -> str:
    """The statuses as an SQL list, for a constraint's WHERE clause: ('booked', 'arrived')."""
    return "(" + ", ".join(f"'{status}'" for status in statuses) + ")"
