"""The links in a patient's message: one per visit, purpose and start time, each good for one answer.

A link is a stored random token (not a signature), so it can be used up: once answered, it
stops working. It acts only on the visit's start it was made for, and only before that start:
a visit moved since gets new links in the messages about its new time, and its old ones stop.
Nothing here sends or renders a message; `scheduling.reminders.content` puts the links in.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext

from scheduling.models import AnswerLink, Appointment, SlotOffer

Purpose = AnswerLink.Purpose

# 16 URL-safe characters: 96 random bits, short enough for three links in one text message.
TOKEN_BYTES = 12
# The messages that ask the patient: a booking confirmation, a move notice, a reminder.
PURPOSES = (Purpose.CONFIRM, Purpose.CANCEL, Purpose.OTHER_TIME)
# An earlier-time offer's two answers.
OFFER_PURPOSES = AnswerLink.OFFER_PURPOSES


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def answer_link(*, appointment: Appointment, purpose: str) -> AnswerLink:
    """The link for this visit's current start and purpose, made the first time a message needs it.

    Every message about the same time carries the same link, so a reminder sent after a
    confirmation shows the confirmation as done rather than asking again.
    """
    # Two messages built at the same moment: get_or_create reads the first one's link after the conflict.
    link, _made = AnswerLink.objects.get_or_create(
        appointment=appointment, purpose=purpose, starts_at=appointment.starts_at, defaults={"token": _new_token()}
    )
    return link


def answer_url(link: AnswerLink) -> str:
    return settings.SITE_URL + reverse("answers:answer", args=[link.token])


def answer_urls(appointment: Appointment) -> dict[str, str]:
    """The three links of a message about this visit, by purpose."""
    return {purpose: answer_url(answer_link(appointment=appointment, purpose=purpose)) for purpose in PURPOSES}


def link_refusal(link: AnswerLink, *, now: datetime) -> str:
    """'' while the link may still act, else the sentence the patient reads instead (in the active language)."""
    appointment = link.appointment
    clinic = appointment.clinic
    names = {"clinic": clinic.name, "phone": clinic.phone}
    if link.used_at is not None:
        if clinic.phone:
            return (
                gettext(
                    "This link has already been used. Please call %(clinic)s on %(phone)s if something has changed."
                )
                % names
            )
        return gettext("This link has already been used. Please call %(clinic)s if something has changed.") % names
    if appointment.status == Appointment.Status.CANCELLED:
        if clinic.phone:
            return (
                gettext("This appointment has been cancelled. Please call %(clinic)s on %(phone)s to book another.")
                % names
            )
        return gettext("This appointment has been cancelled. Please call %(clinic)s to book another.") % names
    if link.starts_at != appointment.starts_at:
        if clinic.phone:
            return (
                gettext(
                    "This appointment has moved since this message was sent. Use the links in the latest message, "
                    "or please call %(clinic)s on %(phone)s."
                )
                % names
            )
        return (
            gettext(
                "This appointment has moved since this message was sent. Use the links in the latest message, "
                "or please call %(clinic)s."
            )
            % names
        )
    if appointment.status != Appointment.Status.BOOKED or now >= appointment.starts_at:
        if clinic.phone:
            return (
                gettext(
                    "This appointment has already started, so the link no longer works. "
                    "Please call %(clinic)s on %(phone)s if you need anything."
                )
                % names
            )
        return (
            gettext(
                "This appointment has already started, so the link no longer works. "
                "Please call %(clinic)s if you need anything."
            )
            % names
        )
    return ""


# --- The links of an earlier-time offer ------------------------------------------------------


def offer_answer_link(*, offer: SlotOffer, purpose: str) -> AnswerLink:
    """The offer's link for this purpose ("take this time" or "no thanks"), made the first time a message needs it."""
    link, _made = AnswerLink.objects.get_or_create(
        offer=offer, purpose=purpose, defaults={"starts_at": offer.starts_at, "token": _new_token()}
    )
    return link


def offer_answer_urls(offer: SlotOffer) -> dict[str, str]:
    """The two links of an offer's message, by purpose."""
    return {purpose: answer_url(offer_answer_link(offer=offer, purpose=purpose)) for purpose in OFFER_PURPOSES}
