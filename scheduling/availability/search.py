"""The availability search: every free (chair, start) in which a dose's whole chair time fits.

A slot fits when the whole visit lies inside the clinic's opening hours on an open day,
the chair and the patient are free for all of it, and the nurse rules hold at every
moment: never more patients in chairs than `nurses x patients_per_nurse`, never more
infusion starts in one 15-minute slot than `nurses x starts_per_nurse` (the infusion
starts after the premedication).

The search reads everything it needs in a fixed number of queries (chairs, opening hours
with staffing, closures, appointments), whatever the number of appointments, and then
works in whole minutes since the epoch: one list per open day holds the number of patients
in chairs at each minute, so the busiest moment of a visit is the `max()` of a slice.

The booking services call `slot_problem()` under their lock, which runs the same rules for
one (chair, start) and explains in a sentence why it does not fit.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from django.db.models import OuterRef, Prefetch, Q, Subquery, prefetch_related_objects
from django.utils import timezone

from clinic.dosing import ChairTime, GivenDose, PlannedDose, dose_plan, format_day, next_dose
from clinic.models import Chair, Clinic, Closure, MonitoringRule, NurseStaffing, OpeningHours, Regimen
from scheduling.models import Appointment

START_SLOT_MINUTES = 15  # the nurse rule counts infusion starts per 15-minute slot of the clock
BALANCE_DAYS = 5  # the balanced choice looks at this many days with free slots


def _minutes(moment: datetime) -> int:
    """Whole minutes since the epoch (floor)."""
    return math.floor(moment.timestamp() / 60)


def _minutes_ceil(moment: datetime) -> int:
    return math.ceil(moment.timestamp() / 60)


def _hours(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if not rest:
        return f"{hours} h"
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d}"


def _clock(moment: datetime, clinic: Clinic) -> str:
    return f"{moment.astimezone(clinic.tz):%H:%M}"


@dataclass(frozen=True, slots=True)
class Slot:
    chair_id: int
    chair_name: str
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    local_start: datetime  # in the clinic's time zone, for display
    peak: int  # patients in chairs at the busiest moment of the visit, this one included
    capacity: int  # patients the nurses on duty may look after at once
    load: float  # average patients in chairs during the visit, before this one
    late: bool = False  # after the end of the dose's recommended window

    @property
    def start_param(self) -> str:
        """The start as a compact ISO date-time in UTC, for links (2027-03-01T09:00Z)."""
        return self.starts_at.strftime("%Y-%m-%dT%H:%MZ")

    @property
    def local_end(self) -> datetime:
        return self.ends_at.astimezone(self.local_start.tzinfo)

    @property
    def local_day(self) -> date:
        return self.local_start.date()

    def as_dict(self) -> dict:
        return {
            "chair_id": self.chair_id,
            "chair": self.chair_name,
            "starts_at": self.starts_at.isoformat().replace("+00:00", "Z"),
            "ends_at": self.ends_at.isoformat().replace("+00:00", "Z"),
            "local_start": self.local_start.isoformat(),
            "local_end": self.local_end.isoformat(),
            "nurse_load": {"peak": self.peak, "capacity": self.capacity},
            "late": self.late,
        }


@dataclass(frozen=True, slots=True)
class DayAvailability:
    day: date
    slots: int
    code: str  # open, closed, closure, outside_window, past, full, patient_busy, no_nurses, too_short
    reason: str  # a sentence when the day has nothing, else ""
    late: bool = False


@dataclass
class SearchResult:
    clinic: Clinic
    chair_time: ChairTime
    start: date
    end: date
    slots: list[Slot]
    days: list[DayAvailability]
    balanced: Slot | None = None
    dose: PlannedDose | None = None
    earliest_date: date | None = None
    latest_date: date | None = None

    @property
    def earliest(self) -> Slot | None:
        return self.slots[0] if self.slots else None

    def by_day(self) -> list[tuple[DayAvailability, list[Slot]]]:
        grouped: dict[date, list[Slot]] = defaultdict(list)
        for slot in self.slots:
            grouped[slot.local_day].append(slot)
        return [(day, grouped.get(day.day, [])) for day in self.days]

    def first_per_start(self, limit_per_day: int = 40) -> list[tuple[DayAvailability, list[Slot]]]:
        """Per day, one slot per start time (the first chair free), for a compact list."""
        rows = []
        for day, slots in self.by_day():
            seen: set[datetime] = set()
            picked = []
            for slot in slots:
                if slot.starts_at not in seen:
                    seen.add(slot.starts_at)
                    picked.append(slot)
            rows.append((day, picked[:limit_per_day]))
        return rows

    def as_dict(self, limit: int | None = None) -> dict:
        slots = self.slots if limit is None else self.slots[:limit]
        return {
            "clinic": {"id": self.clinic.pk, "time_zone": self.clinic.time_zone},
            "chair_time": {
                "premed_minutes": self.chair_time.premed_minutes,
                "infusion_minutes": self.chair_time.infusion_minutes,
                "observation_minutes": self.chair_time.observation_minutes,
                "total_minutes": self.chair_time.total_minutes,
            },
            "dose": (
                {
                    "dose_number": self.dose.dose_number,
                    "phase": self.dose.phase,
                    "dose_in_block": self.dose.dose_in_block,
                    "block_size": self.dose.block_size,
                    "target_date": self.dose.target_date.isoformat(),
                    "earliest_date": self.dose.earliest_date.isoformat(),
                    "latest_date": self.dose.latest_date.isoformat(),
                    "reason": self.dose.reason,
                }
                if self.dose
                else None
            ),
            "window": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "count": len(self.slots),
            "earliest": self.earliest.as_dict() if self.earliest else None,
            "balanced": self.balanced.as_dict() if self.balanced else None,
            "slots": [slot.as_dict() for slot in slots],
            "days": [
                {"date": day.day.isoformat(), "slots": day.slots, "code": day.code, "reason": day.reason}
                for day in self.days
            ],
        }


# --- Loading: a fixed number of queries ---------------------------------------------------


@dataclass
class _Booked:
    chair_id: int
    patient_id: int
    clinic_id: int
    start: int  # minutes since the epoch
    end: int
    infusion_start: int
    appointment_id: int


@dataclass
class _ClinicData:
    chairs: list[tuple[int, str]]
    hours: dict[int, tuple[time, time, int]]  # weekday -> (opens, closes, nurses)
    closures: list[tuple[date, date, str]]
    booked: list[_Booked] = field(default_factory=list)


def _load(
    *,
    clinic: Clinic,
    start: date,
    end: date,
    patient_id: int | None,
    chair_ids: Sequence[int] | None,
    exclude_appointment_ids: Iterable[int],
) -> _ClinicData:
    tz = clinic.tz
    chairs_qs = Chair.objects.filter(clinic=clinic, active=True).order_by("position", "name")
    if chair_ids is not None:
        chairs_qs = chairs_qs.filter(pk__in=list(chair_ids))
    chairs = list(chairs_qs.values_list("id", "name"))

    staffing = NurseStaffing.objects.filter(clinic=OuterRef("clinic"), weekday=OuterRef("weekday")).values("nurses")
    hours = {
        weekday: (opens, closes, nurses or 0)
        for weekday, opens, closes, nurses in OpeningHours.objects.filter(clinic=clinic)
        .annotate(nurses=Subquery(staffing[:1]))
        .values_list("weekday", "opens", "closes", "nurses")
    }
    closures = list(
        Closure.objects.filter(clinic=clinic, starts_on__lte=end, ends_on__gte=start).values_list(
            "starts_on", "ends_on", "reason"
        )
    )
    # One day of margin either side: appointments are bucketed by the clinic's local day.
    range_start = datetime.combine(start - timedelta(days=1), time.min, tzinfo=tz)
    range_end = datetime.combine(end + timedelta(days=2), time.min, tzinfo=tz)
    who = Q(clinic=clinic)
    if patient_id is not None:
        who |= Q(patient_id=patient_id)
    rows = (
        Appointment.objects.filter(who, status__in=Appointment.ACTIVE_STATUSES)
        .filter(starts_at__lt=range_end, ends_at__gt=range_start)
        .exclude(pk__in=list(exclude_appointment_ids))
        .values_list("id", "chair_id", "patient_id", "clinic_id", "starts_at", "ends_at", "premed_minutes")
    )
    booked = []
    for pk, chair_id, patient, clinic_id, starts_at, ends_at, premed in rows:
        begin = _minutes(starts_at)
        booked.append(_Booked(chair_id, patient, clinic_id, begin, _minutes_ceil(ends_at), begin + premed, pk))
    return _ClinicData(chairs=chairs, hours=hours, closures=closures, booked=booked)


# --- One day -------------------------------------------------------------------------------


@dataclass
class _Day:
    """One open day of the clinic: its hours in epoch minutes and the load at every minute."""

    day: date
    open_at: datetime  # UTC
    opens: int  # epoch minutes
    length: int  # minutes open
    nurses: int
    capacity: int
    start_capacity: int
    in_chairs: list[int]  # patients in chairs at each minute after opening (this clinic)
    starts: dict[int, int]  # infusion starts per 15-minute slot (epoch minutes // 15)
    chair_busy: dict[int, list[tuple[int, int]]]  # chair -> sorted (start, end) offsets from opening
    patient_busy: list[tuple[int, int]]


def _build_day(
    clinic: Clinic, day: date, opens: time, closes: time, nurses: int, booked: list[_Booked], patient_id
) -> _Day:
    tz = clinic.tz
    open_at = datetime.combine(day, opens, tzinfo=tz).astimezone(UTC)
    close_at = datetime.combine(day, closes, tzinfo=tz).astimezone(UTC)
    begin, finish = _minutes(open_at), _minutes(close_at)
    length = finish - begin
    diff = [0] * (length + 1)
    starts: dict[int, int] = defaultdict(int)
    chair_busy: dict[int, list[tuple[int, int]]] = defaultdict(list)
    patient_busy = []
    for row in booked:
        if row.end <= begin or row.start >= finish:
            continue
        if row.patient_id == patient_id:
            patient_busy.append((row.start - begin, row.end - begin))
        if row.clinic_id != clinic.pk:
            continue
        chair_busy[row.chair_id].append((row.start - begin, row.end - begin))
        first, last = max(row.start - begin, 0), min(row.end - begin, length)
        diff[first] += 1
        diff[last] -= 1
        starts[row.infusion_start // START_SLOT_MINUTES] += 1
    for intervals in chair_busy.values():
        intervals.sort()
    return _Day(
        day=day,
        open_at=open_at,
        opens=begin,
        length=length,
        nurses=nurses,
        capacity=nurses * clinic.patients_per_nurse,
        start_capacity=nurses * clinic.starts_per_nurse,
        in_chairs=list(accumulate(diff))[:length],
        starts=starts,
        chair_busy=chair_busy,
        patient_busy=patient_busy,
    )


def _bucket(booked: list[_Booked], clinic: Clinic) -> dict[date, list[_Booked]]:
    """Appointments by each local day they touch (a visit past midnight counts on both days)."""
    tz = clinic.tz
    days: dict[date, list[_Booked]] = defaultdict(list)
    for row in booked:
        first = datetime.fromtimestamp(row.start * 60, tz).date()
        last = datetime.fromtimestamp((row.end - 1) * 60, tz).date()
        day = first
        while day <= last:
            days[day].append(row)
            day += timedelta(days=1)
    return days


def _closure_on(closures: list[tuple[date, date, str]], day: date) -> str | None:
    for first, last, reason in closures:
        if first <= day <= last:
            return reason
    return None


# --- The search ----------------------------------------------------------------------------


def find_slots(
    *,
    clinic: Clinic,
    chair_time: ChairTime,
    start: date,
    end: date,
    patient_id: int | None = None,
    earliest_date: date | None = None,
    latest_date: date | None = None,
    chair_ids: Sequence[int] | None = None,
    exclude_appointment_ids: Iterable[int] = (),
    prefer_from: date | None = None,
    now: datetime | None = None,
) -> SearchResult:
    """Every free (chair, start) between the local days `start` and `end` (inclusive).

    Days before `earliest_date` are outside the dosing window and not searched; days after
    `latest_date` are searched and their slots marked late. Four queries, whatever the
    number of appointments.
    """
    data = _load(
        clinic=clinic,
        start=start,
        end=end,
        patient_id=patient_id,
        chair_ids=chair_ids,
        exclude_appointment_ids=exclude_appointment_ids,
    )
    now_minute = _minutes_ceil(now or timezone.now())
    by_day = _bucket(data.booked, clinic)
    duration = chair_time.total_minutes
    premed = chair_time.premed_minutes
    grid = clinic.slot_minutes
    tz = clinic.tz
    slots: list[Slot] = []
    days: list[DayAvailability] = []
    day = start
    while day <= end:
        late = latest_date is not None and day > latest_date
        if earliest_date is not None and day < earliest_date:
            days.append(
                DayAvailability(
                    day,
                    0,
                    "outside_window",
                    f"Outside the dosing window: this dose may not be given before {format_day(earliest_date)}.",
                )
            )
            day += timedelta(days=1)
            continue
        closure = _closure_on(data.closures, day)
        hours = data.hours.get(day.weekday())
        if closure:
            days.append(DayAvailability(day, 0, "closure", f"Closed: {closure}.", late))
        elif hours is None:
            days.append(DayAvailability(day, 0, "closed", f"Closed on {day:%A}s.", late))
        elif hours[2] <= 0:
            days.append(DayAvailability(day, 0, "no_nurses", "No nurses are on duty that day.", late))
        else:
            found, code, reason = _search_day(
                clinic, data, day, hours, by_day.get(day, []), patient_id, duration, premed, grid, now_minute, late, tz
            )
            slots.extend(found)
            days.append(DayAvailability(day, len(found), code, reason, late))
        day += timedelta(days=1)
    return SearchResult(
        clinic=clinic,
        chair_time=chair_time,
        start=start,
        end=end,
        slots=slots,
        days=days,
        balanced=_balanced(slots, prefer_from),
        earliest_date=earliest_date,
        latest_date=latest_date,
    )


def _search_day(clinic, data, day, hours, booked, patient_id, duration, premed, grid, now_minute, late, tz):
    opens, closes, nurses = hours
    info = _build_day(clinic, day, opens, closes, nurses, booked, patient_id)
    if duration > info.length:
        return (
            [],
            "too_short",
            f"Open for {_hours(info.length)} that day, shorter than the {_hours(duration)} visit.",
        )
    last_start = info.length - duration
    in_chairs = info.in_chairs
    ok: list[bool] = []
    peaks: list[int] = []
    loads: list[float] = []
    past = nurse_full = patient_busy = 0
    for offset in range(0, last_start + 1, grid):
        peak = max(in_chairs[offset : offset + duration]) + 1
        peaks.append(peak)
        loads.append(sum(in_chairs[offset : offset + duration]) / duration)
        if info.opens + offset < now_minute:
            past += 1
            ok.append(False)
        elif peak > info.capacity or (
            info.starts.get((info.opens + offset + premed) // START_SLOT_MINUTES, 0) + 1 > info.start_capacity
        ):
            nurse_full += 1
            ok.append(False)
        elif any(b_start < offset + duration and b_end > offset for b_start, b_end in info.patient_busy):
            patient_busy += 1
            ok.append(False)
        else:
            ok.append(True)
    count = len(ok)
    per_start: list[list[tuple[int, str]]] = [[] for _ in range(count)]
    if any(ok):
        for chair_id, chair_name in data.chairs:
            cursor = 0
            for busy_start, busy_end in [*info.chair_busy.get(chair_id, []), (info.length, info.length)]:
                # Starts k*grid with cursor <= k*grid and k*grid + duration <= busy_start.
                first = -(-cursor // grid)
                last = (busy_start - duration) // grid
                for index in range(max(first, 0), min(last, count - 1) + 1):
                    if ok[index]:
                        per_start[index].append((chair_id, chair_name))
                cursor = max(cursor, busy_end)
    found: list[Slot] = []
    for index, chairs in enumerate(per_start):
        if not chairs:
            continue
        starts_at = info.open_at + timedelta(minutes=index * grid)
        ends_at = starts_at + timedelta(minutes=duration)
        local_start = starts_at.astimezone(tz)
        for chair_id, chair_name in chairs:
            found.append(
                Slot(
                    chair_id,
                    chair_name,
                    starts_at,
                    ends_at,
                    local_start,
                    peaks[index],
                    info.capacity,
                    loads[index],
                    late,
                )
            )
    if found:
        return found, "open", ""
    if past == count:
        return [], "past", "Too late to book: the last start that fits has passed."
    if nurse_full == count - past:
        return (
            [],
            "full",
            f"Full: the {info.nurses} nurses on duty already have as many patients or infusion starts as they can take.",
        )
    if patient_busy + nurse_full == count - past:
        return [], "patient_busy", "The patient already has an appointment at every time that would fit."
    return [], "full", f"Full: no chair is free for a whole {_hours(duration)} visit."


def _balanced(slots: list[Slot], prefer_from: date | None) -> Slot | None:
    """The slot that levels the nurses' load best, among the first few days with free slots.

    Lowest share of the nurses' capacity at the visit's busiest moment first, then the lowest
    average load, then the earliest. Looks from `prefer_from` (the dose's target date) when
    there are free slots from then on.
    """
    if not slots:
        return None
    pool = slots
    if prefer_from is not None:
        later = [slot for slot in slots if slot.local_day >= prefer_from]
        pool = later or slots
    days: list[date] = []
    candidates = []
    for slot in pool:
        if slot.local_day not in days:
            if len(days) == BALANCE_DAYS:
                break
            days.append(slot.local_day)
        candidates.append(slot)
    return min(candidates, key=lambda slot: (slot.peak / slot.capacity, slot.load / slot.capacity, slot.starts_at))


# --- One slot, for the booking services -----------------------------------------------------


def slot_problem(
    *,
    clinic: Clinic,
    chair: Chair,
    starts_at: datetime,
    chair_time: ChairTime,
    patient_id: int | None,
    exclude_appointment_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> str | None:
    """Why this chair at this time does not fit the visit, as a sentence; None when it fits."""
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be an aware datetime.")
    tz = clinic.tz
    local = starts_at.astimezone(tz)
    day = local.date()
    duration = chair_time.total_minutes
    ends_at = starts_at + timedelta(minutes=duration)
    when = f"{format_day(day)} at {local:%H:%M}"
    if chair.clinic_id != clinic.pk or not chair.active:
        return f"{chair.name} is not a bookable chair at {clinic.name}. Choose one of the clinic's chairs."
    if starts_at < (now or timezone.now()):
        return f"{when} has already passed. Choose a later time."
    data = _load(
        clinic=clinic,
        start=day,
        end=day,
        patient_id=patient_id,
        chair_ids=None,
        exclude_appointment_ids=exclude_appointment_ids,
    )
    closure = _closure_on(data.closures, day)
    if closure:
        return f"The clinic is closed on {format_day(day)} ({closure}). Choose another day."
    hours = data.hours.get(day.weekday())
    if hours is None:
        return f"The clinic is closed on {day:%A}s. Choose another day."
    opens, closes, nurses = hours
    if nurses <= 0:
        return f"No nurses are on duty on {format_day(day)}. Choose another day."
    info = _build_day(clinic, day, opens, closes, nurses, _bucket(data.booked, clinic).get(day, []), patient_id)
    offset = _minutes(starts_at) - info.opens
    if offset < 0:
        return f"The clinic opens at {opens:%H:%M} on {format_day(day)}. Choose a later start."
    if offset + duration > info.length:
        return (
            f"The {_hours(duration)} visit would end at {_clock(ends_at, clinic)}, after the clinic closes at "
            f"{closes:%H:%M}. Choose an earlier start or another day."
        )
    if offset % clinic.slot_minutes:
        return f"Appointments start on the clinic's {clinic.slot_minutes}-minute grid. Choose a time on the grid."
    for busy_start, busy_end in info.chair_busy.get(chair.pk, []):
        if busy_start < offset + duration and busy_end > offset:
            begin = info.open_at + timedelta(minutes=busy_start)
            finish = info.open_at + timedelta(minutes=busy_end)
            return (
                f"{chair.name} is already booked from {_clock(begin, clinic)} to {_clock(finish, clinic)} "
                f"on {format_day(day)}. Choose another chair or time."
            )
    for busy_start, busy_end in info.patient_busy:
        if busy_start < offset + duration and busy_end > offset:
            begin = info.open_at + timedelta(minutes=busy_start)
            return (
                f"The patient already has an appointment at {_clock(begin, clinic)} on {format_day(day)}. "
                "Choose another time."
            )
    window = info.in_chairs[offset : offset + duration]
    peak = max(window)
    if peak + 1 > info.capacity:
        moment = info.open_at + timedelta(minutes=offset + window.index(peak))
        return (
            f"At {_clock(moment, clinic)} the {nurses} nurses on duty already look after {peak} patients, "
            f"their limit of {info.capacity}. Choose another time."
        )
    slot_index = (info.opens + offset + chair_time.premed_minutes) // START_SLOT_MINUTES
    if info.starts.get(slot_index, 0) + 1 > info.start_capacity:
        begin = datetime.fromtimestamp(slot_index * START_SLOT_MINUTES * 60, UTC)
        return (
            f"{info.starts.get(slot_index, 0)} infusions already start between {_clock(begin, clinic)} and "
            f"{_clock(begin + timedelta(minutes=START_SLOT_MINUTES), clinic)}, the most the nurses on duty can "
            "start at once. Choose a start 15 minutes earlier or later."
        )
    return None


# --- A course's dose ------------------------------------------------------------------------


@dataclass
class CourseHistory:
    """A course's appointments as the dosing rules need them (one query)."""

    given: list[GivenDose]  # completed doses, and active bookings counted as given on their day
    booked: dict[int, int]  # dose number -> active appointment id
    completed: set[int]


def course_history(course, *, exclude_appointment_id: int | None = None) -> CourseHistory:
    tz = course.patient.clinic.tz
    given: list[GivenDose] = []
    booked: dict[int, int] = {}
    completed: set[int] = set()
    rows = (
        Appointment.objects.filter(course=course, status__in=Appointment.ACTIVE_STATUSES)
        .order_by("starts_at")
        .values_list("id", "dose_number", "starts_at", "status", "serious_reaction")
    )
    for pk, dose_number, starts_at, status, serious in rows:
        if pk == exclude_appointment_id:
            continue
        given.append(GivenDose(starts_at.astimezone(tz).date(), bool(serious)))
        if status == Appointment.Status.COMPLETED:
            completed.add(dose_number)
        else:
            booked[dose_number] = pk
    return CourseHistory(given=given, booked=booked, completed=completed)


def regimen_spec(regimen: Regimen):
    """The regimen as plain data, reading its phases only (the search needs no monitoring rules)."""
    cache = getattr(regimen, "_prefetched_objects_cache", {})
    if "phases" not in cache or "monitoring" not in cache:
        prefetch_related_objects([regimen], "phases", Prefetch("monitoring", queryset=MonitoringRule.objects.none()))
    return regimen.spec()


def course_dose(
    course, *, dose_number: int | None = None, today: date | None = None, history: CourseHistory | None = None
) -> PlannedDose | None:
    """The course's next unbooked dose (or dose `dose_number`), from the dosing rules.

    Doses booked but not yet given count as given on their booked day, so the next dose
    is the one after them; a chosen dose number looks along the plan.
    """
    clinic = course.patient.clinic
    today = today or timezone.now().astimezone(clinic.tz).date()
    history = history or course_history(course)
    spec = regimen_spec(course.regimen)
    if dose_number is not None and dose_number <= len(history.given):
        # An earlier dose (a reschedule): plan it from the doses before it.
        given = sorted(history.given, key=lambda dose: dose.date)[: dose_number - 1]
        return next_dose(
            spec,
            start_date=course.start_date,
            given=given,
            options=course.options,
            today=today,
            due_soon_days=clinic.due_soon_days,
        )
    count = 1 if dose_number is None else dose_number - len(history.given)
    plan = dose_plan(
        spec,
        start_date=course.start_date,
        given=history.given,
        options=course.options,
        today=today,
        count=count,
        due_soon_days=clinic.due_soon_days,
    )
    if len(plan) < count:
        return None
    return plan[-1]


def search_window(dose: PlannedDose, *, today: date, days: int = 14) -> tuple[date, date]:
    """The days to search by default: the dose's window from today, at least `days` long."""
    start = max(dose.earliest_date, today)
    end = max(dose.latest_date, start + timedelta(days=days - 1))
    return start, end


def find_slots_for_course(
    course,
    *,
    dose_number: int | None = None,
    start: date | None = None,
    end: date | None = None,
    chair_ids: Sequence[int] | None = None,
    exclude_appointment_ids: Iterable[int] = (),
    chair_time: ChairTime | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> SearchResult | None:
    """The free slots for a course's next dose (or dose `dose_number`) in its dosing window.

    Six queries at most: the course's appointments, the regimen's phases, then the search.
    None when the regimen has no further dose.
    """
    clinic = course.patient.clinic
    now = now or timezone.now()
    today = today or now.astimezone(clinic.tz).date()
    exclude = list(exclude_appointment_ids)
    history = course_history(course, exclude_appointment_id=exclude[0] if len(exclude) == 1 else None)
    dose = course_dose(course, dose_number=dose_number, today=today, history=history)
    if dose is None:
        return None
    default_start, default_end = search_window(dose, today=today)
    start = start or default_start
    end = end or max(default_end, start)
    result = find_slots(
        clinic=clinic,
        chair_time=chair_time or dose.chair_time,
        start=start,
        end=end,
        patient_id=course.patient_id,
        earliest_date=dose.earliest_date,
        latest_date=dose.latest_date,
        chair_ids=chair_ids,
        exclude_appointment_ids=exclude,
        prefer_from=max(dose.target_date, today),
        now=now,
    )
    result.dose = dose
    return result
