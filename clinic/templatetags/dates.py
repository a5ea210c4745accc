"""`{% load dates %}`: the template side of `clinic.dates` (`{{ course.start_date|day }}`).

Like Django's `date` filter, a datetime is shown in the current time zone: pages set the
clinic's zone with `{% timezone %}` or pass a converted value.
"""

from django import template

from clinic import dates

register = template.Library()


def _filter(function):
    def apply(value):
        if value in (None, ""):
            return ""
        return function(value)

    apply.__name__ = function.__name__
    apply.__doc__ = function.__doc__
    return register.filter(function.__name__, apply, expects_localtime=True)


for _function in (
    dates.day,
    dates.weekday_day,
    dates.day_month,
    dates.weekday_day_month,
    dates.moment,
    dates.weekday_moment,
):
    _filter(_function)
