"""When a reminder falls due: the clinic's reminder hour on a local date, in UTC; a local day's start."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from clinic.models import Clinic
from scheduling.doses import clinic_today


def _reminder_time(clinic: Clinic) -> time:
    value = clinic.reminder_local_time
    # A clinic created in this process and not reloaded still holds the field's string default.
    return time.fromisoformat(value) if isinstance(value, str) else value


def local_moment(clinic: Clinic, day: date) -> datetime:
    """`day` at the clinic's reminder hour, in UTC.

    Built from the local date and wall-clock time, so 09:00 stays 09:00 on both sides of a
    daylight-saving change (the UTC hour moves instead).
    """
    return datetime.combine(day, _reminder_time(clinic), tzinfo=clinic.tz).astimezone(UTC)


def next_local_moment(clinic: Clinic, now: datetime, *, not_before: date | None = None) -> datetime:
    """The first reminder hour at or after `now` (and on or after `not_before`)."""
    day = max(clinic_today(clinic, now), not_before or date.min)
    moment = local_moment(clinic, day)
    if moment < now:
        moment = local_moment(clinic, day + timedelta(days=1))
    return moment


def local_day_start(clinic: Clinic, day: date) -> datetime:
    """Midnight at the start of `day` on the clinic's wall clock, in UTC."""
    return datetime.combine(day, time.min, tzinfo=clinic.tz).astimezone(UTC)
