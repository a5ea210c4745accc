"""Chairside's logs: one line per event as key=value pairs (logfmt), with no patient data.

Never request bodies, query strings or task payloads reach a log. Django, the Celery worker and
beat log through `logging_config()` (config/settings.py); gunicorn's own logs
(config/gunicorn_conf.py) name the same formatter and filter by their dotted paths, so this
module imports nothing of Django and loads before settings do.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime


class LogfmtFormatter(logging.Formatter):
    """`time=… level=… logger=… msg="…"`: one line per record, tracebacks included (escaped)."""

    _BARE = re.compile(r"^[\w.:/@+\-]+$")

    @classmethod
    def quote(cls, value) -> str:
        text = str(value)
        return text if cls._BARE.match(text) else json.dumps(text, ensure_ascii=False)

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        status_code = getattr(record, "status_code", None)
        if status_code is not None:
            fields["status"] = status_code
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields["exc"] = record.exc_text
        return " ".join(f"{key}={self.quote(value)}" for key, value in fields.items())


class HidePatientDataFilter(logging.Filter):
    """Strip what may carry patient data before a record is written.

    URLs lose their query strings (search terms, names typed into a filter) and the token of an
    unsubscribe link (it acts for the patient without a login) and of a calendar feed, gunicorn's access records lose
    the query string, status line and referrer atoms, and Celery's task records lose their
    arguments and return values. Our own code logs ids, never names or MRNs.
    """

    _QUERY_STRING = re.compile(r"((?:https?://[^\s?#\"']*)|(?:/[\w\-./%~]*))\?[^\s\"']*")
    _UNSUBSCRIBE_TOKEN = re.compile(r"(/reminders/unsubscribe/)[^/\s?#\"']+")
    # A calendar feed's address works without a login: its token is the credential.
    _FEED_TOKEN = re.compile(r"(/feeds/)[^/\s?#\"']+(\.ics)")
    _PAYLOAD_KEYS = ("args", "kwargs", "return_value")

    @classmethod
    def strip_query_strings(cls, text: str) -> str:
        """The text with every URL's query string removed and every unsubscribe and feed token masked."""
        text = cls._UNSUBSCRIBE_TOKEN.sub(r"\1[token]", cls._QUERY_STRING.sub(r"\1", text))
        return cls._FEED_TOKEN.sub(r"\1[token]\2", text)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            if record.name == "gunicorn.access":
                # gunicorn's atoms object answers unknown header keys; change it in place.
                for key in ("q", "f"):
                    if key in args:
                        args[key] = "-"
                if "r" in args:
                    args["r"] = self.strip_query_strings(str(args["r"]))
            else:
                record.args = {key: ("[hidden]" if key in self._PAYLOAD_KEYS else value) for key, value in args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            return True  # let the handler report the broken record as usual
        record.msg, record.args = self.strip_query_strings(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.strip_query_strings(record.exc_text)
        return True


def logging_config(level: str) -> dict:
    """Django's LOGGING: everything to one console stream, in logfmt, through the patient-data filter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"hide_patient_data": {"()": HidePatientDataFilter}},
        "formatters": {"logfmt": {"()": LogfmtFormatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "logfmt",
                "filters": ["hide_patient_data"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Replaces Django's own console and mail_admins handlers: one format, one stream.
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "django.server": {"level": "WARNING"},
            # Never SQL with its parameters, even when LOG_LEVEL=DEBUG.
            "django.db.backends": {"level": "INFO"},
        },
    }
