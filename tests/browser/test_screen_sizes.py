"""Every staff page works from a phone (390 px) through a tablet (768 px) to a desktop (1440 px).

On each page: the page itself never scrolls sideways (a wide table or the roster's timeline may
scroll inside its own box, which says so), and the actions a person came for are on screen.
Screenshots of every page at every width go to tests/artifacts/.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.conftest import log_in
from tests.helpers import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 768, 1440)

# Each page: who opens it, its address, and the primary actions that must be on screen.
PAGES = {
    "worklist": ("alice", lambda clinic, due: reverse("scheduling:worklist"), "a.btn:has-text('Book')"),
    "roster": (
        "max",
        lambda clinic, due: f"{reverse('scheduling:roster')}?clinic={clinic.pk}",
        "form[action*='/status/'] button",
    ),
    "booking": ("alice", lambda clinic, due: reverse("scheduling:book", args=[due.pk]), "form button[type=submit]"),
    "week": (
        "alice",
        lambda clinic, due: f"{reverse('scheduling:week')}?clinic={clinic.pk}",
        "a:has-text('Next week'), a:has-text('Previous week')",
    ),
    "patient": (
        "alice",
        lambda clinic, due: reverse("patients:detail", args=[due.patient.pk]),
        "a.btn:has-text('Book dose')",
    ),
}


def _page_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def _off_screen(page, selector: str) -> list[str]:
    """The matching visible controls whose box is not fully inside the window's width."""
    width = page.viewport_size["width"]
    off = []
    for control in page.locator(selector).all():
        box = control.bounding_box() if control.is_visible() else None
        if box is not None and (box["x"] < 0 or box["x"] + box["width"] > width + 0.5):
            off.append(" ".join(control.inner_text().split()))
    return off


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_fits_the_screen_and_keeps_its_actions_on_it(page, live_server, busy_clinic, screenshot, name):
    clinic, due = busy_clinic
    user, address, actions = PAGES[name]
    log_in(page, live_server, user, DEMO_PASSWORD)
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}{address(clinic, due)}")
        page.wait_for_load_state("networkidle")
        screenshot(f"screen-{name}-{width}")

        if (overflow := _page_overflow(page)) > 0:
            problems.append(f"at {width} px the page scrolls sideways by {overflow} px")
        if not page.locator(actions).count():
            problems.append(f"at {width} px none of its actions ({actions}) is there")
        if off := _off_screen(page, actions):
            problems.append(f"at {width} px actions are off screen: {off}")
    assert not problems, f"{name}: " + "; ".join(problems)
