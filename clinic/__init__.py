"""Chairside project package: settings, URLs, the Celery app, and the clinic as configured."""

from .celery import app as celery_app

__all__ = ("celery_app",)
