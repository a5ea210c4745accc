"""A feed's events, read in a few queries, and written as an iCalendar file (the `icalendar` library,
as the patients' calendar files in `scheduling.reminders.content` are).

A clinic's roster feed has one event per visit holding a chair (booked, under way or given)
from two weeks back to eight weeks ahead: the chair, the patient's initials and the visit's
status, and the nurse looking after the chair that day. A nurse's feed has, for each day they
are assigned, one all-day event naming their chairs, and one event per visit on those chairs.
No name, drug, diagnosis or MRN: anyone holding the address reads it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from scheduling.doses import clinic_today
from scheduling.models import Appointment, CalendarFeed, NurseAssignment

DAYS_BACK = 14
DAYS_AHEAD = 56


def initials(first_name: str, last_name: str) -> str:
    """ "A.B." from Alice Brown: the first letter of each name, nothing more."""
    letters = [next((c for c in name if c.isalpha()), "") for name in (first_name, last_name)]
    return "".join(f"{letter.upper()}." for letter in letters if letter) or "?"


@dataclass(frozen=True)
class FeedVisit:
    uid: str
    starts_at: datetime
    ends_at: datetime
    summary: str
    description: str


@dataclass(frozen=True)
class FeedDay:
    uid: str
    day: date
    summary: str


def _window(feed: CalendarFeed) -> tuple[date, datetime, datetime]:
    today = clinic_today(feed.clinic)
    tz = feed.clinic.tz
    start = datetime.combine(today - timedelta(days=DAYS_BACK), time.min, tzinfo=tz)
    end = datetime.combine(today + timedelta(days=DAYS_AHEAD + 1), time.min, tzinfo=tz)
    return today, start, end


def _visits(clinic, start: datetime, end: datetime, *, chairs_by_day: dict[date, set[int]] | None = None):
    appointments = (
        Appointment.objects.active()
        .filter(clinic=clinic, starts_at__gte=start, starts_at__lt=end)
        .select_related("chair")
        .only(
            "pk",
            "starts_at",
            "ends_at",
            "status",
            "chair__name",
            "chair_id",
            "patient__first_name",
            "patient__last_name",
        )
        .select_related("patient")
        .order_by("starts_at", "chair__position", "pk")
    )
    for appointment in appointments:
        day = appointment.starts_at.astimezone(clinic.tz).date()
        if chairs_by_day is not None and appointment.chair_id not in chairs_by_day.get(day, ()):
            continue
        yield day, appointment


def _nurses_by_chair_day(clinic, first: date, last: date) -> dict[tuple[date, int], str]:
    rows = NurseAssignment.objects.filter(clinic=clinic, day__range=(first, last)).select_related("nurse")
    return {(row.day, row.chair_id): (row.nurse.get_full_name() or row.nurse.get_username()) for row in rows}


def _visit(appointment: Appointment, host: str, *, nurse: str = "") -> FeedVisit:
    patient = appointment.patient
    description = f"Status: {appointment.get_status_display()}."
    if nurse:
        description += f" Nurse: {nurse}."
    return FeedVisit(
        uid=f"roster-visit-{appointment.pk}@{host}",
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        summary=f"{appointment.chair.name}: {initials(patient.first_name, patient.last_name)}",
        description=description,
    )


def feed_events(feed: CalendarFeed) -> tuple[list[FeedDay], list[FeedVisit]]:
    """The feed's all-day events and visits, as plain values."""
    host = urlparse(settings.SITE_URL).hostname or "chairside.invalid"
    today, start, end = _window(feed)
    first, last = start.date(), (end - timedelta(days=1)).date()
    clinic = feed.clinic
    if feed.kind == CalendarFeed.Kind.CLINIC:
        nurses = _nurses_by_chair_day(clinic, first, last)
        visits = [
            _visit(appointment, host, nurse=nurses.get((day, appointment.chair_id), ""))
            for day, appointment in _visits(clinic, start, end)
        ]
        return [], visits
    assignments = (
        NurseAssignment.objects.filter(clinic=clinic, nurse=feed.nurse, day__range=(first, last))
        .select_related("chair")
        .order_by("day", "chair__position", "chair__name")
    )
    chairs_by_day: dict[date, set[int]] = defaultdict(set)
    names_by_day: dict[date, list[str]] = defaultdict(list)
    for assignment in assignments:
        chairs_by_day[assignment.day].add(assignment.chair_id)
        names_by_day[assignment.day].append(assignment.chair.name)
    days = [
        FeedDay(
            uid=f"nurse-{feed.nurse_id}-day-{day.isoformat()}@{host}",
            day=day,
            summary=f"{', '.join(names)} at {clinic.name}",
        )
        for day, names in sorted(names_by_day.items())
    ]
    visits = [
        _visit(appointment, host) for _day, appointment in _visits(clinic, start, end, chairs_by_day=chairs_by_day)
    ]
    return days, visits


def feed_calendar(feed: CalendarFeed) -> bytes:
    """The feed as an iCalendar file."""
    days, visits = feed_events(feed)
    calendar = Calendar()
    calendar.add("prodid", "-//Chairside//Calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    name = f"{feed.clinic.name} roster" if feed.kind == CalendarFeed.Kind.CLINIC else f"My chairs at {feed.clinic.name}"
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", feed.clinic.time_zone)
    calendar.add("refresh-interval", timedelta(minutes=30), parameters={"VALUE": "DURATION"})
    stamp = timezone.now()
    for day in days:
        event = Event()
        event.add("uid", day.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", day.day)
        event.add("dtend", day.day + timedelta(days=1))
        event.add("summary", day.summary)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    for visit in visits:
        event = Event()
        event.add("uid", visit.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", visit.starts_at)
        event.add("dtend", visit.ends_at)
        event.add("summary", visit.summary)
        event.add("description", visit.description)
        calendar.add_component(event)
    return calendar.to_ical()
