"""What the configuration tests share: the project's root, its production environment, the compose file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
APPLICATION_SERVICES = ("migrate", "web", "worker", "beat")

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


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def stack_commands() -> dict[str, list[str]]:
    """The command of each application service, as the smoke test starts it."""
    services = load_compose()["services"]
    return {name: list(services[name]["command"]) for name in APPLICATION_SERVICES}
