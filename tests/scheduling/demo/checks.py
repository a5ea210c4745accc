"""What the demo must show at any moment, checked against the database and the clock as they are.

Shared by the demo's tests: `test_seed_demo` (built at a weekday morning in London) and
`test_demo_moments` (the other moments). Each `check_` function takes the command's output.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from clinic import dates
from clinic.dosing import ChairTime, DoseStatus
from clinic.models import Clinic
from scheduling.availability.search import slot_problem
from scheduling.models import Appointment, Reminder
from scheduling.reminders.outbox import failed_in_period
from scheduling.roster.selectors import roster_for_day
from scheduling.week.selectors import clinic_week
from scheduling.worklist.selectors import worklist_rows

Status = Appointment.Status

# Tuesday 9 February 2027 and its weekend, away from daylight-saving changes and holidays.
MOMENTS = {
    "london-weekday-morning": datetime(2027, 2, 9, 9, 40, tzinfo=UTC),  # 04:40 in New York
    "new-york-weekday-morning": datetime(2027, 2, 9, 15, 0, tzinfo=UTC),  # 10:00 in New York
    "london-weekday-17-30": datetime(2027, 2, 9, 17, 30, tzinfo=UTC),
    "new-york-weekday-17-30": datetime(2027, 2, 9, 22, 30, tzinfo=UTC),  # London has closed
    "saturday": datetime(2027, 2, 13, 10, 30, tzinfo=UTC),  # Riverside open, Hudson closed
    "sunday": datetime(2027, 2, 14, 15, 0, tzinfo=UTC),
}


def clinics() -> list[Clinic]:
    return list(Clinic.objects.order_by("name"))


def open_hours(clinic: Clinic, day: date) -> tuple[time, time] | None:
    if clinic.closures.filter(starts_on__lte=day, ends_on__gte=day).exists():
        return None
    hours = clinic.opening_hours.filter(weekday=day.weekday()).first()
    return (hours.opens, hours.closes) if hours else None


def busiest_day(clinic: Clinic) -> date:
    """Today while the clinic is still to close, else the next open day."""
    now = timezone.localtime(timezone=clinic.tz)
    day = now.date()
    while True:
        hours = open_hours(clinic, day)
        if hours and (day > now.date() or now.time() < hours[1]):
            return day
        day += timedelta(days=1)


def day_visits(clinic: Clinic, day: date) -> list[Appointment]:
    start = datetime.combine(day, time.min, tzinfo=clinic.tz)
    return list(
        Appointment.objects.filter(clinic=clinic, starts_at__gte=start, starts_at__lt=start + timedelta(days=1))
        .exclude(status=Status.CANCELLED)
        .order_by("starts_at")
    )


def booked_share(clinic: Clinic, first: date, last: date) -> float:
    """Booked over open chair time from `first` to `last`, from the week view's figures."""
    booked = capacity = 0.0
    weeks = {}
    chairs = clinic.chairs.filter(active=True).count()
    day = first
    while day <= last:
        monday = day - timedelta(days=day.weekday())
        if monday not in weeks:
            weeks[monday] = {column.day: column for column in clinic_week(clinic, anchor=day).header}
        column = weeks[monday][day]
        hours = open_hours(clinic, day)
        if column.occupancy is not None and hours:
            minutes = (datetime.combine(day, hours[1]) - datetime.combine(day, hours[0])).seconds / 60 * chairs
            booked += column.occupancy * minutes
            capacity += 100 * minutes
        day += timedelta(days=1)
    return booked / capacity


def check_the_next_two_weeks_are_70_to_85_percent_booked(output: str) -> None:
    for clinic in clinics():
        today = timezone.localdate(timezone=clinic.tz)
        share = booked_share(clinic, today + timedelta(days=1), today + timedelta(days=14))
        assert 0.70 <= share <= 0.85, (clinic, share)


def check_the_weeks_behind_are_busy_for_the_utilisation_figures(output: str) -> None:
    for clinic in clinics():
        today = timezone.localdate(timezone=clinic.tz)
        share = booked_share(clinic, today - timedelta(days=28), today - timedelta(days=1))
        assert 0.5 <= share <= 0.85, (clinic, share)


def check_the_busiest_day_has_two_to_three_visits_a_chair(output: str) -> None:
    for clinic in clinics():
        day = busiest_day(clinic)
        visits = day_visits(clinic, day)
        per_chair = len(visits) / clinic.chairs.filter(active=True).count()
        assert 2 <= per_chair <= 4, (clinic, day, per_chair)


def check_today_moves_along_with_the_clinic_s_clock(output: str) -> None:
    for clinic in clinics():
        now = timezone.localtime(timezone=clinic.tz)
        today = now.date()
        hours = open_hours(clinic, today)
        statuses = Counter(visit.status for visit in day_visits(clinic, today))
        if hours is None:
            assert not statuses, (clinic, statuses)
            continue
        opens, closes = hours
        if now.time() < opens:
            assert set(statuses) == {Status.BOOKED}, (clinic, statuses)
        elif now.time() >= closes:
            assert set(statuses) == {Status.COMPLETED, Status.NO_SHOW}, (clinic, statuses)
        else:
            assert len(statuses) >= 4, (clinic, statuses)
            assert statuses[Status.NO_SHOW] <= 1, (clinic, statuses)
            assert set(statuses) & {Status.IN_CHAIR, Status.INFUSING, Status.OBSERVATION}, (clinic, statuses)
            if now.time() >= time(opens.hour + 1, opens.minute):
                assert statuses[Status.NO_SHOW] == 1, (clinic, statuses)


def check_the_roster_shows_one_late_and_one_running_over_while_the_day_is_under_way(output: str) -> None:
    for clinic in clinics():
        now = timezone.localtime(timezone=clinic.tz)
        hours = open_hours(clinic, now.date())
        if hours is None or not (
            datetime.combine(now.date(), hours[0], tzinfo=clinic.tz) + timedelta(hours=1)
            <= now
            < datetime.combine(now.date(), hours[1], tzinfo=clinic.tz)
        ):
            continue
        roster = roster_for_day(clinic=clinic, day=now.date())
        assert sum(visit.late for visit in roster.visits) >= 1, clinic
        assert sum(visit.overrun for visit in roster.visits) >= 1, clinic


def check_the_command_says_which_day_the_demo_shows(output: str) -> None:
    for clinic in clinics():
        day = busiest_day(clinic)
        assert f"{clinic.name}:" in output
        line = next(line for line in output.splitlines() if line.startswith(f"{clinic.name}:"))
        assert dates.weekday_day(day) in line, line
        assert ("today's roster (" in line) == (day == timezone.localdate(timezone=clinic.tz)), line


def check_the_worklist_has_overdue_and_due_doses_and_nothing_else_of_the_fill(output: str) -> None:
    for clinic in clinics():
        rows = worklist_rows(clinics=[clinic])
        statuses = Counter(row.dose.status for row in rows)
        assert statuses[DoseStatus.OVERDUE] >= 1, (clinic, statuses)
        assert statuses[DoseStatus.DUE] + statuses[DoseStatus.DUE_SOON] >= 1, (clinic, statuses)
        # The patients who keep the chairs busy are booked, or owe nothing for weeks.
        assert len(rows) <= 30, (clinic, statuses)


def check_failed_reminders_with_their_errors_are_inside_the_retry_period(output: str) -> None:
    for clinic in clinics():
        today = timezone.localdate(timezone=clinic.tz)
        failed = failed_in_period(clinic=clinic, first_day=today - timedelta(days=7), last_day=today)
        assert failed.count() >= 2, clinic
        assert all("SMTP" in row.last_error or "connect" in row.last_error for row in failed)
        assert not failed.filter(updated_at__gt=timezone.now()).exists()
        assert not failed.exclude(appointment__status=Status.BOOKED).exists()
    assert Reminder.objects.filter(status=Reminder.Status.FAILED).count() == 7


def check_authorizations_about_to_expire(output: str) -> None:
    for clinic in clinics():
        today = timezone.localdate(timezone=clinic.tz)
        courses = clinic.patients.filter(
            courses__authorization_expires_on__gte=today,
            courses__authorization_expires_on__lte=today + timedelta(days=31),
        )
        assert courses.count() == 1, clinic


def check_a_lemtrada_course_is_in_progress_or_begins_on_the_next_weekday(output: str) -> None:
    london = Clinic.objects.get(time_zone="Europe/London")
    today = timezone.localdate(timezone=london.tz)
    runs = []
    for appointment in Appointment.objects.filter(clinic=london, course__regimen__code="lemtrada").exclude(
        status__in=[Status.CANCELLED, Status.NO_SHOW]
    ):
        runs.append((appointment.course_id, appointment.starts_at.astimezone(london.tz).date(), appointment.status))
    by_course = defaultdict(list)
    for course_id, day, status in runs:
        if today - timedelta(days=6) <= day <= today + timedelta(days=7):
            by_course[course_id].append((day, status))
    in_progress = [
        visits
        for visits in by_course.values()
        if len(visits) == 5
        and any(day < today for day, _status in visits)
        and any(status == Status.BOOKED for _day, status in visits)
    ]
    if today.weekday() < 5:
        assert in_progress, by_course
    else:
        assert any(min(day for day, _status in visits) > today for visits in by_course.values()), by_course


def check_every_demo_appointment_keeps_the_booking_and_nurse_rules(output: str) -> None:
    # Every visit still to come went through booking_create, which refuses any visit that breaks a rule.
    assert "refused by the booking rules" not in output, output
    for clinic in clinics():
        hours = {row.weekday: (row.opens, row.closes) for row in clinic.opening_hours.all()}
        staffing = {row.weekday: row.nurses for row in clinic.staffing.all()}
        closures = [(row.starts_on, row.ends_on) for row in clinic.closures.all()]
        active = list(Appointment.objects.active().filter(clinic=clinic).order_by("starts_at"))
        by_day = defaultdict(list)
        for appointment in Appointment.objects.filter(clinic=clinic):
            starts, ends = appointment.starts_at.astimezone(clinic.tz), appointment.ends_at.astimezone(clinic.tz)
            assert starts.date() == ends.date(), appointment
            opens, closes = hours[starts.weekday()]
            assert opens <= starts.time() and ends.time() <= closes, appointment
            assert not any(first <= starts.date() <= last for first, last in closures), appointment
        for key in ("chair_id", "patient_id"):
            by_owner = defaultdict(list)
            for appointment in active:
                by_owner[getattr(appointment, key)].append(appointment)
            for appointments in by_owner.values():
                for earlier, later in zip(appointments, appointments[1:], strict=False):
                    assert earlier.ends_at <= later.starts_at, (key, earlier, later)
        for appointment in active:
            by_day[appointment.starts_at.astimezone(clinic.tz).date()].append(appointment)
        for day, appointments in by_day.items():
            nurses = staffing[day.weekday()]
            starts = Counter(
                a.starts_at.astimezone(clinic.tz).strftime("%H") + str(a.starts_at.minute // 15) for a in appointments
            )
            infusions = Counter(
                (a.starts_at + timedelta(minutes=a.premed_minutes)).astimezone(clinic.tz).strftime("%H")
                + str((a.starts_at + timedelta(minutes=a.premed_minutes)).minute // 15)
                for a in appointments
            )
            assert max(starts.values()) <= nurses * clinic.starts_per_nurse, (clinic, day)
            assert max(infusions.values()) <= nurses * clinic.starts_per_nurse, (clinic, day)
            for appointment in appointments:
                in_chairs = sum(other.starts_at <= appointment.starts_at < other.ends_at for other in appointments)
                assert in_chairs <= nurses * clinic.patients_per_nurse, (clinic, day)


def check_the_booking_rules_accept_every_visit_still_to_come_where_it_is(output: str) -> None:
    ahead = Appointment.objects.filter(status=Status.BOOKED, starts_at__gt=timezone.now()).select_related(
        "clinic", "chair"
    )
    assert ahead.count() >= 300
    for appointment in ahead:
        problem = slot_problem(
            clinic=appointment.clinic,
            chair=appointment.chair,
            starts_at=appointment.starts_at,
            chair_time=ChairTime(
                appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes
            ),
            patient_id=appointment.patient_id,
            exclude_appointment_ids=[appointment.pk],
        )
        assert problem is None, problem
