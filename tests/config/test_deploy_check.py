"""`manage.py check --deploy` with a production environment prints no warning.

The check runs in a child process, as a deployment would run it: settings are read once at
start-up from the environment, so the production values cannot be swapped in from a test.
The environment is `.env.example` itself with a real secret key, so the committed example
is what is proven.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Variables of the test run that must not leak into a production child process.
_DEVELOPMENT_ONLY = ("DEBUG", "DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_ALLOW_ASYNC_UNSAFE")


def env_example() -> dict[str, str]:
    """The variables of `.env.example`, as docker compose's env_file would read them."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def production_environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A production environment: `.env.example`, a fresh secret key, DEBUG off."""
    environment = {key: value for key, value in os.environ.items() if key not in _DEVELOPMENT_ONLY}
    environment.update(env_example())
    environment.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        CHAIRSIDE_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONUNBUFFERED="1",
    )
    environment.update(overrides)
    return {key: value for key, value in environment.items() if value is not None}


def manage(environment: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_check_deploy_prints_no_warning_with_the_production_environment(tmp_path):
    result = manage(production_environment(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output
    assert "WARNINGS:" not in output, output


@pytest.mark.parametrize(
    ("override", "warning"),
    [
        ({"SECRET_KEY": "too-short"}, "security.W009"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_SSL_REDIRECT": "0"}, "security.W008"),
        ({"SESSION_COOKIE_SECURE": "0"}, "security.W012"),
    ],
    ids=["weak-secret-key", "no-hsts", "no-https-redirect", "insecure-session-cookie"],
)
def test_check_deploy_fails_when_a_production_setting_is_weakened(tmp_path, override, warning):
    """The check above can fail: each weakened setting is reported and the exit status is not 0."""
    result = manage(production_environment(tmp_path, **override), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert warning in result.stdout + result.stderr
