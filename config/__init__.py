"""Chairside's wiring: settings, logging, URLs, the Celery app, WSGI, gunicorn, the local runner,
the health check and the role router. The clinic itself lives in `clinic/`."""

from .celery import app as celery_app

__all__ = ("celery_app",)
