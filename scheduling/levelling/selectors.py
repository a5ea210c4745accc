"""What levelling a day reads: the clinic days, their visits and each visit's allowed days, as plain data.

`levelling_problem` turns the database into `scheduling.capacity.levelling.Problem`, in a fixed
number of queries whatever the number of visits: the policy, the chairs, opening hours with
staffing, closures, the clinic's visits of the days (with patient, course and drug), the dose
module's read of their courses, and the patients' visits at other clinics. `proposal` runs the
solver on it and says what the page shows; `fingerprint` is what a confirmation is checked
against, so a proposal made before someone changed a visit of those days is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone

from clinic import dates
from clinic.models import Clinic
from scheduling.availability.day import minutes, minutes_ceil
from scheduling.availability.loading import bookable_chairs, closures_between, opening_hours
from scheduling.capacity.charts import load_chart, timeline_chart
from scheduling.capacity.levelling import Busy, DayInput, Move, Problem, Result, VisitInput, level
from scheduling.doses import booked_doses_planned, clinic_today
from scheduling.models import Appointment, CapacityPolicy

TOKEN_SALT = "chairside.levelling"  # noqa: S105 - a signing namespace, not a secret
TOKEN_MAX_AGE = 60 * 60  # a proposal left open longer than an hour is made again


@dataclass
class Loaded:
    problem: Problem
    appointments: dict[int, Appointment]  # every visit of the days, by id
    fingerprint: str
    policy: CapacityPolicy
    fixed_reasons: dict[int, str] = field(default_factory=dict)  # why a visit of the day stays


def _rows(clinic: Clinic, start: date, end: date):
    tz = clinic.tz
    begin = datetime.combine(start, time.min, tzinfo=tz)
    finish = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return list(
        Appointment.objects.active()
        .filter(clinic=clinic, starts_at__gte=begin, starts_at__lt=finish)
        .select_related("patient__clinic", "course__patient__clinic", "course__regimen__drug", "chair")
        .order_by("starts_at", "pk")
    )


def _fingerprint(limit: int, appointments, busy) -> str:
    digest = hashlib.sha256(f"limit:{limit}".encode())
    for item in sorted(appointments, key=lambda row: row.pk):
        digest.update(
            f"|{item.pk}:{item.status}:{item.chair_id}:{item.starts_at.isoformat()}:{item.ends_at.isoformat()}".encode()
        )
    for row in sorted(busy):
        digest.update(f"|busy:{row}".encode())
    return digest.hexdigest()


def _days(clinic: Clinic, day: date, limit: int, today: date) -> list[date]:
    return [
        day + timedelta(days=offset) for offset in range(-limit, limit + 1) if day + timedelta(days=offset) >= today
    ]


def levelling_problem(clinic: Clinic, day: date, *, now: datetime | None = None) -> Loaded:
    """The day to level, and the days its visits may move to, as the solver's plain data."""
    now = now or timezone.now()
    today = clinic_today(clinic, now)
    policy = CapacityPolicy.for_clinics([clinic])[clinic.pk]
    limit = policy.levelling_days
    span = _days(clinic, day, limit, today) or [day]
    start, end = min(span), max(span)
    hours = opening_hours(clinic)
    closures = closures_between(clinic, start, end)
    chairs = tuple(pk for pk, _name in bookable_chairs(clinic))
    now_minute = minutes_ceil(now)
    days: dict[date, DayInput] = {}
    for other in span:
        opens_closes = hours.get(other.weekday())
        if opens_closes is None or any(first <= other <= last for first, last, _ in closures):
            continue
        opens, closes, nurses = opens_closes
        if nurses <= 0:
            continue
        open_at = datetime.combine(other, opens, tzinfo=clinic.tz).astimezone(UTC)
        close_at = datetime.combine(other, closes, tzinfo=clinic.tz).astimezone(UTC)
        begin = minutes(open_at)
        days[other] = DayInput(
            day=other,
            opens=begin,
            length=minutes(close_at) - begin,
            nurses=nurses,
            patients_per_nurse=clinic.patients_per_nurse,
            starts_per_nurse=clinic.starts_per_nurse,
            chairs=chairs,
            grid=clinic.slot_minutes,
            first_start=max(now_minute - begin, 0),
        )
    appointments = [item for item in _rows(clinic, start, end) if item.starts_at.astimezone(clinic.tz).date() in days]
    by_id = {item.pk: item for item in appointments}
    tz = clinic.tz
    on_day = [item for item in appointments if item.starts_at.astimezone(tz).date() == day]
    planned = booked_doses_planned(
        [(item.course, item.pk, item.dose_number) for item in on_day if item.status == Appointment.Status.BOOKED],
        today=today,
    )
    later_booked = set(
        Appointment.objects.filter(
            course_id__in={item.course_id for item in on_day}, status=Appointment.Status.BOOKED
        ).values_list("course_id", "dose_number")
    )
    reasons: dict[int, str] = {}
    visits = []
    for item in appointments:
        local_day = item.starts_at.astimezone(tz).date()
        info = days[local_day]
        allowed: tuple[date, ...] = ()
        if local_day == day:
            dose = planned.get(item.pk)
            if item.status != Appointment.Status.BOOKED:
                reasons[item.pk] = f"{item.get_status_display()}: only a booked visit moves."
            elif item.starts_at < now:
                reasons[item.pk] = "Its start has passed."
            elif dose is not None and dose.block_size > 1:
                reasons[item.pk] = (
                    f"Day {dose.dose_in_block} of a {dose.block_size}-dose series: the series stays together."
                )
            else:
                allowed = (day,)
                has_later = any(
                    course == item.course_id and number > item.dose_number for course, number in later_booked
                )
                if limit and dose is not None and not has_later:
                    first = max(dose.earliest_date, today)
                    allowed = tuple(
                        other
                        for other in sorted(days)
                        if other == day or (first <= other <= dose.latest_date and abs((other - day).days) <= limit)
                    )
        offset = minutes(item.starts_at) - info.opens
        visits.append(
            VisitInput(
                key=item.pk,
                patient_id=item.patient_id,
                day=local_day,
                chair_id=item.chair_id,
                start=offset,
                minutes=minutes_ceil(item.ends_at) - minutes(item.starts_at),
                premed=item.premed_minutes,
                days=allowed,
            )
        )
    patients = {item.patient_id for item in appointments}
    range_start = datetime.combine(start, time.min, tzinfo=tz)
    range_end = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    elsewhere = (
        Appointment.objects.active()
        .filter(patient_id__in=patients, starts_at__lt=range_end, ends_at__gt=range_start)
        .exclude(clinic=clinic)
        .values_list("patient_id", "starts_at", "ends_at")
    )
    busy = []
    for patient_id, starts_at, ends_at in elsewhere:
        local_day = starts_at.astimezone(tz).date()
        if local_day in days:
            info = days[local_day]
            busy.append(
                Busy(patient_id, local_day, minutes(starts_at) - info.opens, minutes_ceil(ends_at) - info.opens)
            )
    if day not in days:
        days_used: dict[date, DayInput] = {}
    else:
        days_used = days
    problem = Problem(levelled=day, days=days_used, visits=visits if days_used else [], busy=busy)
    return Loaded(
        problem=problem,
        appointments=by_id,
        fingerprint=_fingerprint(
            limit, appointments, [(b.patient_id, b.day.isoformat(), b.start, b.end) for b in busy]
        ),
        policy=policy,
        fixed_reasons=reasons,
    )


def fingerprint(clinic: Clinic, day: date) -> str:
    """What the visits of the day (and of the days they may move to) look like now."""
    return levelling_problem(clinic, day).fingerprint


# --- The proposal the page shows ------------------------------------------------------------


@dataclass(frozen=True)
class MoveRow:
    appointment: Appointment
    move: Move
    before_at: datetime  # local
    after_at: datetime  # local
    after_chair: str

    @property
    def before_text(self) -> str:
        return f"{dates.weekday_day_month(self.before_at)}, {self.before_at:%H:%M}"

    @property
    def after_text(self) -> str:
        return f"{dates.weekday_day_month(self.after_at)}, {self.after_at:%H:%M}"


@dataclass
class Proposal:
    clinic: Clinic
    day: date
    loaded: Loaded
    result: Result | None  # None: the clinic is closed that day
    rows: list[MoveRow]
    token: str

    @property
    def is_open(self) -> bool:
        return self.result is not None

    @property
    def before(self):
        return self.result.before[self.day]

    @property
    def after(self):
        return self.result.after[self.day]

    @property
    def visits(self) -> int:
        return sum(1 for visit in self.loaded.problem.visits if visit.day == self.day)

    @property
    def movable(self) -> int:
        return sum(1 for visit in self.loaded.problem.visits if visit.day == self.day and visit.days)

    @property
    def unmoved_reasons(self) -> list[tuple[Appointment, str, str]]:
        """(visit, its local start, why it stays) for each visit of the day that cannot move."""
        tz = self.clinic.tz
        return [
            (self.loaded.appointments[pk], f"{self.loaded.appointments[pk].starts_at.astimezone(tz):%H:%M}", reason)
            for pk, reason in self.loaded.fixed_reasons.items()
        ]


def _local_at(info: DayInput, offset: int, tz) -> datetime:
    return datetime.fromtimestamp((info.opens + offset) * 60, UTC).astimezone(tz)


def proposal_token(clinic: Clinic, day: date, loaded: Loaded, moves: list[Move]) -> str:
    """The proposal, signed: what the confirmation applies, and the state of the days it was made from."""
    tz = clinic.tz
    problem = loaded.problem
    return signing.dumps(
        {
            "clinic": clinic.pk,
            "day": day.isoformat(),
            "fingerprint": loaded.fingerprint,
            "moves": [
                [
                    move.key,
                    move.after.chair_id,
                    _local_at(problem.days[move.after.day], move.after.start, tz).astimezone(UTC).isoformat(),
                ]
                for move in moves
            ],
        },
        salt=TOKEN_SALT,
    )


def read_token(token: str) -> dict:
    """The signed proposal; raises signing.BadSignature (or SignatureExpired) when it is not one of ours or too old."""
    return signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)


def proposal(clinic: Clinic, day: date, *, time_limit: float | None = None) -> Proposal:
    """The moves that level the day, with what the page shows before and after."""
    loaded = levelling_problem(clinic, day)
    problem = loaded.problem
    if day not in problem.days:
        return Proposal(clinic, day, loaded, None, [], "")
    result = level(
        problem,
        time_limit=settings.LEVELLING_TIME_LIMIT_SECONDS if time_limit is None else time_limit,
        workers=settings.LEVELLING_WORKERS,
    )
    tz = clinic.tz
    chair_names = dict(bookable_chairs(clinic))
    rows = [
        MoveRow(
            appointment=loaded.appointments[move.key],
            move=move,
            before_at=_local_at(problem.days[move.before.day], move.before.start, tz),
            after_at=_local_at(problem.days[move.after.day], move.after.start, tz),
            after_chair=chair_names.get(move.after.chair_id, ""),
        )
        for move in result.moves
    ]
    return Proposal(clinic, day, loaded, result, rows, proposal_token(clinic, day, loaded, result.moves))


def proposal_charts(item: Proposal) -> dict:
    """The before and after of the day: its load curve and its chairs' timeline."""
    if not item.is_open:
        return {}
    problem = item.loaded.problem
    info = problem.days[item.day]
    tz = item.clinic.tz
    opens = _local_at(info, 0, tz)
    chair_names = dict(bookable_chairs(item.clinic))
    moved = {move.key for move in item.result.moves}
    places_after = {move.key: move.after for move in item.result.moves}

    def bars(after: bool):
        rows = []
        for visit in problem.visits:
            place = places_after.get(visit.key) if after else None
            day, start, chair = (
                (place.day, place.start, place.chair_id) if place else (visit.day, visit.start, visit.chair_id)
            )
            if day != item.day:
                continue
            rows.append((chair, start, visit.minutes, visit.key in moved))
        return rows

    before, after = item.before, item.after
    return {
        "load_chart": load_chart(
            chart_id="levelling-load",
            title=f"Patients in chairs per nurse through {dates.weekday_day_month(item.day)}, before and after levelling",
            description=(
                f"Before: at most {before.peak} patients ({before.per_nurse:.1f} per nurse); after: at most "
                f"{after.peak} ({after.per_nurse:.1f} per nurse); the nurses may look after {info.capacity}."
            ),
            opens=opens,
            nurses=info.nurses,
            series=[("Before", before.load, "chart-line-0"), ("After", after.load, "chart-line-1")],
            limit=info.patients_per_nurse,
        ),
        "timeline_before": timeline_chart(
            chart_id="levelling-before",
            title="The chairs before levelling",
            description=f"{len(bars(False))} visits in {len(info.chairs)} chairs.",
            opens=opens,
            length=info.length,
            chairs=[(pk, chair_names.get(pk, str(pk))) for pk in info.chairs],
            bars=bars(False),
        ),
        "timeline_after": timeline_chart(
            chart_id="levelling-after",
            title="The chairs after levelling",
            description=f"{len(moved)} visits moved, marked.",
            opens=opens,
            length=info.length,
            chairs=[(pk, chair_names.get(pk, str(pk))) for pk in info.chairs],
            bars=bars(True),
        ),
    }
