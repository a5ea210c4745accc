"""The printed roster: the nurses' paper for the day, on one landscape sheet.

Pure: `print_sheet` reads the `Roster` that `roster_for_day` built (its fixed number of
queries, however many visits the day holds) and lays it out for paper. No queries.

The sheet is the day's visits, chair by chair and then by time, with what a nurse needs
at the chair (MRN, status, the clock times of the parts of the chair time, the needs), and
the day's timeline. It prints on the smallest sheet that holds it: A4 landscape for a normal
day, A3 for a day too big for A4 (Letter and Tabloid in the US and Canada). Whether a day
fits is worked out from the printed layout's measures below, which roster-print.css follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from clinic.inputs import phone_region_for_time_zone
from clinic.models import Chair
from scheduling.roster.flags import Flag
from scheduling.roster.load import clock
from scheduling.roster.selectors import Roster, RosterVisit, Tick

# Where paper comes in US Letter and Tabloid sizes rather than ISO A sizes.
LETTER_COUNTRIES = frozenset({"US", "CA"})


@dataclass(frozen=True)
class Paper:
    code: str  # the class on <html> that picks the sheet's @page rule in roster-print.css
    name: str
    width_mm: float  # landscape: the long side
    height_mm: float
    columns: int  # the sheet's text columns (roster-print.css sets the same number)


A4 = Paper("a4", "A4 landscape", 297, 210, 2)
A3 = Paper("a3", "A3 landscape", 420, 297, 3)
LETTER = Paper("letter", "Letter landscape", 279.4, 215.9, 2)
TABLOID = Paper("tabloid", "Tabloid (11 × 17 in) landscape", 431.8, 279.4, 3)

# The printed layout's measures in millimetres, as roster-print.css sets them.
MARGIN_MM = 6  # @page margin on every side
HEADER_MM = 11  # the clinic, the day, the print time and the paper, above the columns
TIMELINE_FIXED_MM = 10  # the timeline's heading with its legend, and the row of hour labels
CHAIR_ROW_MM = 3.4  # one chair on the timeline
LIST_FIXED_MM = 16  # the visit list's heading, its legend and its column headings
VISIT_ROW_MM = 3.65  # one visit on one line
# Room for the visits whose long name or many needs take a second line.
WRAP_ALLOWANCE = 1.08


def column_length_mm(*, chairs: int, visits: int) -> float:
    """How much column the day takes: the timeline, then the visit list under it."""
    return TIMELINE_FIXED_MM + chairs * CHAIR_ROW_MM + (LIST_FIXED_MM + visits * VISIT_ROW_MM * WRAP_ALLOWANCE)


def column_capacity_mm(paper: Paper) -> float:
    """How much column one sheet holds: its columns, each the page's height less margins and header."""
    return paper.columns * (paper.height_mm - 2 * MARGIN_MM - HEADER_MM)


def fits(paper: Paper, *, chairs: int, visits: int) -> bool:
    return column_length_mm(chairs=chairs, visits=visits) <= column_capacity_mm(paper)


def paper_for(*, country: str, chairs: int, visits: int) -> Paper:
    """The sheet the day prints on: the normal size when the day fits it, the double size when not.

    `country` is the clinic's ISO code ("GB", "US"; "" when unknown, which prints on A sizes).
    """
    normal, large = (LETTER, TABLOID) if country in LETTER_COUNTRIES else (A4, A3)
    return normal if fits(normal, chairs=chairs, visits=visits) else large


@dataclass(frozen=True)
class PrintNeed:
    code: str  # the roster flag's code, or "bed"
    text: str  # short, as on the roster's timeline bars; the legend says what it means
    level: str  # info, warning, danger (as the roster's badges)
    title: str  # the roster's full badge text


# What each short need means, once on the sheet (the roster's badge label says the rest on screen).
NEED_MEANINGS = {
    "bed": "a bed, not a chair",
    "first_infusion": "first infusion",
    "observation": "observation required",
    "prior_reaction": "infusion reaction at an earlier visit",
    "authorization": "check the programme authorization",
    "authorization_expired": "no valid authorization: do not infuse",
    "labs": "labs due",
    "pregnancy": "pregnancy check",
    "outside_hours": "outside the opening hours",
}
BED = PrintNeed("bed", "Bed", "info", "Bed")


@dataclass
class PrintRow:
    """One visit on paper: everything a nurse reads at the chair, as text."""

    visit: RosterVisit
    chair: str
    patient: str  # "Surname, First name"
    mrn: str
    status: str
    premed_start: str  # local "HH:MM", "" when the visit has no premedication
    infusion_start: str
    observation_start: str  # "" when the visit has no observation
    ends: str  # the end of the chair time: observation's end, or the infusion's when none
    needs: list[PrintNeed]
    # The visit's checks before the needle, in one short text ("3 to tick", "2 of 3 to tick",
    # "all 3 ticked"), from the roster's visit (no query of its own); the card names each item.
    checks: list[str] = field(default_factory=list)

    @property
    def pk(self) -> int:
        return self.visit.pk


@dataclass(frozen=True)
class LegendItem:
    text: str
    level: str
    meaning: str


@dataclass
class PrintSheet:
    roster: Roster
    paper: Paper
    rows: list[PrintRow]
    ticks: list[Tick]
    legend: list[LegendItem]
    printed_at: datetime
    one_sheet: bool

    @property
    def day_label(self) -> str:
        """The day as the sheet heads it: "Tue 1 Dec 2026"."""
        day = self.roster.day
        return f"{day:%a} {day.day} {day:%b %Y}"

    @property
    def printed_label(self) -> str:
        """When the sheet was printed, on the clinic's clock: "1 Dec 2026, 07:42"."""
        return f"{self.printed_at.day} {self.printed_at:%b %Y, %H:%M}"

    @property
    def opens(self) -> str:
        return clock(self.roster.opens_at, self.roster.clinic.tz) if self.roster.opens_at else ""

    @property
    def closes(self) -> str:
        return clock(self.roster.closes_at, self.roster.clinic.tz) if self.roster.closes_at else ""

    @property
    def paper_sentence(self) -> str:
        if self.one_sheet:
            return f"Prints on one {self.paper.name} sheet"
        return f"Prints on {self.paper.name} sheets: the day is too big for one"


def _needs(visit: RosterVisit) -> list[PrintNeed]:
    needs = [BED] if visit.appointment.chair.kind == Chair.Kind.BED else []
    for flag in visit.flags:
        if flag.code == "observation" and visit.appointment.observation_minutes:
            continue  # the observation's times are in their own columns
        needs.append(_need(flag))
    return needs


def _need(flag: Flag) -> PrintNeed:
    return PrintNeed(flag.code, flag.short, flag.level, flag.label)


def print_row(visit: RosterVisit) -> PrintRow:
    appointment = visit.appointment
    patient = appointment.patient
    return PrintRow(
        visit=visit,
        chair=visit.chair_name,
        patient=f"{patient.last_name}, {patient.first_name}",
        mrn=visit.mrn,
        status=visit.status_label,
        premed_start=visit.premed_time,
        infusion_start=visit.infusion_start,
        observation_start=visit.infusion_end if appointment.observation_minutes else "",
        ends=visit.ends,
        needs=_needs(visit),
        checks=_checks(visit),
    )


def _checks(visit: RosterVisit) -> list[str]:
    checklist = visit.checklist
    if checklist is None or not checklist.items:
        return []
    total, still_open = len(checklist.items), len(checklist.open_items)
    if not still_open:
        return [f"all {total} ticked"]
    return [f"{total} to tick" if still_open == total else f"{still_open} of {total} to tick"]


def _legend(rows: list[PrintRow]) -> list[LegendItem]:
    """The short needs that appear on the sheet, once each, in a fixed order, with what they mean."""
    needs = {(need.code, need.text, need.level) for row in rows for need in row.needs if need.code in NEED_MEANINGS}
    order = list(NEED_MEANINGS)
    return [
        LegendItem(text, level, NEED_MEANINGS[code])
        for code, text, level in sorted(needs, key=lambda need: (order.index(need[0]), need[1], need[2]))
    ]


def clinic_country(clinic) -> str:
    """The clinic's country as an ISO code, which decides between A and US paper sizes.

    The clinic's own country; one that has none (a clinic on UTC) reads its time zone as its
    phone numbers do, which gives A sizes.
    """
    return clinic.country.code or phone_region_for_time_zone(clinic.time_zone)


def print_sheet(*, roster: Roster, country: str) -> PrintSheet:
    """The roster laid out for paper: rows by chair then time, the timeline, and the sheet to use."""
    rows = [print_row(visit) for chair in roster.chairs for visit in chair.visits]
    chairs = len(roster.chairs)
    paper = paper_for(country=country, chairs=chairs, visits=len(rows))
    return PrintSheet(
        roster=roster,
        paper=paper,
        rows=rows,
        # The closing hour's label would run off the chart's end; the header says when the day ends.
        ticks=[tick for tick in roster.ticks if tick.left < 100],
        legend=_legend(rows),
        printed_at=roster.now.astimezone(roster.clinic.tz),
        one_sheet=fits(paper, chairs=chairs, visits=len(rows)),
    )
