"""docker-compose.yml and the Dockerfile, checked without a Docker engine.

The compose file must pass the Compose Specification's schema (offline, from the schema
check-jsonschema ships), and everything it refers to must exist: services named in
depends_on, volumes, networks, the env file, every variable it interpolates. The four
application services run one image, exactly one of them is beat, and their commands are
the ones tests/test_smoke_stack.py starts for real.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.config.support import APPLICATION_SERVICES, COMPOSE_FILE, ROOT, env_example, load_compose, stack_commands

DOCKERFILE = ROOT / "Dockerfile"
BACKING_SERVICES = ("db", "redis")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+x}, $NAME;
# `$$` is a literal dollar passed to the container's shell.
_INTERPOLATION = re.compile(
    r"(?<!\$)\$(?:\{(?P<braced>[A-Za-z_]\w*)(?P<modifier>:?[-?+][^}]*)?\}|(?P<bare>[A-Za-z_]\w*))"
)


def interpolated_variables(text: str) -> dict[str, str | None]:
    variables: dict[str, str | None] = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in _INTERPOLATION.finditer(line):
            name = match["braced"] or match["bare"]
            variables[name] = match["modifier"]
    return variables


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        instruction, _, arguments = current.partition(" ")
        logical.append((instruction.upper(), arguments.strip()))
        current = ""
    return logical


def test_the_compose_file_passes_the_compose_specification_schema_offline():
    """check-jsonschema validates against the schema it ships; no network is needed or used."""
    command = [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", "vendor.compose-spec"]
    command.append(str(COMPOSE_FILE))
    offline = shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    if offline:
        command = ["unshare", "-n", *command]  # a network namespace with no interface but loopback

    result = subprocess.run(command, capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schema_check_rejects_a_broken_compose_file(tmp_path):
    """The schema check above can fail: a misspelt key is reported."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("depends_on:", "depend_on:", 1))
    command = [str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", "vendor.compose-spec"]

    result = subprocess.run([*command, str(broken)], capture_output=True, text=True, timeout=120)

    assert result.returncode != 0
    assert "depend_on" in result.stdout + result.stderr


def test_it_has_the_backing_services_and_the_application_services():
    assert set(load_compose()["services"]) == set(BACKING_SERVICES + APPLICATION_SERVICES)


def test_every_service_it_depends_on_exists_and_can_satisfy_the_condition():
    services = load_compose()["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions, not a bare list"
        for target, rule in depends_on.items():
            assert target in services, f"{name} depends on {target}, which is not a service"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy; it has no check"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} must run once to complete"
            else:
                pytest.fail(f"{name} waits for {target} only to start ({condition}); wait for health or completion")


def test_the_application_waits_for_migrations_and_healthy_backing_services():
    services = load_compose()["services"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends_on["redis"] == {"condition": "service_healthy"}, name


def test_every_volume_and_network_it_mounts_is_declared_and_every_declared_one_is_used():
    compose = load_compose()
    declared_volumes = set(compose.get("volumes") or {})
    declared_networks = set(compose.get("networks") or {})
    used_volumes, used_networks = set(), set()
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount["source"]
            assert not source.startswith((".", "/")), f"{name} mounts a host path ({source}); use a named volume"
            assert source in declared_volumes, f"{name} mounts {source}, which is not a declared volume"
            used_volumes.add(source)
        for network in service.get("networks", []):
            assert network in declared_networks, f"{name} joins {network}, which is not a declared network"
            used_networks.add(network)
    assert used_volumes == declared_volumes
    assert used_networks == declared_networks


def test_data_lives_in_named_volumes():
    services = load_compose()["services"]
    assert "postgres-data:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "redis-data:/data" in services["redis"]["volumes"]


def test_every_variable_it_interpolates_is_in_env_example():
    example = env_example()
    for name, modifier in interpolated_variables(COMPOSE_FILE.read_text()).items():
        assert name in example, (
            f"docker-compose.yml uses ${{{name}}} ({modifier or 'no default'}); add it to .env.example"
        )


def test_the_env_file_it_reads_comes_from_env_example():
    services = load_compose()["services"]
    for name in APPLICATION_SERVICES:
        assert services[name]["env_file"] == [".env"], name
    assert (ROOT / ".env.example").is_file()
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_every_variable_in_env_example_is_read_by_something():
    """A misspelt name in .env.example would be silently ignored; each one must be read."""
    readers = "\n".join(
        (ROOT / path).read_text() for path in ("config/settings.py", "config/gunicorn_conf.py", "docker-compose.yml")
    )
    for name in env_example():
        assert re.search(rf"[\"'{{]{name}[\"'}}:]", readers), f"{name} in .env.example is read by nothing"


def test_env_example_gives_the_application_what_production_requires():
    example = env_example()
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"):
        assert example.get(name), name
    assert example["DEBUG"] == "0"
    assert example["DATABASE_URL"] == (
        f"postgres://{example['POSTGRES_USER']}:{example['POSTGRES_PASSWORD']}@db:5432/{example['POSTGRES_DB']}"
    )
    assert example["REDIS_URL"].startswith("redis://redis:6379/")


def test_the_application_services_run_the_one_image_built_from_the_dockerfile():
    services = load_compose()["services"]
    images = {services[name]["image"] for name in APPLICATION_SERVICES}
    builds = [services[name].get("build") for name in APPLICATION_SERVICES]
    assert len(images) == 1, images
    assert all(build == {"context": "."} for build in builds), builds
    assert DOCKERFILE.is_file()


def test_exactly_one_service_runs_beat_and_the_worker_does_not_embed_it():
    services = load_compose()["services"]
    runs_beat = [name for name, service in services.items() if "beat" in service.get("command", [])]
    assert runs_beat == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    for name, service in services.items():
        command = service.get("command", [])
        assert "--beat" not in command and "-B" not in command, f"{name} embeds a second beat"


def test_the_commands_are_the_ones_the_smoke_test_starts():
    commands = stack_commands()
    assert commands["migrate"] == ["python", "manage.py", "migrate", "--noinput"]
    assert commands["web"] == ["gunicorn", "--config", "python:config.gunicorn_conf", "config.wsgi"]
    assert commands["worker"][:4] == ["celery", "-A", "config", "worker"]
    assert commands["beat"][:4] == ["celery", "-A", "config", "beat"]


def test_the_backing_services_keep_their_data_safe_and_report_health():
    services = load_compose()["services"]
    assert services["db"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    redis = services["redis"]
    assert redis["image"] == "redis:7"
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert "ping" in redis["healthcheck"]["test"]


def test_the_web_health_check_asks_the_health_endpoint_on_the_port_gunicorn_binds(monkeypatch):
    from config import gunicorn_conf

    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("HOST", raising=False)
    importlib.reload(gunicorn_conf)
    web = load_compose()["services"]["web"]
    check = " ".join(web["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/health/" in check
    assert gunicorn_conf.bind == ["0.0.0.0:8000"]
    assert all(port.endswith(":8000") for port in web["ports"])


def test_the_dockerfile_builds_a_non_root_python_311_slim_image_with_static_files_collected():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    runs = " ".join(arguments for instruction, arguments in instructions if instruction == "RUN")
    assert "pip install -r requirements.txt" in runs
    assert "DEBUG=0" in runs and "manage.py collectstatic --noinput" in runs
    cmd = [arguments for instruction, arguments in instructions if instruction == "CMD"][-1]
    assert yaml.safe_load(cmd) == stack_commands()["web"]


def test_the_dockerfile_collectstatic_step_runs_as_written(tmp_path):
    """The build step itself, run here without Docker: production storage, throwaway key and addresses."""
    runs = [arguments for instruction, arguments in dockerfile_instructions() if instruction == "RUN"]
    step = next(run for run in runs if "collectstatic" in run).split("&&")[0].strip()
    # Nothing of this test run's own configuration: a docker build has none of it.
    not_in_a_build = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL")
    environment = {key: value for key, value in os.environ.items() if key not in not_in_a_build}
    environment |= {
        "STATIC_ROOT": str(tmp_path / "static"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }

    result = subprocess.run(
        ["bash", "-c", step], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=180
    )

    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    assert any(name.endswith(".css") for name in manifest["paths"])
    assert list((tmp_path / "static").rglob("*.css.gz")), "WhiteNoise's compressed copies are missing"


def test_the_image_never_receives_the_env_file_or_the_local_virtualenv():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for path in (".env", ".venv", ".git", "var", "staticfiles"):
        assert path in ignored, path
