"""`{{ minutes|duration }}`: chair time as the front desk says it (5 h, 3 h 30, 45 min)."""

from django import template

from scheduling.availability.day import duration_text

register = template.Library()


@register.filter
def duration(minutes) -> str:
    """Minutes as hours and minutes; an empty value stays empty."""
    if minutes in (None, ""):
        return ""
    return duration_text(int(minutes))
