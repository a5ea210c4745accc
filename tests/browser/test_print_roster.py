"""The printed roster in real Chromium: a full day of 40 chairs and 150 visits on ONE landscape
sheet, a normal day on one A4 sheet, and no text on it under 9pt.

The PDF is Chromium's own print of the page (`page.pdf` with the page's CSS page size);
`pypdf` counts its pages, reads its page box and extracts its text. The PDFs and screenshots
go to tests/artifacts/.
"""

from __future__ import annotations

import importlib
from datetime import datetime, time, timedelta
from io import BytesIO

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from clinic.models import Chair, OpeningHours, Regimen
from clinic.roles import NURSE
from scheduling.roster.printing import A4, MARGIN_MM, fits
from tests.browser.conftest import ARTIFACTS, log_in
from tests.browser.test_csp import RECORD_VIOLATIONS
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import DEMO_PASSWORD, book_directly, make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POINTS_PER_MM = 72 / 25.4
# Landscape page boxes in PDF points (width, height).
A4_LANDSCAPE = (297 * POINTS_PER_MM, 210 * POINTS_PER_MM)
A3_LANDSCAPE = (420 * POINTS_PER_MM, 297 * POINTS_PER_MM)
TABLOID_LANDSCAPE = (17 * 72, 11 * 72)

# Every text the sheet shows, with its computed size in CSS pixels (12px is 9pt).
TEXT_SIZES = """() => {
  const sizes = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!node.textContent.trim() || !element) continue;
    const style = getComputedStyle(element);
    if (style.visibility === "hidden" || !element.getClientRects().length) continue;  // not printed
    sizes.push([parseFloat(style.fontSize), element.tagName + "." + element.className + ": " + node.textContent.trim()]);
  }
  return sizes;
}"""

# Stands in for the browser's print dialog, which a headless browser cannot show, and counts its calls.
COUNT_PRINTS = "window.printCalls = 0; window.print = () => { window.printCalls += 1; };"


@pytest.fixture(autouse=True)
def _seeded(transactional_db):
    """The regimens a fresh database has after `migrate` (see test_roster_flow: a flush takes them)."""
    if not Regimen.objects.exists():
        importlib.import_module("clinic.migrations.0003_seed_regimens").seed(apps, None)


def _day(*, chairs: int, visits: int, **clinic_fields):
    """Today at 10:00 in a clinic open 08:00-18:00 every day with `chairs` chairs and `visits` visits.

    Written by the factories (no booking rule checked); the clinic has a nurse on duty per
    chair, so the day keeps the nurse rules as a booked day would. Each chair holds up to four
    visits of 15 minutes' premedication, 90 of infusion and 30 of observation; every fifth
    chair is a bed; the regimens give the roster's needs (authorization, labs, pregnancy check).
    """
    clinic = make_clinic("Northside Infusion Centre", chairs=chairs, nurses=chairs, **clinic_fields)
    for weekday in (5, 6):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8, 0), closes=time(18, 0))
    clinic.chairs.filter(position__in=range(5, chairs + 1, 5)).update(kind=Chair.Kind.BED)
    today = timezone.now().astimezone(clinic.tz).date()
    opening = datetime.combine(today, time(8, 0), tzinfo=clinic.tz)
    all_chairs = list(clinic.chairs.order_by("position"))
    codes = ("ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab")
    booked = []
    for number in range(visits):
        code = codes[number % len(codes)]
        course = TreatmentCourseFactory(
            patient=PatientFactory(clinic=clinic),
            regimen=Regimen.objects.get(code=code),
            start_date=today,
            authorization_expires_on=today + timedelta(days=90),
        )
        booked.append(
            book_directly(
                course=course,
                chair=all_chairs[number % chairs],
                starts_at=opening + timedelta(minutes=150 * (number // chairs)),
                premed=15,
                infusion=90,
                observation=30,
            )
        )
    return clinic, today, booked


def _open_the_print_view(page, live_server, clinic):
    """From the roster, as a nurse: the roster's Print button opens the sheet, which prints itself."""
    make_staff("nina", NURSE, clinic, first_name="Nina", last_name="Nurse")
    page.add_init_script(COUNT_PRINTS)
    page.add_init_script(RECORD_VIOLATIONS)
    log_in(page, live_server, "nina", DEMO_PASSWORD)
    page.goto(f"{live_server.url}{reverse('scheduling:roster')}?clinic={clinic.pk}")
    page.get_by_role("link", name="Print", exact=True).click()
    page.wait_for_url(f"{live_server.url}{reverse('scheduling:roster_print')}?**")
    page.wait_for_load_state("load")
    page.wait_for_function("window.printCalls > 0")
    assert page.evaluate("window.printCalls") == 1
    assert page.get_by_role("link", name="Back to the roster").is_visible()
    # The bars were placed by chairside.js from their data attributes, with no policy violation.
    assert page.locator(".print-bar").first.evaluate("bar => bar.style.width").endswith("%")
    assert page.evaluate("window.__violations") == []


def _print(page, name: str, screenshot, paper: tuple[float, float]) -> PdfReader:
    """The sheet as Chromium prints it; the screenshot shows it at the paper's printable size."""
    page.emulate_media(media="print")
    printable = [(points - 2 * MARGIN_MM * POINTS_PER_MM) * 96 / 72 for points in paper]
    page.set_viewport_size({"width": round(printable[0]), "height": round(printable[1])})
    assert not page.get_by_role("link", name="Back to the roster").is_visible()
    screenshot(name)
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
    return PdfReader(BytesIO(pdf))


def _page_size(reader: PdfReader) -> tuple[float, float]:
    box = reader.pages[0].mediabox
    return float(box.width), float(box.height)


def _smallest_text(page) -> tuple[float, str]:
    sizes = page.evaluate(TEXT_SIZES)
    assert sizes, "The sheet shows no text"
    return min(sizes, key=lambda size: size[0])


@pytest.mark.parametrize(
    ("country", "paper", "size"),
    [("GB", "A3 landscape", A3_LANDSCAPE), ("US", "Tabloid (11 × 17 in) landscape", TABLOID_LANDSCAPE)],
)
def test_a_day_of_forty_chairs_and_150_visits_prints_on_one_large_landscape_sheet(
    page, live_server, screenshot, country, paper, size
):
    time_zone = "America/New_York" if country == "US" else "Europe/London"
    clinic, today, booked = _day(chairs=40, visits=150, time_zone=time_zone)
    ten = datetime.combine(today, time(10, 0), tzinfo=clinic.tz)
    with time_machine.travel(ten, tick=True):
        _open_the_print_view(page, live_server, clinic)
        assert page.locator(".print-visits tbody tr").count() == 150
        assert page.locator(".print-bar").count() == 150
        assert f"Prints on one {paper} sheet" in page.locator(".print-header").inner_text()

        reader = _print(page, f"roster-print-sheet-40-chairs-{country}", screenshot, size)
        smallest, where = _smallest_text(page)  # with print media, as _print left it

    assert smallest >= 12, f"Text under 9pt on the printed roster: {smallest}px at {where}"
    assert len(reader.pages) == 1
    width, height = _page_size(reader)
    assert width > height, "The sheet is not landscape"
    assert (round(width), round(height)) == (round(size[0]), round(size[1]))
    text = reader.pages[0].extract_text()
    last = booked[-1]
    assert last.patient.mrn in text
    assert last.patient.last_name in text
    assert all(need in text for need in ("Auth", "Preg", "Bed", "1st")), "A needs badge is missing"
    observation_starts = (last.starts_at + timedelta(minutes=105)).astimezone(clinic.tz)
    assert f"{observation_starts:%H:%M}" in text


# A normal day, and the biggest day that the layout's measures say still fits A4: they must be right.
BIGGEST_A4_DAY = max(visits for visits in range(200) if fits(A4, chairs=20, visits=visits))


@pytest.mark.parametrize(("chairs", "visits"), [(8, 20), (20, BIGGEST_A4_DAY)])
def test_a_normal_day_prints_on_one_a4_landscape_sheet_with_no_text_under_nine_points(
    page, live_server, screenshot, chairs, visits
):
    clinic, today, booked = _day(chairs=chairs, visits=visits)
    ten = datetime.combine(today, time(10, 0), tzinfo=clinic.tz)
    with time_machine.travel(ten, tick=True):
        _open_the_print_view(page, live_server, clinic)
        assert "Prints on one A4 landscape sheet" in page.locator(".print-header").inner_text()
        reader = _print(page, f"roster-print-sheet-{chairs}-chairs", screenshot, A4_LANDSCAPE)
        smallest, where = _smallest_text(page)

    assert smallest >= 12, f"Text under 9pt on the printed roster: {smallest}px at {where}"
    assert len(reader.pages) == 1
    assert tuple(map(round, _page_size(reader))) == tuple(map(round, A4_LANDSCAPE))
    text = reader.pages[0].extract_text()
    assert booked[0].patient.mrn in text and booked[-1].patient.mrn in text
    assert f"Printed {ten.day} {ten:%b %Y}" in text
