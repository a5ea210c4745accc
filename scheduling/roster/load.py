"""The nurses' load over the day, 15 minutes at a time, and where the day breaks the nurse rules.

Pure: it counts the roster's visits (anything with `status`, `starts_at`, `ends_at` and
`infusion_starts_at`) in the chairs each nurse holds (rows with `chair`, `nurse` and
`visits`). No queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from clinic.models import Chair, Clinic
from scheduling.models import Appointment

SLOT = timedelta(minutes=15)


@dataclass
class NurseLoad:
    nurse: object
    chairs: list[Chair]
    slots: list[int]  # patients in the nurse's chairs in each 15-minute slot
    starts: list[int]  # infusion starts in the nurse's chairs in each 15-minute slot
    peak: int
    over_patients: bool
    over_starts: bool
    cells: list[tuple[str, bool]] = field(default_factory=list)  # ("2 (1)": patients (infusion starts), over a rule)


def clock(moment: datetime, tz) -> str:
    """The local wall-clock time, "HH:MM"."""
    return moment.astimezone(tz).strftime("%H:%M")


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _loaded(visits: Iterable) -> list:
    """The visits that hold a nurse's attention for their chair time: every one holding a chair."""
    return [visit for visit in visits if visit.status in Appointment.ACTIVE_STATUSES]


def _count_in_slots(visits: Sequence, slot_starts: Sequence[datetime]) -> tuple[list[int], list[int]]:
    """Patients in chairs during each slot, and infusion starts inside each slot."""
    in_chairs = []
    starts = []
    for slot in slot_starts:
        slot_end = slot + SLOT
        in_chairs.append(sum(1 for visit in visits if visit.starts_at < slot_end and visit.ends_at > slot))
        starts.append(sum(1 for visit in visits if slot <= visit.infusion_starts_at < slot_end))
    return in_chairs, starts


def nurse_loads(clinic: Clinic, chairs: Iterable, slot_starts: Sequence[datetime]) -> list[NurseLoad]:
    """Each assigned nurse's patients and infusion starts per slot, by name."""
    by_nurse: dict[int, tuple[object, list[Chair], list]] = {}
    for row in chairs:
        if row.nurse is None:
            continue
        entry = by_nurse.setdefault(row.nurse.pk, (row.nurse, [], []))
        entry[1].append(row.chair)
        entry[2].extend(_loaded(row.visits))
    loads = []
    for nurse, nurse_chairs, visits in by_nurse.values():
        in_chairs, starts = _count_in_slots(visits, slot_starts)
        loads.append(
            NurseLoad(
                nurse=nurse,
                chairs=nurse_chairs,
                slots=in_chairs,
                starts=starts,
                peak=max(in_chairs, default=0),
                over_patients=any(count > clinic.patients_per_nurse for count in in_chairs),
                over_starts=any(count > clinic.starts_per_nurse for count in starts),
                cells=[
                    (
                        f"{count or ''}{f' ({started})' if started else ''}",
                        count > clinic.patients_per_nurse or started > clinic.starts_per_nurse,
                    )
                    for count, started in zip(in_chairs, starts, strict=True)
                ],
            )
        )
    loads.sort(key=lambda load: _name(load.nurse).lower())
    return loads


def load_warnings(
    clinic: Clinic,
    chairs: Sequence,
    loads: Sequence[NurseLoad],
    slot_starts: Sequence[datetime],
    nurses_on_duty: int,
    visits: Sequence,
) -> list[str]:
    """Sentences for each place the day breaks the clinic's nurse rules."""
    tz = clinic.tz
    warnings: list[str] = []
    loaded = _loaded(visits)
    if loaded and not nurses_on_duty:
        warnings.append("No nurses are on duty on this weekday in the staffing plan. Add them in the clinic settings.")
    assigned = {load.nurse.pk for load in loads}
    if nurses_on_duty and len(assigned) > nurses_on_duty:
        warnings.append(
            f"{len(assigned)} nurses are assigned but the staffing plan has {nurses_on_duty} on duty. "
            "Check the staffing or the assignments."
        )
    unassigned = [row.chair.name for row in chairs if row.nurse is None and _loaded(row.visits)]
    if unassigned:
        warnings.append(f"No nurse is assigned to {', '.join(unassigned)}, which have patients today.")
    for load in loads:
        if load.over_patients:
            times = [
                clock(slot, tz)
                for slot, count in zip(slot_starts, load.slots, strict=True)
                if count > clinic.patients_per_nurse
            ]
            warnings.append(
                f"{_name(load.nurse)} has more than {clinic.patients_per_nurse} patients at once "
                f"from {times[0]} ({load.peak} at the busiest). Move a chair to another nurse."
            )
        if load.over_starts:
            times = [
                clock(slot, tz)
                for slot, count in zip(slot_starts, load.starts, strict=True)
                if count > clinic.starts_per_nurse
            ]
            warnings.append(
                f"{_name(load.nurse)} has more than {clinic.starts_per_nurse} infusion start"
                f"{'s' if clinic.starts_per_nurse != 1 else ''} in 15 minutes at {', '.join(times)}."
            )
    if nurses_on_duty and slot_starts:
        in_chairs, starts = _count_in_slots(loaded, slot_starts)
        limit = nurses_on_duty * clinic.patients_per_nurse
        busy = [clock(slot, tz) for slot, count in zip(slot_starts, in_chairs, strict=True) if count > limit]
        if busy:
            warnings.append(
                f"More than {limit} patients in chairs at once from {busy[0]} for the {nurses_on_duty} nurses on duty."
            )
        limit = nurses_on_duty * clinic.starts_per_nurse
        crowded = [clock(slot, tz) for slot, count in zip(slot_starts, starts, strict=True) if count > limit]
        if crowded:
            warnings.append(
                f"More than {limit} infusion starts in 15 minutes at {', '.join(crowded)} "
                f"for the {nurses_on_duty} nurses on duty."
            )
    return warnings
