"""The health endpoint: database and broker, no login, no data, plain HTTP under production settings.

Production settings are read once at start-up, so those tests run Chairside in a child process
with DEBUG off, HTTPS redirects on, and the host name of `.env.example`, the way a load
balancer or the compose health check meets it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlparse, urlunparse

import pytest

from tests.config.support import ROOT, production_environment

_REQUEST = """
import json, django
django.setup()
from django.test import Client
response = Client(raise_request_exception=False).generic({method!r}, {path!r}, HTTP_HOST={host!r})
print(json.dumps({{
    "status": response.status_code,
    "body": response.content.decode(),
    "location": response.get("Location", ""),
    "cache": response.get("Cache-Control", ""),
}}))
"""


def maintenance_database_url() -> str:
    """The PostgreSQL server of this run, on the `postgres` database that always exists."""
    return urlunparse(urlparse(os.environ["DATABASE_URL"])._replace(path="/postgres"))


def request_in_production(tmp_path, path: str, *, method: str = "GET", host: str = "10.0.0.7:8000", **env) -> dict:
    services = {"DATABASE_URL": maintenance_database_url(), "REDIS_URL": os.environ["REDIS_URL"]}
    environment = production_environment(tmp_path, **(services | env))
    result = subprocess.run(
        [sys.executable, "-c", _REQUEST.format(method=method, path=path, host=host)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]) | {"log": result.stderr}


@pytest.mark.django_db
def test_it_answers_ok_without_login_when_the_database_and_broker_answer(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_it_refuses_anything_but_get(client):
    assert client.post("/health/").status_code == 405


@pytest.mark.postgres
@pytest.mark.redis
def test_it_answers_over_plain_http_on_any_host_in_production(tmp_path):
    """A load balancer probes each machine by its address, without TLS: no redirect, no 400."""
    answer = request_in_production(tmp_path, "/health/", host="10.0.0.7:8000")

    assert answer["status"] == 200, answer
    assert json.loads(answer["body"]) == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.postgres
@pytest.mark.redis
def test_every_other_page_still_redirects_to_https_and_checks_the_host_in_production(tmp_path):
    redirected = request_in_production(tmp_path, "/accounts/login/", host="chairside.example.org")
    unknown_host = request_in_production(tmp_path, "/accounts/login/", host="10.0.0.7:8000")

    assert redirected["status"] == 301
    assert redirected["location"] == "https://chairside.example.org/accounts/login/"
    assert unknown_host["status"] == 400


@pytest.mark.postgres
@pytest.mark.redis
def test_it_answers_503_naming_the_database_when_postgresql_does_not_answer(tmp_path):
    answer = request_in_production(tmp_path, "/health/", DATABASE_URL="postgres://postgres@127.0.0.1:9/chairside")

    assert answer["status"] == 503
    assert json.loads(answer["body"]) == {"status": "error", "database": "error", "broker": "ok"}


@pytest.mark.postgres
@pytest.mark.redis
def test_it_answers_503_naming_the_broker_when_redis_does_not_answer(tmp_path):
    answer = request_in_production(tmp_path, "/health/", REDIS_URL="redis://127.0.0.1:9/0")

    assert answer["status"] == 503
    assert json.loads(answer["body"]) == {"status": "error", "database": "ok", "broker": "error"}
    assert "broker unreachable" in answer["log"]
