"""Channels: how built reminder content reaches a patient: email, and text messages beside it."""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from scheduling.models import Reminder
from scheduling.reminders.content import ReminderContent
from scheduling.reminders.sms import sms_provider

# What a channel raises when the message could not be handed over: the row is retried. An SMS
# provider's refusal (`sms.SmsError`) and a network failure on the way to it are OSErrors.
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


def email_send(content: ReminderContent, *, still_wanted: Callable[[], bool]) -> bool:
    """Connect to the mail server, ask `still_wanted` once more, then hand the email over.

    Connecting is the slow part when a server is slow or hung (up to EMAIL_TIMEOUT per step),
    so the last look at the row comes after it: a cancellation saved meanwhile stops the
    message. Returns False when it was stopped that way.
    """
    connection = get_connection()
    connection.open()
    try:
        if not still_wanted():
            return False
        connection.send_messages([email_message(content)])
        return True
    finally:
        # Once the server has accepted the message, a goodbye that fails changes nothing.
        with contextlib.suppress(*SEND_ERRORS):
            connection.close()


def sms_send(content: ReminderContent, *, still_wanted: Callable[[], bool]) -> bool:
    """Ask `still_wanted` once more, then hand the text to the provider in one request.

    Returns False when it was stopped that way; raises an OSError when the provider did not take it.
    """
    provider = sms_provider()
    if not still_wanted():
        return False
    provider.send(to=content.to, body=content.text)
    return True


CHANNELS: dict[str, Callable[..., bool]] = {
    Reminder.Channel.EMAIL: email_send,
    Reminder.Channel.SMS: sms_send,
}


def content_send(content: ReminderContent, *, channel: str, still_wanted: Callable[[], bool]) -> bool:
    """Send the content by the row's channel, unless `still_wanted()` says no once connected.

    Returns whether the message was handed over; raises one of SEND_ERRORS when it did not go.
    """
    return CHANNELS[channel](content, still_wanted=still_wanted)
