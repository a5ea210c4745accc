"""gunicorn settings for the web service: `gunicorn --config python:config.gunicorn_conf config.wsgi`.

Every value can be changed from the environment (see `.env.example`). Logs go to stdout and
stderr as one key=value line per event, with the same formatter and patient-data filter as
Django's (config/logging.py); the access log records the path without its query string and
never the referrer, since either may carry what a person typed into a search.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = [f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"]  # noqa: S104 - inside a container
workers = _int("WEB_CONCURRENCY", 3)
threads = _int("GUNICORN_THREADS", 2)
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Recycle workers now and then so a slow leak never takes a clinic's front desk down.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# The heartbeat file on a memory file system: a container's overlay disk can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's documented advice
# Only the reverse proxy that terminates TLS may say a request came over HTTPS.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# No runtime control socket: nothing in the image may write to $HOME, and several gunicorns
# on one machine must not share one socket.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = 'remote=%(h)s method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s duration_ms=%(M)s agent="%(a)s"'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"hide_patient_data": {"()": "config.logging.HidePatientDataFilter"}},
    "formatters": {"logfmt": {"()": "config.logging.LogfmtFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "logfmt",
            "filters": ["hide_patient_data"],
            "stream": "ext://sys.stdout",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "logfmt",
            "filters": ["hide_patient_data"],
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
