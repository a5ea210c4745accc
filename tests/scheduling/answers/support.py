"""What the answer-link tests share: a booked visit and the links its confirmation carries."""

from __future__ import annotations

import re

from scheduling.models import AnswerLink, Reminder
from scheduling.reminders.content import reminder_content

LINK = re.compile(r"https?://[^\s\"<>]+/a/([A-Za-z0-9_-]+)/")


def links_in(text: str) -> dict[str, str]:
    """The answer links of a message by purpose, from its text (each token looked up)."""
    tokens = LINK.findall(text)
    links = {link.purpose: link.token for link in AnswerLink.objects.filter(token__in=tokens)}
    assert len(links) == 3, text
    return links


def confirmation_links(appointment) -> dict[str, str]:
    """The links in the booking confirmation's email as it would be sent now."""
    row = Reminder.objects.get(appointment=appointment, kind=Reminder.Kind.BOOKING_CONFIRMED, channel="email")
    return links_in(reminder_content(row).text)


def without_links(text: str) -> str:
    """The text with its answer links taken out: a random token may hold any letters ("mg" among them)."""
    return LINK.sub("", text)


def path(token: str) -> str:
    return f"/a/{token}/"
