"""The nurses' roster: one clinic day as chairs by hours, visits, their flags and the nurses' load.

A selector: it only reads. `roster_for_day` makes a fixed number of queries however many
visits the day holds (the clinic's hours and staffing, chairs, nurse assignments, the day's
appointments with their patient, course, earlier reactions and prescriber holds, the
reactions recorded at them, the regimens with their phases, monitoring rules and
pre-infusion checks, the visits' ticks, and the courses' visits through the dose module); everything after that
is computed in Python. The flags live in `flags.py`, the nurses' load in `load.py`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Prefetch, Subquery, prefetch_related_objects
from django.utils import timezone

from clinic import dosing
from clinic.models import (
    Chair,
    Clinic,
    Closure,
    MonitoringRule,
    NurseStaffing,
    OpeningHours,
    RateStep,
    Regimen,
    RegimenCheck,
    RegimenPhase,
)
from clinic.rates import RateSchedule, RateStepSpec, rate_schedule, steps_for
from clinic.roles import NURSE
from scheduling.answers.selectors import confirmed_by_patient
from scheduling.doses import CourseDoses, RegimenSpecs, clinic_today, courses_doses
from scheduling.models import Appointment, AppointmentEvent, InfusionReaction, NurseAssignment, VisitCheck
from scheduling.roster.checklists import Checklist, checklist_for, local_programme
from scheduling.roster.flags import Flag, outside_hours_flag, visit_flags
from scheduling.roster.load import SLOT, NurseLoad, clock, load_warnings, nurse_loads

LATE_AFTER = timedelta(minutes=15)

STATUS_LABELS = dict(Appointment.Status.choices)


@dataclass
class Segment:
    kind: str  # premed, infusion, observation
    label: str
    minutes: int
    percent: float


@dataclass(frozen=True)
class LastEvent:
    """A visit's latest history row, read with the day's visits (no query of its own)."""

    pk: int
    action: str
    at: datetime
    from_status: str
    to_status: str
    details: dict


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
    last_event: LastEvent | None = None  # the visit's latest move (past ticks and notes): what an undo takes back
    checklist: Checklist | None = None  # the checks before the needle and their ticks
    reactions: list[InfusionReaction] = field(default_factory=list)  # recorded at this visit, by onset
    rate_schedule: RateSchedule | None = None  # while infusing: the rate steps on the clock
    confirmed: bool = False  # the patient confirmed this visit, at this time, from a message

    @property
    def status(self) -> str:
        return self.appointment.status

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.appointment.status]

    @property
    def pk(self) -> int:
        return self.appointment.pk


@dataclass
class RosterChair:
    chair: Chair
    nurse: object | None
    visits: list[RosterVisit]


@dataclass
class Tick:
    label: str
    left: float


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
        return clock(self.now, self.clinic.tz)

    @property
    def is_open(self) -> bool:
        return self.opens_at is not None and not self.closed_reason

    @property
    def late_count(self) -> int:
        return sum(1 for visit in self.visits if visit.late)

    @property
    def overrun_count(self) -> int:
        return sum(1 for visit in self.visits if visit.overrun)

    @property
    def counts(self) -> dict[str, int]:
        result = dict.fromkeys(Appointment.Status.values, 0)
        for visit in self.visits:
            result[visit.status] += 1
        return result


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


def _nurse_choices(clinic: Clinic) -> list:
    User = get_user_model()
    return list(
        User.objects.filter(is_active=True, groups__name=NURSE, staff_profile__clinics=clinic)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _day_appointments(clinic: Clinic, day: date) -> list[Appointment]:
    """The day's visits with their patient and course, and whether the patient reacted before.

    Everything that holds a chair, and the no-shows so the day reads true. A reaction at any
    earlier visit counts, whatever its course or status.
    """
    earlier = Appointment.objects.filter(
        patient=OuterRef("patient"), infusion_reaction=True, starts_at__lt=OuterRef("starts_at")
    )
    last = (
        AppointmentEvent.objects.filter(appointment=OuterRef("pk"))
        .exclude(action__in=AppointmentEvent.BESIDE_THE_MOVES)
        .order_by("-at", "-pk")
    )
    held = InfusionReaction.objects.awaiting_review().filter(appointment__course=OuterRef("course"))
    return list(
        Appointment.objects.for_clinic_day(clinic, day)
        .filter(status__in=(*Appointment.ACTIVE_STATUSES, Appointment.Status.NO_SHOW))
        .select_related("patient__clinic", "course", "authorization_override_by")
        .prefetch_related(Prefetch("reactions", queryset=InfusionReaction.objects.order_by("onset_at", "pk")))
        .annotate(
            prior_reaction=Exists(earlier),
            prior_serious_reaction=Exists(earlier.filter(serious_reaction=True)),
            held_for_review=Exists(held),
            patient_confirmed=confirmed_by_patient(),
            **{f"last_event_{name}": Subquery(last.values(name)[:1]) for name in _LAST_EVENT_FIELDS},
        )
        .order_by("starts_at", "pk")
    )


_LAST_EVENT_FIELDS = ("pk", "action", "at", "from_status", "to_status", "details")


def _last_event(appointment: Appointment) -> LastEvent | None:
    if getattr(appointment, "last_event_pk", None) is None:
        return None
    return LastEvent(*(getattr(appointment, f"last_event_{name}") for name in _LAST_EVENT_FIELDS))


def _regimens(appointments: list[Appointment]) -> dict[int, Regimen]:
    """The day's regimens with their drug, phases and monitoring rules: once each, not once per visit."""
    regimens = Regimen.objects.select_related("drug").in_bulk(
        {appointment.course.regimen_id for appointment in appointments}
    )
    prefetch_related_objects(
        list(regimens.values()),
        Prefetch("phases", queryset=RegimenPhase.objects.order_by("position")),
        Prefetch("monitoring", queryset=MonitoringRule.objects.all()),
        "programme_names",
        Prefetch("checks", queryset=RegimenCheck.objects.filter(active=True).order_by("position", "pk")),
    )
    return regimens


def _standing_ticks(appointments: list[Appointment]) -> dict[int, list[VisitCheck]]:
    """The day's standing ticks by visit, with who ticked them, in one query."""
    ticks: dict[int, list[VisitCheck]] = defaultdict(list)
    for tick in VisitCheck.objects.standing().filter(appointment__in=appointments).select_related("ticked_by"):
        ticks[tick.appointment_id].append(tick)
    return ticks


def _planned_dose(spec, course, doses: CourseDoses, dose_number: int, day: date) -> dosing.PlannedDose | None:
    """Dose `dose_number` as the dosing rules plan it from the course's doses given and booked before it.

    `scheduling.doses.planned_dose` answers the same for one visit; here the course's visits
    come from one `courses_doses` read for the whole day. A dose given elsewhere and never
    recorded is planned as given on its target date; None when the regimen has no such dose.
    """
    before = sorted(
        (visit for visit in (*doses.given, *doses.booked) if visit.dose_number < dose_number),
        key=lambda visit: (visit.date, visit.dose_number),
    )
    count = dose_number - len(before)
    if count < 1:
        return None
    plan = dosing.dose_plan(
        spec,
        start_date=course.start_date,
        given=[visit.as_given() for visit in before],
        options=course.options or {},
        today=day,
        count=count,
        due_soon_days=course.patient.clinic.due_soon_days,
    )
    return plan[-1] if len(plan) == count else None


# {(regimen id, phase position): {"standard" | "first" | "short": steps}}
RateSteps = dict[tuple[int, int], dict[str, list[RateStepSpec]]]


def _rate_steps(appointments: list[Appointment]) -> RateSteps:
    """The rate steps of the regimens being infused now, in one query (none when nobody is infusing)."""
    regimen_ids = {
        appointment.course.regimen_id
        for appointment in appointments
        if appointment.status == Appointment.Status.INFUSING and appointment.infusion_started_at
    }
    found: RateSteps = defaultdict(lambda: defaultdict(list))
    if not regimen_ids:
        return {}
    rows = RateStep.objects.filter(phase__regimen_id__in=regimen_ids).values_list(
        "phase__regimen_id", "phase__position", "applies_to", "after_minutes", "rate", "unit", "verified"
    )
    for regimen_id, position, applies_to, after_minutes, rate, unit, verified in rows.order_by("after_minutes"):
        found[(regimen_id, position)][applies_to].append(RateStepSpec(after_minutes, rate, unit, verified))
    return {key: dict(value) for key, value in found.items()}


def _visit_rate_schedule(appointment: Appointment, planned, rate_steps: RateSteps, *, now, tz) -> RateSchedule | None:
    """The rate steps of an infusion under way, timed from its recorded start; None otherwise or without steps."""
    if appointment.status != Appointment.Status.INFUSING or not appointment.infusion_started_at or planned is None:
        return None
    schedules = rate_steps.get((appointment.course.regimen_id, planned.phase_position), {})
    steps = steps_for(schedules, planned.infusion_kind)
    if not steps:
        return None
    return rate_schedule(steps, started_at=appointment.infusion_started_at, now=now, tz=tz)


def _visit(
    appointment: Appointment,
    *,
    clinic: Clinic,
    day: date,
    now: datetime,
    spec,
    doses,
    ticks: list[VisitCheck],
    rate_steps: RateSteps,
) -> RosterVisit:
    tz = clinic.tz
    course = appointment.course
    regimen = course.regimen
    planned = _planned_dose(spec, course, doses, appointment.dose_number, day)
    infusion_starts_at = appointment.starts_at + timedelta(minutes=appointment.premed_minutes)
    infusion_ends_at = infusion_starts_at + timedelta(minutes=appointment.infusion_minutes)
    status = appointment.status
    visit = RosterVisit(
        appointment=appointment,
        patient_name=appointment.patient.full_name,
        mrn=appointment.patient.mrn,
        drug=regimen.drug.brand_name,
        dose_label=planned.dose_label if planned else "",
        dose_number=appointment.dose_number,
        phase=planned.phase if planned else "",
        chair_name=appointment.chair.name,
        starts=clock(appointment.starts_at, tz),
        premed_time=clock(appointment.starts_at, tz) if appointment.premed_minutes else "",
        infusion_start=clock(infusion_starts_at, tz),
        infusion_end=clock(infusion_ends_at, tz),
        observation_end=clock(appointment.ends_at, tz) if appointment.observation_minutes else "",
        ends=clock(appointment.ends_at, tz),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        infusion_starts_at=infusion_starts_at,
        flags=visit_flags(
            appointment=appointment,
            course=course,
            regimen=regimen,
            programme=regimen.programme_for(appointment.patient.clinic.country),
            day=day,
            observation_required=planned.observation_required if planned else False,
            monitoring=doses.monitoring,
            prior_reaction=appointment.prior_reaction,
            prior_serious_reaction=appointment.prior_serious_reaction,
            held_for_review=appointment.held_for_review,
        ),
        reactions=list(appointment.reactions.all()),
        rate_schedule=_visit_rate_schedule(appointment, planned, rate_steps, now=now, tz=tz),
        late=status == Appointment.Status.BOOKED and now > appointment.starts_at + LATE_AFTER,
        overrun=status in Appointment.IN_PROGRESS_STATUSES and now > appointment.ends_at,
        last_event=_last_event(appointment),
        checklist=checklist_for(
            appointment=appointment,
            checks=regimen.checks.all(),
            first_of_block=dosing.first_of_block(spec, appointment.dose_number),
            ticks=ticks,
            authorization_expires_on=course.authorization_expires_on,
            day=day,
            **local_programme(regimen, appointment.patient.clinic.country),
        ),
        confirmed=bool(getattr(appointment, "patient_confirmed", False)),
    )
    total = appointment.premed_minutes + appointment.infusion_minutes + appointment.observation_minutes
    for kind, label, minutes in (
        ("premed", "Premedication", appointment.premed_minutes),
        ("infusion", "Infusion", appointment.infusion_minutes),
        ("observation", "Observation", appointment.observation_minutes),
    ):
        if minutes:
            visit.segments.append(Segment(kind, label, minutes, round(minutes / total * 100, 3)))
    return visit


def _place(visit: RosterVisit, opens_at: datetime, span: float) -> None:
    """Where the visit sits on the timeline, in percent of the opening hours (clipped to them)."""
    offset = (visit.starts_at - opens_at).total_seconds()
    length = (visit.ends_at - visit.starts_at).total_seconds()
    visit.left = round(max(0.0, offset) / span * 100, 3)
    visit.width = round(max(0.0, min(offset + length, span) - max(0.0, offset)) / span * 100, 3)


def _ticks_and_slots(opens_at: datetime, closes_at: datetime, tz) -> tuple[list[Tick], list[datetime]]:
    """The hour marks of the timeline and the 15-minute slots of the opening hours."""
    span = (closes_at - opens_at).total_seconds()
    ticks: list[Tick] = []
    local_open = opens_at.astimezone(tz)
    first = local_open.replace(minute=0, second=0, microsecond=0)
    if first < local_open:
        first += timedelta(hours=1)
    # Step in real (UTC) hours so a daylight-saving change shows as a skipped or repeated hour.
    tick = first.astimezone(UTC)
    while tick <= closes_at:
        ticks.append(Tick(clock(tick, tz), round((tick - opens_at).total_seconds() / span * 100, 3)))
        tick += timedelta(hours=1)
    slot_starts: list[datetime] = []
    slot = opens_at.astimezone(UTC)
    while slot < closes_at:
        slot_starts.append(slot)
        slot += SLOT
    return ticks, slot_starts


def _hours_warnings(visits: list[RosterVisit]) -> list[str]:
    outside = [visit for visit in visits if any(flag.code == "outside_hours" for flag in visit.flags)]
    if not outside:
        return []
    named = ", ".join(f"{visit.starts} ({visit.chair_name})" for visit in outside)
    count = f"{len(outside)} booked visit{'s' if len(outside) != 1 else ''}"
    return [f"{count} outside the opening hours: {named}. Move or cancel them."]


def roster_for_day(
    *, clinic: Clinic, day: date, now: datetime | None = None, with_nurse_choices: bool = False
) -> Roster:
    """The roster of one clinic day, in a fixed number of queries (twelve with the nurse choices, one more
    when an infusion is under way: its rate steps)."""
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
    appointments = _day_appointments(clinic, day)
    regimens = _regimens(appointments)
    ticks = _standing_ticks(appointments)
    specs = RegimenSpecs(regimens.values())
    courses = {}
    for appointment in appointments:
        # The rows this selector read, joined up, so nothing below costs a query per visit.
        appointment.clinic = clinic
        appointment.chair = all_chairs[appointment.chair_id]
        course = appointment.course
        course.patient = appointment.patient
        course.regimen = regimens[course.regimen_id]
        courses[course.pk] = course
    # Given, booked and the monitoring due, for every course of the day in one query.
    doses = courses_doses(courses.values(), today=day, monitoring=True, specs=specs)
    rate_steps = _rate_steps(appointments)

    span = (closes_at - opens_at).total_seconds() if opens_at and closes_at else 0
    visits = []
    for appointment in appointments:
        course = appointment.course
        visit = _visit(
            appointment,
            clinic=clinic,
            day=day,
            now=now,
            spec=specs(course.regimen_id),
            doses=doses[course.pk],
            ticks=ticks.get(appointment.pk, []),
            rate_steps=rate_steps,
        )
        if span:
            _place(visit, opens_at, span)
        if appointment.status == Appointment.Status.BOOKED:
            outside = outside_hours_flag(
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                opens_at=opens_at,
                closes_at=closes_at,
                closed_reason=settings["day_closure"] or "",
                tz=tz,
            )
            if outside is not None:
                visit.flags.insert(0, outside)
        visits.append(visit)
    visits.sort(key=lambda visit: (visit.starts_at, visit.appointment.chair.position, visit.chair_name, visit.pk))

    by_chair: dict[int, list[RosterVisit]] = defaultdict(list)
    for visit in visits:
        by_chair[visit.appointment.chair_id].append(visit)
    chairs = [chair for chair in all_chairs.values() if chair.active or chair.pk in by_chair]
    roster_chairs = [RosterChair(chair, assignments.get(chair.pk), by_chair.get(chair.pk, [])) for chair in chairs]

    ticks, slot_starts = _ticks_and_slots(opens_at, closes_at, tz) if span else ([], [])
    now_left = None
    if span and opens_at <= now <= closes_at:
        now_left = round((now - opens_at).total_seconds() / span * 100, 3)
    loads = nurse_loads(clinic, roster_chairs, slot_starts)
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
        slot_labels=[clock(slot, tz) for slot in slot_starts],
        chairs=roster_chairs,
        visits=visits,
        nurse_loads=loads,
        warnings=_hours_warnings(visits)
        + load_warnings(clinic, roster_chairs, loads, slot_starts, nurses_on_duty, visits),
        nurse_choices=_nurse_choices(clinic) if with_nurse_choices else [],
        now_left=now_left,
    )
