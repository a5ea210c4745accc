"""The day arithmetic of the availability search: plain values in, plain values out, no database.

Everything works in whole minutes since the epoch. One list per open day holds the number
of patients in chairs at each minute after opening, so the busiest moment of a visit is
the `max()` of a slice. Infusion starts are counted per 15-minute slot of the clock, at the
end of the premedication, when the infusion itself starts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import accumulate

START_SLOT_MINUTES = 15  # the nurse rule counts infusion starts per 15-minute slot of the clock
BALANCE_DAYS = 5  # the balanced choice looks at this many days with free slots
LOAD_BANDS = 4  # it tells nurses' loads apart in quarters of their capacity (1 patient each, at 4 per nurse)
FORECAST_BANDS = 10  # and forecast loads in tenths of the day's capacity


def minutes(moment: datetime) -> int:
    """Whole minutes since the epoch (floor)."""
    return math.floor(moment.timestamp() / 60)


def minutes_ceil(moment: datetime) -> int:
    return math.ceil(moment.timestamp() / 60)


def duration_text(total: int) -> str:
    """A duration as the front desk says it: 3 h 30, 45 min, 2 h."""
    hours, rest = divmod(total, 60)
    if not total:
        return "0 min"
    if not rest:
        return f"{hours} h"
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d}"


def clock(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%H:%M}"


@dataclass(frozen=True, slots=True)
class ClinicRules:
    """What the day arithmetic needs of a clinic: its clock, its grid and its nurse rules."""

    clinic_id: int
    tz: tzinfo
    slot_minutes: int
    patients_per_nurse: int
    starts_per_nurse: int

    @classmethod
    def of(cls, clinic) -> ClinicRules:
        return cls(clinic.pk, clinic.tz, clinic.slot_minutes, clinic.patients_per_nurse, clinic.starts_per_nurse)


@dataclass(frozen=True, slots=True)
class Booked:
    """An active appointment, in epoch minutes."""

    chair_id: int
    patient_id: int
    clinic_id: int
    start: int
    end: int
    infusion_start: int
    appointment_id: int


# Not frozen, though nothing changes a slot once built: a search builds thousands (every free
# chair at every start), and a frozen dataclass's __init__ costs about four times as much.
# Hashable all the same, as a frozen one is.
@dataclass(slots=True, unsafe_hash=True)
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


@dataclass
class Day:
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

    def at(self, offset: int) -> datetime:
        """The moment `offset` minutes after opening, in UTC."""
        return self.open_at + timedelta(minutes=offset)


def build_day(
    rules: ClinicRules,
    day: date,
    opens: time,
    closes: time,
    nurses: int,
    booked: Sequence[Booked],
    patient_id: int | None,
) -> Day:
    open_at = datetime.combine(day, opens, tzinfo=rules.tz).astimezone(UTC)
    close_at = datetime.combine(day, closes, tzinfo=rules.tz).astimezone(UTC)
    begin, finish = minutes(open_at), minutes(close_at)
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
        if row.clinic_id != rules.clinic_id:
            continue
        chair_busy[row.chair_id].append((row.start - begin, row.end - begin))
        first, last = max(row.start - begin, 0), min(row.end - begin, length)
        diff[first] += 1
        diff[last] -= 1
        starts[row.infusion_start // START_SLOT_MINUTES] += 1
    for intervals in chair_busy.values():
        intervals.sort()
    return Day(
        day=day,
        open_at=open_at,
        opens=begin,
        length=length,
        nurses=nurses,
        capacity=nurses * rules.patients_per_nurse,
        start_capacity=nurses * rules.starts_per_nurse,
        in_chairs=list(accumulate(diff))[:length],
        starts=starts,
        chair_busy=chair_busy,
        patient_busy=patient_busy,
    )


def bucket(booked: Sequence[Booked], tz: tzinfo) -> dict[date, list[Booked]]:
    """Appointments by each local day they touch (a visit past midnight counts on both days)."""
    days: dict[date, list[Booked]] = defaultdict(list)
    for row in booked:
        first = datetime.fromtimestamp(row.start * 60, tz).date()
        last = datetime.fromtimestamp((row.end - 1) * 60, tz).date()
        day = first
        while day <= last:
            days[day].append(row)
            day += timedelta(days=1)
    return days


def closure_on(closures: Sequence[tuple[date, date, str]], day: date) -> str | None:
    """The reason the clinic is closed on `day`, or None."""
    for first, last, reason in closures:
        if first <= day <= last:
            return reason
    return None


def overlap(intervals: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The first (start, end) interval that overlaps [start, end), or None."""
    return next(((first, last) for first, last in intervals if first < end and last > start), None)


def search_day(
    rules: ClinicRules,
    info: Day,
    *,
    chairs: Sequence[tuple[int, str]],
    duration: int,
    premed: int,
    now_minute: int,
    late: bool,
) -> tuple[list[Slot], str, str]:
    """Every free (chair, start) of one open day, with the day's code and, when empty, why."""
    if duration > info.length:
        return (
            [],
            "too_short",
            f"Open for {duration_text(info.length)} that day, shorter than the {duration_text(duration)} visit.",
        )
    grid = rules.slot_minutes
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
        elif overlap(info.patient_busy, offset, offset + duration):
            patient_busy += 1
            ok.append(False)
        else:
            ok.append(True)
    count = len(ok)
    per_start: list[list[tuple[int, str]]] = [[] for _ in range(count)]
    if any(ok):
        for chair_id, chair_name in chairs:
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
    for index, free_chairs in enumerate(per_start):
        if not free_chairs:
            continue
        starts_at = info.at(index * grid)
        ends_at = starts_at + timedelta(minutes=duration)
        local_start = starts_at.astimezone(rules.tz)
        for chair_id, chair_name in free_chairs:
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
    return [], "full", f"Full: no chair is free for a whole {duration_text(duration)} visit."


def balanced(
    slots: Sequence[Slot],
    prefer_from: date | None,
    forecast: Mapping[date, float] | None = None,
    *,
    latest: date | None = None,
) -> Slot | None:
    """The slot that levels the nurses' load best, among the first few days with free slots.

    A slot inside the dose's window before one after it (a late slot is the last resort, as
    the earliest slot is); then the lowest nurses' load at the visit's busiest moment, in
    quarters of their capacity (`LOAD_BANDS`); then the lowest forecast load of the day
    (`forecast`: {day: share of its capacity the capacity forecast expects, booked visits and
    doses due not yet booked}, in tenths; days it does not name count as empty); then the
    earliest day, so a dose stays as near its target date as the load allows and its
    schedule does not drift later dose after dose; then the lowest average load, then the
    earliest start. Looks from `prefer_from` (the dose's target date) when there are free
    slots from then on, and, with `latest` (the window's last day), no further than half way
    from there to it: the later half of the window stays free for booking again after a
    cancellation or a missed visit.
    """
    if not slots:
        return None
    pool = slots
    if prefer_from is not None:
        later = [slot for slot in slots if slot.local_day >= prefer_from]
        pool = later or slots
        if latest is not None and latest > prefer_from:
            halfway = prefer_from + timedelta(days=(latest - prefer_from).days // 2)
            pool = [slot for slot in pool if slot.local_day <= halfway] or pool
    days: list[date] = []
    candidates = []
    for slot in pool:
        if slot.local_day not in days:
            if len(days) == BALANCE_DAYS:
                break
            days.append(slot.local_day)
        candidates.append(slot)
    shares = forecast or {}
    return min(
        candidates,
        key=lambda slot: (
            slot.late,
            math.ceil(LOAD_BANDS * slot.peak / slot.capacity),
            math.ceil(FORECAST_BANDS * round(shares.get(slot.local_day, 0.0), 6)),
            slot.local_day,
            slot.load / slot.capacity,
            slot.starts_at,
        ),
    )
