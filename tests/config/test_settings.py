"""Production settings: switched by environment, secure by default, logs without patient data.

Settings are read once when a process starts, so the production values are read in a child
process started with the production environment of tests/config/test_deploy_check.py.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password

from config.logging import HidePatientDataFilter, LogfmtFormatter
from tests.config.support import ROOT, production_environment

_DUMP = """
import json
from django.conf import settings
names = {names!r}
print(json.dumps({{name: getattr(settings, name, None) for name in names}}, default=str))
"""


def production_settings(tmp_path, *names: str, **env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _DUMP.format(names=names)],
        cwd=ROOT,
        env=production_environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_it_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=production_environment(tmp_path, SECRET_KEY=""),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "SECRET_KEY is not set. Set the SECRET_KEY environment variable" in result.stderr


@pytest.mark.parametrize(
    ("name", "service"),
    [("DATABASE_URL", "PostgreSQL database"), ("REDIS_URL", "Redis server"), ("EMAIL_URL", "SMTP server")],
)
def test_it_refuses_to_start_in_production_without_a_service_address(tmp_path, name, service):
    # Empty rather than unset, so a developer's .env cannot fill it in: .env never overrides a
    # variable that is set, and Chairside treats an empty address as a missing one.
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=production_environment(tmp_path, **{name: ""}),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr, result.stderr
    assert f"{name} is not set. Set the {name} environment variable to the {service}" in result.stderr, result.stderr


def test_development_keeps_the_embedded_defaults_when_no_service_address_is_set(tmp_path):
    values = production_settings(
        tmp_path,
        "DATABASES",
        "CELERY_BROKER_URL",
        "EMAIL_BACKEND",
        "EMAIL_FILE_PATH",
        DEBUG="1",
        DATABASE_URL="",
        REDIS_URL="",
        EMAIL_URL="",
    )

    var = tmp_path / "var"
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASES"]["default"]["NAME"] == str(var / "chairside.sqlite3")
    assert values["CELERY_BROKER_URL"] == "filesystem://"
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert values["EMAIL_FILE_PATH"] == str(var / "mail")


def test_production_reads_the_smtp_server_and_its_login_from_email_url(tmp_path):
    names = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD")
    starttls = production_settings(
        tmp_path,
        *names,
        "EMAIL_USE_TLS",
        "EMAIL_USE_SSL",
        EMAIL_URL="smtp+tls://reminders%40example.org:p%40ss%3Aword@mail.example.org:587",
    )
    tls_without_a_port = production_settings(
        tmp_path, "EMAIL_PORT", "EMAIL_USE_SSL", EMAIL_URL="smtp+ssl://mail.example.org"
    )

    assert starttls == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "reminders@example.org",
        "EMAIL_HOST_PASSWORD": "p@ss:word",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }
    assert tls_without_a_port == {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True}


def test_beat_plans_reminders_every_hour_under_a_name_that_says_so():
    entry = settings.CELERY_BEAT_SCHEDULE["reminders-plan-hourly"]

    assert entry["task"] == "scheduling.tasks.reminders_plan"
    assert entry["schedule"].minute == {5}
    assert entry["schedule"].hour == set(range(24))
    assert "reminders-plan-daily" not in settings.CELERY_BEAT_SCHEDULE


def test_production_turns_debug_off_and_secures_cookies_https_and_hosts(tmp_path):
    values = production_settings(
        tmp_path,
        "DEBUG",
        "ALLOWED_HOSTS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REDIRECT_EXEMPT",
    )

    assert values["DEBUG"] is False
    assert values["ALLOWED_HOSTS"] == ["chairside.example.org"]
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 60 * 60 * 24 * 365
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^health/$"]


def test_production_allows_no_host_unless_allowed_hosts_names_it(tmp_path):
    assert production_settings(tmp_path, "ALLOWED_HOSTS", ALLOWED_HOSTS=None)["ALLOWED_HOSTS"] == []


def test_production_serves_hashed_compressed_static_files_through_whitenoise(tmp_path):
    values = production_settings(tmp_path, "STORAGES", "MIDDLEWARE")

    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    middleware = values["MIDDLEWARE"]
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == (
        middleware.index("django.middleware.security.SecurityMiddleware") + 1
    )


def test_staff_sessions_expire_after_a_clinic_day_or_when_the_browser_closes(tmp_path):
    values = production_settings(tmp_path, "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE")

    assert values["SESSION_COOKIE_AGE"] <= 12 * 60 * 60
    assert values["SESSION_EXPIRE_AT_BROWSER_CLOSE"] is True


def test_passwords_are_hashed_with_argon2():
    assert settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert make_password("a nurse's password").startswith("argon2$argon2id$")


def test_the_worker_and_beat_log_through_the_same_configuration_as_the_web():
    assert settings.CELERY_WORKER_HIJACK_ROOT_LOGGER is False
    console = settings.LOGGING["handlers"]["console"]
    assert settings.LOGGING["formatters"][console["formatter"]]["()"] is LogfmtFormatter
    assert [settings.LOGGING["filters"][name]["()"] for name in console["filters"]] == [HidePatientDataFilter]
    assert settings.LOGGING["loggers"]["django"]["handlers"] == ["console"]


def _log(logger_name: str, message: str, *args, exc_info=None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    handler.addFilter(HidePatientDataFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate, old_propagate = False, logger.propagate
    try:
        logger.error(message, *args, exc_info=exc_info)
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate
    return stream.getvalue()


def test_a_log_record_is_one_line_of_key_value_pairs_even_with_a_traceback():
    try:
        raise ValueError("first line\nsecond line")
    except ValueError as error:
        line = _log("chairside.test", 'booking %s failed: "%s"', 42, "chair taken", exc_info=error)

    assert line.count("\n") == 1 and line.endswith("\n")
    assert line.startswith("time=")
    assert " level=ERROR logger=chairside.test pid=" in line
    assert 'msg="booking 42 failed: \\"chair taken\\""' in line
    assert 'exc="Traceback (most recent call last):\\n' in line
    assert "ValueError: first line\\nsecond line" in line


def test_query_strings_never_reach_the_log():
    line = _log(
        "django.request",
        "Not Found: %s from %s",
        "/patients/?q=Smith&mrn=MRN000123",
        "https://chairside.example.org/scheduling/worklist/?name=Jane%20Doe",
    )

    assert "Smith" not in line and "MRN000123" not in line and "Jane" not in line
    assert 'Not Found: /patients/ from https://chairside.example.org/scheduling/worklist/"' in line


def test_task_arguments_and_return_values_never_reach_the_log():
    line = _log(
        "celery.app.trace",
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        {"name": "scheduling.tasks.reminder_send", "id": "abc", "runtime": 0.1, "return_value": "jane@example.org"},
    )

    assert "jane@example.org" not in line
    assert "Task scheduling.tasks.reminder_send[abc] succeeded in 0.1s: [hidden]" in line


def test_gunicorn_access_records_keep_the_path_and_drop_the_query_string_and_referrer():
    from gunicorn.glogging import SafeAtoms

    from config import gunicorn_conf

    atoms = SafeAtoms(
        {
            "h": "10.0.0.2",
            "m": "GET",
            "U": "/patients/",
            "q": "q=Smith",
            "r": "GET /patients/?q=Smith HTTP/1.1",
            "f": "https://chairside.example.org/patients/?q=Smith",
            "s": "200",
            "B": "512",
            "M": "12",
            "a": "Firefox",
        }
    )
    default_format = '%(h)s "%(r)s" %(s)s "%(f)s" %(q)s'
    ours = _log("gunicorn.access", gunicorn_conf.access_log_format, atoms)
    default = _log("gunicorn.access", default_format, SafeAtoms(dict(atoms)))

    assert 'path=\\"/patients/\\" status=200' in ours
    assert "Smith" not in ours
    assert "Smith" not in default
    assert '\\"GET /patients/ HTTP/1.1\\"' in default


def test_an_unsubscribe_link_reaches_the_log_without_its_token():
    from gunicorn.glogging import SafeAtoms

    from config import gunicorn_conf

    token = "Zq3xJ9vT0kLmN2pR8sW4yB6cD1eF5gH7"
    path = f"/scheduling/reminders/unsubscribe/{token}/"
    atoms = SafeAtoms(
        {"h": "10.0.0.2", "m": "POST", "U": path, "q": "", "r": f"POST {path} HTTP/1.1", "f": "-", "s": "200"}
        | {"B": "512", "M": "12", "a": "Thunderbird"}
    )
    access = _log("gunicorn.access", gunicorn_conf.access_log_format, atoms)
    default = _log("gunicorn.access", '%(h)s "%(r)s" %(s)s', SafeAtoms(dict(atoms)))
    django = _log("django.request", "Bad Request: %s", f"https://chairside.example.org{path}?utm=1")

    for line in (access, default, django):
        assert token not in line, line
        assert "/scheduling/reminders/unsubscribe/[token]/" in line, line
