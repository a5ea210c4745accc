"""The real SMTP server and Celery worker fixtures of the reminder tests."""

from tests.scheduling.reminders.support import smtp_server, worker  # noqa: F401 - fixtures
