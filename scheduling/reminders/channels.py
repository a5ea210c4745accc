"""Channels: how built reminder content reaches a patient. Email today; SMS would sit beside it."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from scheduling.models import Reminder
from scheduling.reminders.content import ReminderContent

# What a channel raises when the message could not be handed over: the row is retried.
SEND_ERRORS = (smtplib.SMTPException, OSError)


def email_message(content: ReminderContent) -> EmailMultiAlternatives:
    """The email for the content: plain text with an HTML alternative and any attachments."""
    message = EmailMultiAlternatives(
        subject=content.subject,
        body=content.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[content.to],
        headers=dict(content.headers),
    )
    message.attach_alternative(content.html, "text/html")
    for attachment in content.attachments:
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    return message


def email_send(content: ReminderContent) -> None:
    email_message(content).send()


CHANNELS: dict[str, Callable[[ReminderContent], None]] = {
    Reminder.Channel.EMAIL: email_send,
}


def content_send(content: ReminderContent, *, channel: str) -> None:
    """Send the content by the row's channel; raises one of SEND_ERRORS when it did not go."""
    CHANNELS[channel](content)
