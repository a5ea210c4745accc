"""Thin Celery tasks: they take ids, call a service, and keep no state.

The outbox rows are the record; a task that is lost, repeated or killed changes nothing
the next minute scan cannot put right. Late acknowledgement and reject-on-worker-lost
come from settings (CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST); which queue
each task goes to comes from CELERY_TASK_ROUTES (sends apart from the scan and the planner).
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from clinic.regimen_changes import regimen_changes_apply_due as apply_due_regimen_changes
from patients.models import TreatmentCourse
from scheduling.doses import dose_states_refresh
from scheduling.offers import services as offers
from scheduling.reminders import alerts, dispatcher, planner, sender

# Rows claimed per scan round; the scan goes round again while a round is full.
DISPATCH_CHUNK = 500
# One scan never claims more than this, so a backlog drains over a few minutes instead of
# flooding the queue in one go.
DISPATCH_MAX = 20_000
# A send that finds its row held by another attempt or a booking change tries again after
# this many seconds, this many times (a minute in all); after that the scan's re-claim
# (outbox.SENDING_TIMEOUT) picks the row up.
BUSY_RETRY_SECONDS = 5
BUSY_RETRIES = 12
# A send's limits: EMAIL_TIMEOUT (10 s) bounds each step of the SMTP conversation, these
# bound the whole of it. The soft limit records the attempt as failed and retried; the hard
# limit kills a send stuck past it. outbox.SENDING_TIMEOUT and the broker's visibility
# timeout are longer than both (see the README).
SEND_SOFT_TIME_LIMIT = 60
SEND_TIME_LIMIT = 75


@shared_task(name="scheduling.tasks.reminders_dispatch_due", expires=50, soft_time_limit=50, time_limit=60)
def reminders_dispatch_due() -> int:
    """Every minute: claim the due reminder rows, enqueue one send task per row, alert on failures."""
    now = timezone.now()
    claimed = 0
    while claimed < DISPATCH_MAX:
        count = dispatcher.reminders_dispatch_due(now=now, limit=DISPATCH_CHUNK, enqueue=reminder_send_later)
        claimed += count
        if count < DISPATCH_CHUNK:
            break
    alerts.reminders_alert_failing(now=now)
    return claimed


@shared_task(name="scheduling.tasks.reminders_plan", soft_time_limit=25 * 60, time_limit=30 * 60)
def reminders_plan() -> int:
    """Every hour: create the due-soon, overdue and lab reminders the dosing rules call for."""
    return planner.reminders_plan(now=timezone.now())


@shared_task(
    name="scheduling.tasks.reminder_send",
    bind=True,
    soft_time_limit=SEND_SOFT_TIME_LIMIT,
    time_limit=SEND_TIME_LIMIT,
)
def reminder_send(self, *, reminder_id: int) -> str:
    """Send one reminder row; a second delivery of the same id finds it sent and does nothing."""
    outcome = sender.reminder_deliver(reminder_id=reminder_id)
    if outcome == sender.BUSY and self.request.retries < BUSY_RETRIES:
        raise self.retry(countdown=BUSY_RETRY_SECONDS, max_retries=BUSY_RETRIES)
    return outcome


def reminder_send_later(reminder_id: int) -> None:
    """Queue the send of one claimed row: what the minute scan calls once its claim commits."""
    reminder_send.delay(reminder_id=reminder_id)


@shared_task(name="scheduling.tasks.offers_advance", expires=50, soft_time_limit=50, time_limit=60)
def offers_advance() -> int:
    """Every minute: end the offers of an earlier time whose answer time is over, and ask the next patients."""
    return offers.offers_advance(now=timezone.now())


@shared_task(name="scheduling.tasks.dose_states_refresh_regimen", soft_time_limit=25 * 60, time_limit=30 * 60)
def dose_states_refresh_regimen(*, regimen_id: int) -> int:
    """After a regimen edit: recompute the stored next dose of every course on that regimen."""
    return dose_states_refresh(TreatmentCourse.objects.filter(regimen_id=regimen_id).values_list("pk", flat=True))


@shared_task(name="scheduling.tasks.regimen_changes_apply_due", soft_time_limit=25 * 60, time_limit=30 * 60)
def regimen_changes_apply_due() -> int:
    """Every hour: apply the regimen changes whose effective day has come (their courses refreshed with them)."""
    return apply_due_regimen_changes(now=timezone.now())
