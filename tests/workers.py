"""Keeps parallel test workers apart (pytest-xdist), loaded with `-p tests.workers` before Django.

Each worker has its own test database already (pytest-django names it test_<name>_gw<N>). The
Redis database and the Celery queue are read from the environment when the settings load, and
the tests that flush Redis or start a real Celery worker must not reach another worker's tasks:
worker gw<N> takes the database after the one REDIS_URL names, plus N, and a queue of its own.
A run without workers changes nothing.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse, urlunparse

# Redis has databases 0-15; the smoke test of the compose stack keeps 15 for itself.
SMOKE_REDIS_DATABASE = 15


def worker_environment(environ: dict[str, str]) -> dict[str, str]:
    """The REDIS_URL and CELERY_QUEUE this worker runs with (nothing for a run without workers)."""
    worker = environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return {}
    number = int(worker.removeprefix("gw"))
    changes = {"CELERY_QUEUE": f"{environ.get('CELERY_QUEUE') or 'celery'}-{worker}"}
    if environ.get("REDIS_URL"):
        parsed = urlparse(environ["REDIS_URL"])
        database = int(parsed.path.strip("/") or 0) + 1 + number
        if database >= SMOKE_REDIS_DATABASE:
            raise RuntimeError(
                f"Too many test workers for Redis: worker {worker} would use database {database}. "
                "Run fewer workers (-n) or point REDIS_URL at a lower database."
            )
        changes["REDIS_URL"] = urlunparse(parsed._replace(path=f"/{database}"))
    return changes


os.environ.update(worker_environment(dict(os.environ)))
