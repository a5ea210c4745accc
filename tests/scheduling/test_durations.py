"""Chair time reads as hours and minutes wherever a person sees it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from scheduling.templatetags.durations import duration
from tests.helpers import make_course


@pytest.mark.parametrize(
    ("minutes", "shown"), [(300, "5 h"), (210, "3 h 30"), (45, "45 min"), (65, "1 h 05"), (0, "0 min"), (None, "")]
)
def test_minutes_read_as_hours_and_minutes(minutes, shown):
    assert duration(minutes) == shown


@pytest.mark.django_db
def test_the_booking_page_gives_the_chair_time_in_hours(client, front_desk, clinic_a):
    course = make_course(clinic_a, "ocrevus")
    client.force_login(front_desk)

    html = client.get(reverse("scheduling:book", args=[course.pk])).content.decode()

    assert re.search(r"Chair time \d+ h( \d\d)?: premedication ", html), html
    assert " minutes:" not in html
