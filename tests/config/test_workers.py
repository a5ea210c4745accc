"""Parallel test workers never share a Redis database or a Celery queue."""

import pytest

from tests.workers import worker_environment


def test_a_run_without_workers_keeps_the_environment_as_it_is():
    assert worker_environment({"REDIS_URL": "redis://127.0.0.1:6379/0", "CELERY_QUEUE": "ci"}) == {}


def test_each_worker_takes_its_own_redis_database_and_queue():
    base = {"REDIS_URL": "redis://127.0.0.1:6379/0", "CELERY_QUEUE": "ci"}
    first = worker_environment(base | {"PYTEST_XDIST_WORKER": "gw0"})
    second = worker_environment(base | {"PYTEST_XDIST_WORKER": "gw1"})
    assert first == {"REDIS_URL": "redis://127.0.0.1:6379/1", "CELERY_QUEUE": "ci-gw0"}
    assert second == {"REDIS_URL": "redis://127.0.0.1:6379/2", "CELERY_QUEUE": "ci-gw1"}


def test_a_worker_without_redis_still_gets_its_own_queue():
    assert worker_environment({"PYTEST_XDIST_WORKER": "gw3"}) == {"CELERY_QUEUE": "celery-gw3"}


def test_workers_never_reach_the_database_the_stack_smoke_test_keeps():
    with pytest.raises(RuntimeError, match="Too many test workers"):
        worker_environment({"REDIS_URL": "redis://127.0.0.1:6379/10", "PYTEST_XDIST_WORKER": "gw4"})
