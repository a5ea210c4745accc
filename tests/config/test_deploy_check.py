"""`manage.py check --deploy` with a production environment prints no warning.

The check runs in a child process, as a deployment would run it: settings are read once at
start-up from the environment, so the production values cannot be swapped in from a test.
The environment is `.env.example` itself with a real secret key, so the committed example
is what is proven.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.config.support import ROOT, production_environment


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
