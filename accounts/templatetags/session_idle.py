"""`{% session_idle_attributes %}`: the <body> data attributes idle.js reads for the idle warning."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def session_idle_attributes(context) -> str:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    return format_html(
        ' data-idle-seconds="{}" data-idle-warning-seconds="{}" data-keep-alive-url="{}"',
        settings.SESSION_IDLE_MINUTES * 60,
        settings.SESSION_IDLE_WARNING_SECONDS,
        reverse("accounts:keep_alive"),
    )
