"""`{% load formulary %}`: regimen facts as a clinic's country words them."""

from django import template

from clinic.models import Regimen

register = template.Library()


@register.filter
def programme_in(regimen: Regimen, country) -> str:
    """`{{ course.regimen|programme_in:patient.clinic.country }}`: the programme's local name."""
    return regimen.programme_for(country)


@register.simple_tag
def authorization_programmes(clinic) -> str:
    """The programmes whose authorization a course of an active regimen needs, as the clinic names them."""
    regimens = Regimen.objects.filter(active=True, requires_authorization=True).prefetch_related("programme_names")
    return ", ".join(sorted({regimen.programme_for(clinic.country) for regimen in regimens if regimen.programme}))
