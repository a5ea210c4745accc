"""The health endpoint for compose health checks and load balancers: no login, no data.

`GET /health/` answers 200 `{"status": "ok", "database": "ok", "broker": "ok"}` when
PostgreSQL and the Celery broker (Redis) both answer, and 503 naming the part that does not.
`HealthCheckMiddleware` sits first in MIDDLEWARE and answers that path before host
validation, the HTTPS redirect and the login requirement: a load balancer probes each web
machine by its own address over plain HTTP, and the compose health check runs inside the
container, where neither the public host name nor TLS exist. It never reads a table.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health/"
BROKER_TIMEOUT_SECONDS = 3


def _database_ok() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        logger.warning("health check: database unreachable (%s)", type(error).__name__)
        return False


def _broker_ok() -> bool:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
            # A Redis connection object exists before any byte is sent; a round trip proves it.
            client = getattr(conn.default_channel, "client", None)
            if client is not None:
                client.ping()
        return True
    except Exception as error:  # noqa: BLE001
        logger.warning("health check: broker unreachable (%s)", type(error).__name__)
        return False


def health_response() -> JsonResponse:
    checks = {
        "database": "ok" if _database_ok() else "error",
        "broker": "ok" if _broker_ok() else "error",
    }
    healthy = all(value == "ok" for value in checks.values())
    response = JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@never_cache
@require_GET
def health(request):
    """For load balancers and compose health checks: database and broker reachable. No data."""
    return health_response()


class HealthCheckMiddleware:
    """Answer `/health/` before anything that needs the public host name, TLS or a login."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != HEALTH_PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return health_response()
