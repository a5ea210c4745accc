"""The minute scan: claim the reminder rows that are due and hand each to a send task.

The scan does not know Celery: the task that runs it passes in `enqueue`, which queues
one send for a row id, so the tasks module depends on the reminders and never the other
way round.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scheduling.models import Reminder
from scheduling.reminders.outbox import RETRY_EVERY, RETRY_WAITS, SENDING_TIMEOUT

logger = logging.getLogger(__name__)

Status = Reminder.Status


def _backoff_elapsed(now: datetime) -> Q:
    """Pending rows whose wait after their last failed attempt is over (see `outbox.retry_wait`)."""
    condition = Q(attempts=0) | Q(claimed_at__isnull=True)
    for attempts, wait in enumerate(RETRY_WAITS, start=1):
        condition |= Q(attempts=attempts, claimed_at__lte=now - wait)
    return condition | Q(attempts__gt=len(RETRY_WAITS), claimed_at__lte=now - RETRY_EVERY)


def _enqueue_all(enqueue: Callable[[int], object], ids: list[int]) -> None:
    for reminder_id in ids:
        enqueue(reminder_id)


@transaction.atomic
def reminders_dispatch_due(*, now: datetime, enqueue: Callable[[int], object], limit: int = 500) -> int:
    """Claim up to `limit` due rows and call `enqueue(reminder_id)` for each once the claim commits.

    Claims pending rows whose time has come (and whose retry backoff is over), and rows
    stuck in 'sending' past SENDING_TIMEOUT (their task was lost: a whole worker killed, the
    queue flushed; the broker would give it back only after its visibility timeout).
    `skip_locked` lets two scans run side by side without claiming a row twice. Returns the
    number of rows claimed; call again while it equals `limit`.
    """
    due = Reminder.objects.filter(status=Status.PENDING, due_at__lte=now).filter(_backoff_elapsed(now))
    stuck = Reminder.objects.filter(status=Status.SENDING, claimed_at__lt=now - SENDING_TIMEOUT)
    ids = list(due.select_for_update(skip_locked=True).order_by("due_at").values_list("pk", flat=True)[:limit])
    if len(ids) < limit:
        ids += list(
            stuck.select_for_update(skip_locked=True)
            .order_by("claimed_at")
            .values_list("pk", flat=True)[: limit - len(ids)]
        )
    if not ids:
        return 0
    Reminder.objects.filter(pk__in=ids).update(status=Status.SENDING, claimed_at=now, updated_at=timezone.now())
    transaction.on_commit(partial(_enqueue_all, enqueue, ids), robust=True)
    logger.info("reminders claimed count=%s", len(ids))
    return len(ids)
