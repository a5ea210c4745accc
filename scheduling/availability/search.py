"""The availability search: every free (chair, start) in which a dose's whole chair time fits.

A slot fits when the whole visit lies inside the clinic's opening hours on an open day,
the chair and the patient are free for all of it, and the nurse rules hold at every
moment: never more patients in chairs than `nurses x patients_per_nurse`, never more
infusion starts in one 15-minute slot than `nurses x starts_per_nurse` (the infusion
starts after the premedication).

`loading.py` reads what the search needs in a fixed number of queries, whatever the number
of appointments; `day.py` does the arithmetic on plain values. The booking services call
`slot_problem()` under their lock, which runs the same rules for one (chair, start) and
explains in a sentence why it does not fit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from clinic import dates
from clinic.dosing import ChairTime, PlannedDose
from clinic.models import Chair, Clinic
from scheduling.availability.day import (
    START_SLOT_MINUTES,
    Slot,
    balanced,
    bucket,
    build_day,
    clock,
    closure_on,
    duration_text,
    minutes,
    minutes_ceil,
    overlap,
    search_day,
)
from scheduling.availability.loading import load_clinic_data
from scheduling.doses import course_doses, planned_dose


@dataclass(frozen=True, slots=True)
class DayAvailability:
    day: date
    slots: int
    code: str  # open, closed, closure, outside_window, past, full, patient_busy, no_nurses, too_short,
    # no_chair_time, series_does_not_fit
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
    forecast: dict[date, float] = field(default_factory=dict)  # the days' forecast load, for `balanced`

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


# --- The search ----------------------------------------------------------------------------


NO_CHAIR_TIME = (
    "This dose has no chair time in its regimen, so it cannot be booked. "
    "Ask your formulary manager to give the regimen's infusion minutes."
)


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
    forecast: Callable[[date, date], dict[date, float]] | None = None,
) -> SearchResult:
    """Every free (chair, start) between the local days `start` and `end` (inclusive).

    Days before `earliest_date` are outside the dosing window and not searched; days after
    `latest_date` are searched and their slots marked late. Four queries, whatever the
    number of appointments. `forecast(start, end)`, read once, gives each day's forecast
    load, which the balanced choice weighs (the booking pages pass the capacity forecast's).
    """
    if chair_time.total_minutes <= 0:
        # Refused where a regimen is saved (and by a database check); a row from before that
        # still gets a sentence instead of a crash.
        days = []
        day = start
        while day <= end:
            days.append(DayAvailability(day, 0, "no_chair_time", NO_CHAIR_TIME))
            day += timedelta(days=1)
        return SearchResult(
            clinic=clinic,
            chair_time=chair_time,
            start=start,
            end=end,
            slots=[],
            days=days,
            balanced=None,
            earliest_date=earliest_date,
            latest_date=latest_date,
        )
    data = load_clinic_data(
        clinic=clinic,
        start=start,
        end=end,
        patient_id=patient_id,
        chair_ids=chair_ids,
        exclude_appointment_ids=exclude_appointment_ids,
    )
    shares = forecast(start, end) if forecast is not None else {}
    rules = data.rules
    now_minute = minutes_ceil(now or timezone.now())
    by_day = bucket(data.booked, rules.tz)
    slots: list[Slot] = []
    days: list[DayAvailability] = []
    day = start
    while day <= end:
        late = latest_date is not None and day > latest_date
        closure = closure_on(data.closures, day)
        hours = data.hours.get(day.weekday())
        if earliest_date is not None and day < earliest_date:
            reason = f"Outside the dosing window: this dose may not be given before {dates.day(earliest_date)}."
            days.append(DayAvailability(day, 0, "outside_window", reason))
        elif closure:
            days.append(DayAvailability(day, 0, "closure", f"Closed: {closure}.", late))
        elif hours is None:
            days.append(DayAvailability(day, 0, "closed", f"Closed on {day:%A}s.", late))
        elif hours[2] <= 0:
            days.append(DayAvailability(day, 0, "no_nurses", "No nurses are on duty that day.", late))
        else:
            opens, closes, nurses = hours
            found, code, reason = search_day(
                rules,
                build_day(rules, day, opens, closes, nurses, by_day.get(day, []), patient_id),
                chairs=data.chairs,
                duration=chair_time.total_minutes,
                premed=chair_time.premed_minutes,
                now_minute=now_minute,
                late=late,
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
        balanced=balanced(slots, prefer_from, shares, latest=latest_date),
        earliest_date=earliest_date,
        latest_date=latest_date,
        forecast=shares,
    )


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
    when = f"{dates.day(day)} at {local:%H:%M}"
    if duration <= 0:
        return NO_CHAIR_TIME
    if chair.clinic_id != clinic.pk or not chair.active:
        return f"{chair.name} is not a bookable chair at {clinic.name}. Choose one of the clinic's chairs."
    if starts_at < (now or timezone.now()):
        return f"{when} has already passed. Choose a later time."
    data = load_clinic_data(
        clinic=clinic,
        start=day,
        end=day,
        patient_id=patient_id,
        chair_ids=None,
        exclude_appointment_ids=exclude_appointment_ids,
    )
    closure = closure_on(data.closures, day)
    if closure:
        return f"The clinic is closed on {dates.day(day)} ({closure}). Choose another day."
    hours = data.hours.get(day.weekday())
    if hours is None:
        return f"The clinic is closed on {day:%A}s. Choose another day."
    opens, closes, nurses = hours
    if nurses <= 0:
        return f"No nurses are on duty on {dates.day(day)}. Choose another day."
    info = build_day(data.rules, day, opens, closes, nurses, bucket(data.booked, tz).get(day, []), patient_id)
    offset = minutes(starts_at) - info.opens
    if offset < 0:
        return f"The clinic opens at {opens:%H:%M} on {dates.day(day)}. Choose a later start."
    if offset + duration > info.length:
        return (
            f"The {duration_text(duration)} visit would end at {clock(ends_at, tz)}, after the clinic closes at "
            f"{closes:%H:%M}. Choose an earlier start or another day."
        )
    if offset % clinic.slot_minutes:
        return f"Appointments start on the clinic's {clinic.slot_minutes}-minute grid. Choose a time on the grid."
    taken = overlap(info.chair_busy.get(chair.pk, []), offset, offset + duration)
    if taken:
        return (
            f"{chair.name} is already booked from {clock(info.at(taken[0]), tz)} to {clock(info.at(taken[1]), tz)} "
            f"on {dates.day(day)}. Choose another chair or time."
        )
    busy = overlap(info.patient_busy, offset, offset + duration)
    if busy:
        return (
            f"The patient already has an appointment at {clock(info.at(busy[0]), tz)} on {dates.day(day)}. "
            "Choose another time."
        )
    window = info.in_chairs[offset : offset + duration]
    peak = max(window)
    if peak + 1 > info.capacity:
        moment = info.at(offset + window.index(peak))
        return (
            f"At {clock(moment, tz)} the {nurses} nurses on duty already look after {peak} patients, "
            f"their limit of {info.capacity}. Choose another time."
        )
    slot_index = (info.opens + offset + chair_time.premed_minutes) // START_SLOT_MINUTES
    if info.starts.get(slot_index, 0) + 1 > info.start_capacity:
        begin = datetime.fromtimestamp(slot_index * START_SLOT_MINUTES * 60, UTC)
        return (
            f"{info.starts.get(slot_index, 0)} infusions already start between {clock(begin, tz)} and "
            f"{clock(begin + timedelta(minutes=START_SLOT_MINUTES), tz)}, the most the nurses on duty can "
            "start at once. Choose a start 15 minutes earlier or later."
        )
    return None


# --- A course's dose ------------------------------------------------------------------------


def search_window(dose: PlannedDose, *, today: date, days: int = 14) -> tuple[date, date]:
    """The days to search by default: the dose's window from today, at least `days` long."""
    start = max(dose.earliest_date, today)
    end = max(dose.latest_date, start + timedelta(days=days - 1))
    return start, end


def find_slots_for_course(
    course,
    *,
    dose_number: int | None = None,
    dose: PlannedDose | None = None,
    start: date | None = None,
    end: date | None = None,
    chair_ids: Sequence[int] | None = None,
    exclude_appointment_ids: Iterable[int] = (),
    chair_time: ChairTime | None = None,
    today: date | None = None,
    now: datetime | None = None,
    forecast: Callable[[date, date], dict[date, float]] | None = None,
) -> SearchResult | None:
    """The free slots for a course's next dose (or dose `dose_number`) in its dosing window.

    The dose comes from `scheduling.doses` (the next one neither given nor booked), unless
    the caller already planned it and passes it as `dose`. With one appointment in
    `exclude_appointment_ids` (a reschedule), that visit is left out of the course's doses
    too. None when the regimen has no further dose.
    """
    clinic = course.patient.clinic
    now = now or timezone.now()
    today = today or now.astimezone(clinic.tz).date()
    exclude = list(exclude_appointment_ids)
    if dose is None:
        moved = exclude[0] if len(exclude) == 1 else None
        if dose_number is None:
            dose = course_doses(course, today=today, exclude_appointment_id=moved).next
        else:
            dose = planned_dose(course, dose_number, today=today, exclude_appointment_id=moved)
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
        forecast=forecast,
    )
    result.dose = dose
    return result


# --- A series start -------------------------------------------------------------------------


def series_starts(
    result: SearchResult,
    doses: Sequence[PlannedDose],
    *,
    patient_id: int | None,
    now: datetime | None = None,
) -> SearchResult:
    """The search for a series' first dose, narrowed to the days from which the whole series fits.

    A start on day D puts each later dose on D plus its planned distance from the first
    (14 days for an initiation, the next days for a Lemtrada course), as `series_plan` does;
    the start is kept only when every one of those days has a free slot for its dose. A day
    left out says which dose has no place, and why. One search per later dose, over the same
    days moved by its distance.
    """
    if len(doses) < 2 or not result.slots:
        return result
    first = doses[0]
    missing: dict[date, str] = {}
    for dose in doses[1:]:
        offset = dose.target_date - first.target_date
        later = find_slots(
            clinic=result.clinic,
            chair_time=dose.chair_time,
            start=result.start + offset,
            end=result.end + offset,
            patient_id=patient_id,
            now=now,
        )
        for day in later.days:
            start_day = day.day - offset
            if day.slots == 0 and start_day not in missing:
                missing[start_day] = (
                    f"A series started this day has no place for dose {dose.dose_number} on {day.day:%a} "
                    f"{dates.day(day.day)}: {day.reason}"
                )
    if not missing:
        return result
    slots = [slot for slot in result.slots if slot.local_day not in missing]
    days = [
        DayAvailability(day.day, 0, "series_does_not_fit", missing[day.day], day.late)
        if day.slots and day.day in missing
        else day
        for day in result.days
    ]
    chosen = balanced(slots, first.target_date, result.forecast, latest=result.latest_date)
    return replace(result, slots=slots, days=days, balanced=chosen)
