"""Failure spikes: one alert line per clinic per hour while its reminders keep failing.

The minute scan calls `reminders_alert_failing`. A clinic with ALERT_AT_FAILED or more
reminders whose attempt failed in the last hour (failed for good, or waiting for a retry)
gets one `logger.error` line, which a log alert can page on. A row per clinic and hour
(`ReminderFailureAlert`) makes it once, however many workers or beats run the scan.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from scheduling.models.reminders import ReminderFailureAlert
from scheduling.reminders.selectors import reminders_failing_by_clinic

logger = logging.getLogger(__name__)

ALERT_WINDOW = timedelta(hours=1)
# A single bad address fails now and then; this many in an hour means the mail server is
# refusing, or something else is wrong for everyone.
ALERT_AT_FAILED = 5


def reminders_alert_failing(*, now: datetime) -> int:
    """Log the alert line for each clinic whose reminders are failing, once per clinic per hour.

    Returns the number of clinics alerted now.
    """
    hour = now.replace(minute=0, second=0, microsecond=0)
    alerted = 0
    for clinic_id, failed in sorted(reminders_failing_by_clinic(since=now - ALERT_WINDOW).items()):
        if failed < ALERT_AT_FAILED:
            continue
        _alert, created = ReminderFailureAlert.objects.get_or_create(
            clinic_id=clinic_id, hour=hour, defaults={"failed": failed}
        )
        if created:
            logger.error("reminders failing clinic=%s failed_last_hour=%s", clinic_id, failed)
            alerted += 1
    return alerted
