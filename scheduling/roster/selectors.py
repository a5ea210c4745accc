"""The nurses' roster: one clinic day as chairs by hours, visits, flags and nurse load.

A selector: it only reads. `roster_for_day` makes a fixed number of queries however many
visits the day holds (the clinic's hours and staffing, chairs, nurse assignments, the day's
appointments with their patient, course and regimen, the regimens' phases and monitoring
rules, and the patients' dose history); everything after that is computed in Python, with
the dosing rules of `clinic.dosing` answering the dose label and the monitoring due.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Prefetch, Q, Subquery, prefetch_related_objects
from django.utils import timezone

from clinic import dosing
from clinic.models import Chair, Clinic, Closure, MonitoringRule, NurseStaffing, OpeningHours, Regimen, RegimenPhase
from clinic.roles import NURSE
from scheduling.models import Appointment, NurseAssignment

LATE_AFTER = timedelta(minutes=15)
SLOT = timedelta(minutes=15)
LABS_HORIZON_DAYS = 7

STATUS_LABELS = dict(Appointment.Status.choices)

# What a roster shows: everything that holds a chair, and the no-shows so the day reads true.
ROSTER_STATUSES = (*Appointment.ACTIVE_STATUSES, Appointment.Status.NO_SHOW)
IN_PROGRESS = (
    Appointment.Status.ARRIVED,
    Appointment.Status.IN_CHAIR,
    Appointment.Status.INFUSING,
    Appointment.Status.OBSERVATION,
)
# Visits that hold a nurse's attention for their chair time.
LOADED = (Appointment.Status.BOOKED, *IN_PROGRESS, Appointment.Status.COMPLETED)


@dataclass(frozen=True)
class Flag:
    code: str  # first_infusion, observation, prior_reaction, authorization, authorization_expired, labs, pregnancy
    label: str  # shown on the badge
    short: str  # printed on the timeline bar
    level: str  # info, warning, danger
    detail: str = ""


@dataclass
class Segment:
    kind: str  # premed, infusion, observation
    label: str
    minutes: int
    percent: float

    @property
    def style(self) -> str:
        return f"width:{self.percent}%"


@dataclass
class RosterVisit:
    appointment: Appointment
    patient_name: str
    mrn: str
    drug: str
    dose_label: str
    dose_number: int
    phase: str
    chair_name: str
    starts: str  # local "HH:MM" strings: computed once here so the template only prints
    premed_time: str
    infusion_start: str
    infusion_end: str
    observation_end: str
    ends: str
    starts_at: datetime
    ends_at: datetime
    infusion_starts_at: datetime
    flags: list[Flag]
    late: bool
    overrun: bool
    left: float = 0.0  # position on the timeline, percent of the opening hours
    width: float = 0.0
    segments: list[Segment] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.appointment.status

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.appointment.status]

    @property
    def bar_style(self) -> str:
        # A string, so the template prints it as is rather than localizing two floats.
        return f"left:{self.left}%;width:{self.width}%"

    @property
    def pk(self) -> int:
        return self.appointment.pk


@dataclass
class RosterChair:
    chair: Chair
    nurse: object | None
    visits: list[RosterVisit]


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


@dataclass
class Tick:
    label: str
    left: float

    @property
    def style(self) -> str:
        return f"left:{self.left}%"


@dataclass
class Roster:
    clinic: Clinic
    day: date
    now: datetime
    is_today: bool
    opens_at: datetime | None
    closes_at: datetime | None
    closed_reason: str
    nurses_on_duty: int
    ticks: list[Tick]
    slot_labels: list[str]
    chairs: list[RosterChair]
    visits: list[RosterVisit]
    nurse_loads: list[NurseLoad]
    warnings: list[str]
    nurse_choices: list = field(default_factory=list)
    now_left: float | None = None  # where "now" falls on the timeline, percent; None outside the hours

    @property
    def updated(self) -> str:
        return _local(self.now, self.clinic.tz)

    @property
    def now_style(self) -> str:
        return f"--now-left:{self.now_left}"

    @property
    def is_open(self) -> bool:
        return self.opens_at is not None and not self.closed_reason

    @property
    def late_count(self) -> int:
        return sum(1 for visit in self.visits if visit.late)

    @property
    def overrun_count(self) -> int:
        return sum(1 for visit in self.visits if visit.overrun)

    def count(self, status: str) -> int:
        return sum(1 for visit in self.visits if visit.status == status)

    @property
    def counts(self) -> dict[str, int]:
        result = dict.fromkeys(Appointment.Status.values, 0)
        for visit in self.visits:
            result[visit.status] += 1
        return result


def clinic_today(clinic: Clinic, now: datetime | None = None) -> date:
    """Today's date in the clinic's own time zone."""
    return (now or timezone.now()).astimezone(clinic.tz).date()


def _local(moment: datetime, tz) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def _day_settings(clinic: Clinic, day: date) -> dict:
    """Opening hours, nurses on duty and any closure of one day, in one query."""
    weekday = day.weekday()
    hours = OpeningHours.objects.filter(clinic=OuterRef("pk"), weekday=weekday)
    staffing = NurseStaffing.objects.filter(clinic=OuterRef("pk"), weekday=weekday)
    closure = Closure.objects.filter(clinic=OuterRef("pk"), starts_on__lte=day, ends_on__gte=day)
    return (
        Clinic.objects.filter(pk=clinic.pk)
        .annotate(
            day_opens=Subquery(hours.values("opens")[:1]),
            day_closes=Subquery(hours.values("closes")[:1]),
            day_nurses=Subquery(staffing.values("nurses")[:1]),
            day_closure=Subquery(closure.values("reason")[:1]),
        )
        .values("day_opens", "day_closes", "day_nurses", "day_closure")
        .get()
    )


def _phase_for_dose(spec: dosing.RegimenSpec, dose_number: int) -> dosing.PhaseSpec | None:
    """The regimen phase the Nth dose of a course belongs to, walking the phases' blocks."""
    remaining = dose_number
    for phase in spec.phases:
        if phase.repeats or remaining <= phase.doses:
            return phase
        remaining -= phase.doses
    return spec.phases[-1] if spec.phases else None


def _dose_facts(spec, course, appointment, history, local_day):
    """(dose label, phase name, observation required) for the appointment's dose.

    The dosing rules plan the dose that follows the doses given before this one; when the
    course's history does not line up with the booked dose number (a dose given elsewhere),
    the label falls back to the phase the dose number belongs to.
    """
    given = [dose for _number, dose in history]
    planned = dosing.next_dose(spec, start_date=course.start_date, given=given, options=course.options, today=local_day)
    if planned is not None and planned.dose_number == appointment.dose_number:
        return planned.dose_label, planned.phase, planned.observation_required
    phase = _phase_for_dose(spec, appointment.dose_number)
    if phase is None:
        return "", "", False
    return phase.dose_label, phase.name, False


def _flags(*, appointment, course, regimen, spec, history, reactions, day, observation_required) -> list[Flag]:
    flags: list[Flag] = []
    if appointment.dose_number == 1:
        flags.append(Flag("first_infusion", "First infusion", "1st", "info"))
    if appointment.observation_minutes or observation_required:
        minutes = appointment.observation_minutes
        flags.append(
            Flag(
                "observation",
                f"Observe {minutes} min" if minutes else "Observation required",
                "Obs",
                "info",
            )
        )
    earlier_reactions = [serious for starts_at, serious in reactions if starts_at < appointment.starts_at]
    if earlier_reactions:
        serious = any(earlier_reactions)
        flags.append(
            Flag(
                "prior_reaction",
                "Serious infusion reaction before" if serious else "Infusion reaction before",
                "Rx!",
                "danger" if serious else "warning",
            )
        )
    if regimen.requires_authorization:
        programme = regimen.programme or "Programme"
        expires = course.authorization_expires_on
        if expires is None:
            flags.append(
                Flag(
                    "authorization_expired",
                    f"{programme}: no authorization on file",
                    "Auth!",
                    "danger",
                    "Record the authorization and its expiry on the course before infusing.",
                )
            )
        elif expires < day:
            flags.append(
                Flag(
                    "authorization_expired",
                    f"{programme}: authorization expired {expires:%d %b %Y}",
                    "Auth!",
                    "danger",
                    "Do not infuse until the authorization is renewed.",
                )
            )
        else:
            flags.append(
                Flag(
                    "authorization",
                    f"{programme}: check authorization (valid to {expires:%d %b %Y})",
                    "Auth",
                    "warning",
                )
            )
    if any(rule.kind == MonitoringRule.Kind.LABS for rule in spec.monitoring):
        given = [dose for _number, dose in history]
        due = [
            item
            for item in dosing.monitoring_due(spec, given=given, today=day, horizon_days=LABS_HORIZON_DAYS)
            if item.kind == MonitoringRule.Kind.LABS
        ]
        if due:
            names = "; ".join(f"{item.name} (due {item.due_date:%d %b})" for item in due)
            flags.append(Flag("labs", "Labs due", "Labs", "warning", names))
    if regimen.pregnancy_check:
        flags.append(Flag("pregnancy", "Pregnancy check", "Preg", "warning"))
    return flags


def _nurse_choices(clinic: Clinic) -> list:
    User = get_user_model()
    return list(
        User.objects.filter(is_active=True, groups__name=NURSE, staff_profile__clinics=clinic)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def roster_for_day(
    *, clinic: Clinic, day: date, now: datetime | None = None, with_nurse_choices: bool = False
) -> Roster:
    """The roster of one clinic day, in a fixed number of queries (eight, nine with the nurse choices)."""
    now = now or timezone.now()
    tz = clinic.tz
    settings = _day_settings(clinic, day)
    opens_at = closes_at = None
    if settings["day_opens"] is not None:
        # In UTC: two datetimes in the same zone subtract by wall clock, wrong on a DST day.
        opens_at = datetime.combine(day, settings["day_opens"], tzinfo=tz).astimezone(UTC)
        closes_at = datetime.combine(day, settings["day_closes"], tzinfo=tz).astimezone(UTC)
    nurses_on_duty = settings["day_nurses"] or 0

    # All the clinic's chairs: one taken out of service still shows when it holds a visit.
    all_chairs = {chair.pk: chair for chair in Chair.objects.filter(clinic=clinic).order_by("position", "name")}
    assignments = {
        assignment.chair_id: assignment.nurse
        for assignment in NurseAssignment.objects.filter(clinic=clinic, day=day).select_related("nurse")
    }
    appointments = list(
        Appointment.objects.for_clinic_day(clinic, day)
        .filter(status__in=ROSTER_STATUSES)
        .select_related("patient", "course")
        .order_by("starts_at", "pk")
    )
    # Regimens, drugs, phases and monitoring rules once each, not once per visit.
    regimens = Regimen.objects.select_related("drug").in_bulk(
        {appointment.course.regimen_id for appointment in appointments}
    )
    prefetch_related_objects(
        list(regimens.values()),
        Prefetch("phases", queryset=RegimenPhase.objects.order_by("position")),
        Prefetch("monitoring", queryset=MonitoringRule.objects.all()),
    )
    specs = {pk: regimen.spec() for pk, regimen in regimens.items()}

    # Dose history of the day's patients: doses given (for the dosing rules) and reactions.
    history: dict[int, list[tuple[int, dosing.GivenDose]]] = defaultdict(list)
    reactions: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
    patient_ids = {appointment.patient_id for appointment in appointments}
    if patient_ids:
        earlier = Appointment.objects.filter(patient_id__in=patient_ids).filter(
            Q(status=Appointment.Status.COMPLETED) | Q(infusion_reaction=True)
        )
        for course_id, patient_id, number, starts_at, status, reaction, serious in earlier.values_list(
            "course_id",
            "patient_id",
            "dose_number",
            "starts_at",
            "status",
            "infusion_reaction",
            "serious_reaction",
        ).order_by("starts_at"):
            if status == Appointment.Status.COMPLETED:
                given = dosing.GivenDose(date=starts_at.astimezone(tz).date(), serious_reaction=serious)
                history[course_id].append((number, given))
            if reaction:
                reactions[patient_id].append((starts_at, serious))

    span = (closes_at - opens_at).total_seconds() if opens_at and closes_at else 0
    visits: list[RosterVisit] = []
    for appointment in appointments:
        appointment.clinic = clinic  # the same row: saves a query per visit where the status buttons read it
        course = appointment.course
        regimen = course.regimen = regimens[course.regimen_id]
        chair = appointment.chair = all_chairs[appointment.chair_id]
        spec = specs[regimen.pk]
        before = [entry for entry in history[course.pk] if entry[0] < appointment.dose_number]
        label, phase, observation_required = _dose_facts(spec, course, appointment, before, day)
        infusion_starts_at = appointment.starts_at + timedelta(minutes=appointment.premed_minutes)
        infusion_ends_at = infusion_starts_at + timedelta(minutes=appointment.infusion_minutes)
        status = appointment.status
        visit = RosterVisit(
            appointment=appointment,
            patient_name=appointment.patient.full_name,
            mrn=appointment.patient.mrn,
            drug=regimen.drug.brand_name,
            dose_label=label,
            dose_number=appointment.dose_number,
            phase=phase,
            chair_name=chair.name,
            starts=_local(appointment.starts_at, tz),
            premed_time=_local(appointment.starts_at, tz) if appointment.premed_minutes else "",
            infusion_start=_local(infusion_starts_at, tz),
            infusion_end=_local(infusion_ends_at, tz),
            observation_end=_local(appointment.ends_at, tz) if appointment.observation_minutes else "",
            ends=_local(appointment.ends_at, tz),
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            infusion_starts_at=infusion_starts_at,
            flags=_flags(
                appointment=appointment,
                course=course,
                regimen=regimen,
                spec=spec,
                history=before,
                reactions=reactions[appointment.patient_id],
                day=day,
                observation_required=observation_required,
            ),
            late=status == Appointment.Status.BOOKED and now > appointment.starts_at + LATE_AFTER,
            overrun=status in IN_PROGRESS and now > appointment.ends_at,
        )
        if span:
            offset = (appointment.starts_at - opens_at).total_seconds()
            length = (appointment.ends_at - appointment.starts_at).total_seconds()
            visit.left = round(max(0.0, offset) / span * 100, 3)
            visit.width = round(max(0.0, min(offset + length, span) - max(0.0, offset)) / span * 100, 3)
        total = appointment.premed_minutes + appointment.infusion_minutes + appointment.observation_minutes
        for kind, label, minutes in (
            ("premed", "Premedication", appointment.premed_minutes),
            ("infusion", "Infusion", appointment.infusion_minutes),
            ("observation", "Observation", appointment.observation_minutes),
        ):
            if minutes:
                visit.segments.append(Segment(kind, label, minutes, round(minutes / total * 100, 3)))
        visits.append(visit)

    visits.sort(key=lambda visit: (visit.starts_at, visit.appointment.chair.position, visit.chair_name, visit.pk))
    by_chair: dict[int, list[RosterVisit]] = defaultdict(list)
    for visit in visits:
        by_chair[visit.appointment.chair_id].append(visit)
    chairs = [chair for chair in all_chairs.values() if chair.active or chair.pk in by_chair]
    roster_chairs = [RosterChair(chair, assignments.get(chair.pk), by_chair.get(chair.pk, [])) for chair in chairs]

    ticks: list[Tick] = []
    slot_starts: list[datetime] = []
    if span:
        local_open = opens_at.astimezone(tz)
        first = local_open.replace(minute=0, second=0, microsecond=0)
        if first < local_open:
            first += timedelta(hours=1)
        # Step in real (UTC) hours so a daylight-saving change shows as a skipped or repeated hour.
        tick = first.astimezone(UTC)
        while tick <= closes_at:
            ticks.append(Tick(_local(tick, tz), round((tick - opens_at).total_seconds() / span * 100, 3)))
            tick += timedelta(hours=1)
        slot = opens_at.astimezone(UTC)
        while slot < closes_at:
            slot_starts.append(slot)
            slot += SLOT

    now_left = None
    if span and opens_at <= now <= closes_at:
        now_left = round((now - opens_at).total_seconds() / span * 100, 3)
    loads = _nurse_loads(clinic, roster_chairs, slot_starts)
    warnings = _warnings(clinic, roster_chairs, loads, slot_starts, nurses_on_duty, visits, tz)
    return Roster(
        clinic=clinic,
        day=day,
        now=now,
        is_today=clinic_today(clinic, now) == day,
        opens_at=opens_at,
        closes_at=closes_at,
        closed_reason=settings["day_closure"] or "",
        nurses_on_duty=nurses_on_duty,
        ticks=ticks,
        slot_labels=[_local(slot, tz) for slot in slot_starts],
        chairs=roster_chairs,
        visits=visits,
        nurse_loads=loads,
        warnings=warnings,
        nurse_choices=_nurse_choices(clinic) if with_nurse_choices else [],
        now_left=now_left,
    )


def _loaded(visits: Iterable[RosterVisit]) -> list[RosterVisit]:
    return [visit for visit in visits if visit.status in LOADED]


def _count_in_slots(visits: list[RosterVisit], slot_starts: list[datetime]) -> tuple[list[int], list[int]]:
    """Patients in chairs during each slot, and infusion starts inside each slot."""
    in_chairs = []
    starts = []
    for slot in slot_starts:
        slot_end = slot + SLOT
        in_chairs.append(sum(1 for visit in visits if visit.starts_at < slot_end and visit.ends_at > slot))
        starts.append(sum(1 for visit in visits if slot <= visit.infusion_starts_at < slot_end))
    return in_chairs, starts


def _nurse_loads(clinic: Clinic, chairs: list[RosterChair], slot_starts: list[datetime]) -> list[NurseLoad]:
    by_nurse: dict[int, tuple[object, list[Chair], list[RosterVisit]]] = {}
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
    loads.sort(key=lambda load: (load.nurse.get_full_name() or load.nurse.get_username()).lower())
    return loads


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _warnings(clinic, chairs, loads, slot_starts, nurses_on_duty, visits, tz) -> list[str]:
    """Sentences for each place the day breaks the clinic's nurse rules."""
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
                _local(slot, tz)
                for slot, count in zip(slot_starts, load.slots, strict=True)
                if count > clinic.patients_per_nurse
            ]
            warnings.append(
                f"{_name(load.nurse)} has more than {clinic.patients_per_nurse} patients at once "
                f"from {times[0]} ({load.peak} at the busiest). Move a chair to another nurse."
            )
        if load.over_starts:
            times = [
                _local(slot, tz)
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
        busy = [_local(slot, tz) for slot, count in zip(slot_starts, in_chairs, strict=True) if count > limit]
        if busy:
            warnings.append(
                f"More than {limit} patients in chairs at once from {busy[0]} for the {nurses_on_duty} nurses on duty."
            )
        limit = nurses_on_duty * clinic.starts_per_nurse
        crowded = [_local(slot, tz) for slot, count in zip(slot_starts, starts, strict=True) if count > limit]
        if crowded:
            warnings.append(
                f"More than {limit} infusion starts in 15 minutes at {', '.join(crowded)} "
                f"for the {nurses_on_duty} nurses on duty."
            )
    return warnings
