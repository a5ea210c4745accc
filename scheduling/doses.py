"""The one answer to "which doses were given, which are booked, and what comes next".

Every page and job that asks about a course's doses asks here: the worklist, booking, the
reminder planner and sender, the roster's flags, the patient page and `dosing_plan --course`.
The dosing rules themselves (`clinic.dosing`) are pure functions over dates; this module
decides which of a course's appointments they are given.

**Given** is a completed appointment, one per dose number, dated on the clinic's local
calendar by the infusion's recorded start, else by its booked start (a nurse who records
the infusion starting at 00:10 after a late evening has given it that day). Its serious
reactions (the appointment's summary of its InfusionReaction rows: any, serious,
hypersensitivity) are what the rules read for chair time and observation. A reaction
recorded on a visit still in progress counts too: the next dose is planned after it.

**Booked** is an upcoming appointment (booked or in progress: it holds a chair and the dose
is not given yet), dated by its booked start.

**Next** is the first dose neither given nor booked, planned after both: booked doses are
assumed given on their booked day, so the dose after an Ocrevus dose 1 booked for 2 Dec is
dose 2 on 16 Dec, not dose 1 again. Cancelled and no-show visits count for nothing: their
dose is still owed.

It stays one module on purpose, past the usual size: it is the single place that defines
given, booked and next, and the stored state is that same answer written down.

One course or many at once: `courses_doses` reads every course's visits in one query.
The stored `DoseState` rows (one per active course) hold the next dose for the worklist and
the planner, refreshed by `dose_states_refresh` in the transaction of every change that
moves it. Each row also holds the course's data problem (`scheduling.data_problems`): one
course whose dates or regimen the rules cannot plan from gets a row saying so, and never
stops the refresh of the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Prefetch
from django.utils import timezone

from clinic.dosing import GivenDose, MonitoringItem, PlannedDose, RegimenSpec, dose_plan, monitoring_due
from clinic.models import ClinicRegimenSetting, Regimen, RegimenPhase
from patients.models import TreatmentCourse
from scheduling.data_problems import course_problem
from scheduling.models import Appointment, DoseState, statuses

logger = logging.getLogger(__name__)

# Courses read per query when many are refreshed, so memory stays bounded.
REFRESH_CHUNK = 2000


@dataclass(frozen=True)
class Visit:
    """One appointment of a course, as the dose module reads it (plain values)."""

    appointment_id: int
    dose_number: int
    status: str
    starts_at: datetime
    date: date  # the clinic's local date the dose counts on
    serious_reaction: bool = False
    chair_id: int | None = None
    reaction: bool = False  # any infusion reaction recorded, serious or not
    hypersensitivity: bool = False  # a reaction that looked like hypersensitivity (or could not be ruled out)

    @property
    def given(self) -> bool:
        return self.status == statuses.AppointmentStatus.COMPLETED

    def as_given(self) -> GivenDose:
        return GivenDose(
            self.date,
            serious_reaction=self.serious_reaction,
            reaction=self.reaction,
            hypersensitivity=self.hypersensitivity,
        )


@dataclass(frozen=True)
class CourseDoses:
    """A course's doses: given, booked, and the plan from the next unbooked dose on."""

    course_id: int
    today: date
    given: tuple[Visit, ...]  # by date
    booked: tuple[Visit, ...]  # upcoming visits, by start
    plan: tuple[PlannedDose, ...]  # the next dose first, then the ones after it
    monitoring: tuple[MonitoringItem, ...] = field(default=())

    @property
    def next(self) -> PlannedDose | None:
        """The first dose neither given nor booked, or None when the regimen has no further dose."""
        return self.plan[0] if self.plan else None

    @property
    def upcoming(self) -> tuple[PlannedDose, ...]:
        """The doses after the next one, each assumed given on its target date."""
        return self.plan[1:]

    @property
    def has_booking(self) -> bool:
        return bool(self.booked)

    @property
    def next_visit(self) -> Visit | None:
        return self.booked[0] if self.booked else None

    def booking_for(self, dose_number: int) -> Visit | None:
        return next((visit for visit in self.booked if visit.dose_number == dose_number), None)

    def given_dose_numbers(self) -> set[int]:
        return {visit.dose_number for visit in self.given}

    def booked_dose_numbers(self) -> set[int]:
        return {visit.dose_number for visit in self.booked}


# --- Reading a course's visits ----------------------------------------------------------------

_VISIT_FIELDS = (
    "pk",
    "course_id",
    "dose_number",
    "status",
    "starts_at",
    "infusion_started_at",
    "serious_reaction",
    "chair_id",
    "infusion_reaction",
    "hypersensitivity_reaction",
)


def _local_day(moment: datetime, tz) -> date:
    """The clinic's date of a moment; a moment within hours of the calendar's ends keeps its UTC date.

    Such a visit (saved on 0001-01-01 or 9999-12-31) is a data problem to list, not a reason
    for every page and job that reads the course to fail.
    """
    try:
        return moment.astimezone(tz).date()
    except OverflowError:
        return moment.date()


def _visits_by_course(
    course_ids: Sequence[int], tz_by_course: dict, *, exclude_appointment_id=None, clinic_id: int | None = None
) -> dict:
    """{course id: (given visits, booked visits)} in one query.

    With `clinic_id`, the courses are that clinic's patients' and the query asks for the
    clinic's courses rather than naming thousands of ids (the rows of other courses are skipped).
    """
    given: dict[int, dict[tuple[int, date], Visit]] = defaultdict(dict)
    booked: dict[int, list[Visit]] = defaultdict(list)
    rows = Appointment.objects.filter(status__in=statuses.ACTIVE)
    if clinic_id is None:
        rows = rows.filter(course_id__in=course_ids)
    else:
        rows = rows.filter(course__patient__clinic_id=clinic_id)
    rows = rows.order_by("starts_at", "pk").values_list(*_VISIT_FIELDS)
    for (
        pk,
        course_id,
        dose_number,
        status,
        starts_at,
        infusion_started_at,
        serious,
        chair_id,
        reaction,
        allergic,
    ) in rows:
        if pk == exclude_appointment_id or course_id not in tz_by_course:
            continue
        tz = tz_by_course[course_id]
        if status == statuses.AppointmentStatus.COMPLETED:
            moment = infusion_started_at or starts_at
            day = _local_day(moment, tz)
            # A duplicate completed row (the same dose number on the same day: a data fix) counts
            # once. Two infusions given on different days are two doses, whatever number their
            # visits were booked under: when a series' first visit was missed, the visit booked as
            # its second dose was the first one given, and the next visit, planned as dose 2 again,
            # carries the same number.
            given[course_id].setdefault(
                (dose_number, day),
                Visit(
                    pk,
                    dose_number,
                    status,
                    starts_at,
                    day,
                    bool(serious),
                    chair_id,
                    reaction,
                    allergic,
                ),
            )
        else:
            booked[course_id].append(
                Visit(
                    pk,
                    dose_number,
                    status,
                    starts_at,
                    _local_day(starts_at, tz),
                    bool(serious),
                    chair_id,
                    reaction,
                    allergic,
                )
            )
    return {
        course_id: (
            tuple(sorted(given[course_id].values(), key=lambda visit: (visit.date, visit.dose_number))),
            tuple(booked[course_id]),
        )
        for course_id in course_ids
    }


def clinic_chair_times(regimen_ids: Iterable[int] | None = None) -> dict[tuple[int, int], dict[int, tuple]]:
    """Each clinic's own chair time: {(clinic id, regimen id): {phase position: (premedication, observation)}}."""
    rows = ClinicRegimenSetting.objects.all()
    if regimen_ids is not None:
        rows = rows.filter(phase__regimen_id__in=list(regimen_ids))
    found: dict[tuple[int, int], dict[int, tuple]] = defaultdict(dict)
    for clinic_id, regimen_id, position, premed, observation in rows.values_list(
        "clinic_id", "phase__regimen_id", "phase__position", "premed_minutes", "observation_minutes"
    ):
        found[clinic_id, regimen_id][position] = (premed, observation)
    return dict(found)


class RegimenSpecs:
    """One RegimenSpec per regimen, read once (phases and monitoring rules prefetched).

    A regimen the rules cannot read raises when it is asked for, not when the others are
    read: its courses fail, every other course is planned. Asked for a clinic (`for_course`),
    the spec carries that clinic's own chair time (`ClinicRegimenSetting`), read once for all.
    """

    def __init__(self, regimens: Iterable[Regimen] = ()) -> None:
        self._by_id: dict[int, RegimenSpec] = {}
        self._unreadable: dict[int, Exception] = {}
        self._for_clinic: dict[tuple[int, int], RegimenSpec] = {}
        self._chair_times: dict[tuple[int, int], dict[int, tuple]] | None = None
        for regimen in regimens:
            try:
                self._by_id[regimen.pk] = regimen.spec()
            except DatabaseError:
                raise
            except Exception as error:
                self._unreadable[regimen.pk] = error

    def __call__(self, regimen_id: int) -> RegimenSpec:
        if regimen_id in self._unreadable:
            raise self._unreadable[regimen_id]
        if regimen_id not in self._by_id:
            regimen = Regimen.objects.prefetch_related(_phases(), "monitoring").get(pk=regimen_id)
            self._by_id[regimen_id] = regimen.spec()
        return self._by_id[regimen_id]

    def for_clinic(self, regimen_id: int, clinic_id: int) -> RegimenSpec:
        """The regimen as this clinic doses it: its own premedication and observation minutes."""
        key = (clinic_id, regimen_id)
        if key not in self._for_clinic:
            if self._chair_times is None:
                self._chair_times = clinic_chair_times()
            self._for_clinic[key] = self(regimen_id).with_chair_time(self._chair_times.get(key, {}))
        return self._for_clinic[key]

    def for_course(self, course: TreatmentCourse) -> RegimenSpec:
        return self.for_clinic(course.regimen_id, course.patient.clinic_id)

    @classmethod
    def for_regimens(cls, regimen_ids: Iterable[int]) -> RegimenSpecs:
        ids = set(regimen_ids)
        return cls(Regimen.objects.filter(pk__in=ids).prefetch_related(_phases(), "monitoring")) if ids else cls()


_shared_specs: ContextVar[RegimenSpecs | None] = ContextVar("shared_regimen_specs", default=None)


@contextmanager
def regimen_specs_shared() -> Iterator[RegimenSpecs]:
    """Inside: every reading of the regimens' rules and the clinics' chair times shares one RegimenSpecs.

    For one change (a booking service, say), which plans the same course several times: its
    regimen is read once instead of at each step. Nested uses share the outer one. Also a
    decorator. Only for a span in which no regimen or chair time is edited.
    """
    shared = _shared_specs.get()
    if shared is not None:
        yield shared
        return
    shared = RegimenSpecs()
    token = _shared_specs.set(shared)
    try:
        yield shared
    finally:
        _shared_specs.reset(token)


def shared_specs() -> RegimenSpecs:
    """The RegimenSpecs shared inside `regimen_specs_shared`, else a fresh one."""
    shared = _shared_specs.get()
    return RegimenSpecs() if shared is None else shared


def _phases() -> Prefetch:
    return Prefetch("phases", queryset=RegimenPhase.objects.order_by("position"))


def clinic_today(clinic, now: datetime | None = None) -> date:
    """Today's date in the clinic's own time zone."""
    return (now or timezone.now()).astimezone(clinic.tz).date()


# --- Planning ---------------------------------------------------------------------------------


def _plan(
    spec: RegimenSpec,
    course,
    given: Sequence[Visit],
    booked: Sequence[Visit],
    *,
    today: date,
    due_soon_days: int,
    count,
    until: date | None = None,
):
    history = sorted([*given, *booked], key=lambda visit: (visit.date, visit.dose_number))
    return tuple(
        dose_plan(
            spec,
            start_date=course.start_date,
            given=[visit.as_given() for visit in history],
            options=course.options or {},
            today=today,
            count=count,
            due_soon_days=due_soon_days,
            until=until,
        )
    )


def courses_doses(
    courses: Iterable[TreatmentCourse],
    *,
    today: date | None = None,
    plan_length: int = 1,
    monitoring: bool = False,
    specs: RegimenSpecs | None = None,
    visits: dict | None = None,
    plan_until: date | None = None,
) -> dict[int, CourseDoses]:
    """Each course's doses, keyed by course id: one query for every course's visits.

    The courses need their patient's clinic loaded (`select_related("patient__clinic")`);
    regimens are read once each. `today` defaults to each clinic's own date. `visits`, when
    the caller read them already (`course_visits`, `clinic_course_visits`), saves the query.
    `plan_until` ends each plan after its first dose due after that day, short of `plan_length`.
    """
    courses = list(courses)
    if not courses:
        return {}
    specs = specs or RegimenSpecs.for_regimens(course.regimen_id for course in courses)
    if visits is None:
        visits = _visits_by_course([c.pk for c in courses], {c.pk: c.patient.clinic.tz for c in courses})
    result = {}
    for course in courses:
        result[course.pk] = _course_doses(
            course,
            visits[course.pk],
            spec=specs.for_course(course),
            today=today,
            plan_length=plan_length,
            monitoring=monitoring,
            plan_until=plan_until,
        )
    return result


def _course_doses(course, visits, *, spec, today, plan_length, monitoring, plan_until=None) -> CourseDoses:
    clinic = course.patient.clinic
    day = today or clinic_today(clinic)
    given, booked = visits
    plan = _plan(
        spec,
        course,
        given,
        booked,
        today=day,
        due_soon_days=clinic.due_soon_days,
        count=plan_length,
        until=plan_until,
    )
    checks: tuple[MonitoringItem, ...] = ()
    if monitoring:
        checks = tuple(
            monitoring_due(
                spec,
                given=[visit.as_given() for visit in given],
                today=day,
                authorization_expires_on=course.authorization_expires_on,
            )
        )
    return CourseDoses(course_id=course.pk, today=day, given=given, booked=booked, plan=plan, monitoring=checks)


def course_doses(
    course: TreatmentCourse,
    *,
    today: date | None = None,
    plan_length: int = 1,
    monitoring: bool = False,
    exclude_appointment_id: int | None = None,
) -> CourseDoses:
    """One course's doses. `exclude_appointment_id` leaves one visit out (the one being moved)."""
    clinic = course.patient.clinic
    visits = _visits_by_course([course.pk], {course.pk: clinic.tz}, exclude_appointment_id=exclude_appointment_id)
    return _course_doses(
        course,
        visits[course.pk],
        spec=shared_specs().for_course(course),
        today=today,
        plan_length=plan_length,
        monitoring=monitoring,
    )


def planned_dose(course: TreatmentCourse, dose_number: int, *, today: date | None = None, exclude_appointment_id=None):
    """Dose `dose_number` of the course as the rules plan it from the doses before it.

    For a reschedule (the moved visit left out) or a chosen dose further along the plan.
    None when the regimen has no such dose.
    """
    clinic = course.patient.clinic
    day = today or clinic_today(clinic)
    spec = shared_specs().for_course(course)
    given, booked = _visits_by_course(
        [course.pk], {course.pk: clinic.tz}, exclude_appointment_id=exclude_appointment_id
    )[course.pk]
    return planned_from(spec, course, (*given, *booked), dose_number, today=day)


def planned_from(spec: RegimenSpec, course, visits: Sequence[Visit], dose_number: int, *, today: date):
    """Dose `dose_number` as `spec` plans it from the course's visits numbered before it; None past the regimen."""
    before = [visit for visit in visits if visit.dose_number < dose_number]
    due_soon_days = course.patient.clinic.due_soon_days
    plan = _plan(spec, course, before, (), today=today, due_soon_days=due_soon_days, count=dose_number)
    index = dose_number - len(before) - 1
    if index < 0 or index >= len(plan):
        return None
    return plan[index]


def course_visits(courses: Sequence[TreatmentCourse]) -> dict[int, tuple[tuple[Visit, ...], tuple[Visit, ...]]]:
    """{course id: (given visits, booked visits)} in one query; the courses need their patient's clinic loaded."""
    return _visits_by_course([c.pk for c in courses], {c.pk: c.patient.clinic.tz for c in courses})


def clinic_course_visits(
    clinic, courses: Sequence[TreatmentCourse]
) -> dict[int, tuple[tuple[Visit, ...], tuple[Visit, ...]]]:
    """As `course_visits`, for courses all of one clinic's patients: thousands of them in one cheap query."""
    return _visits_by_course(
        [c.pk for c in courses], dict.fromkeys((c.pk for c in courses), clinic.tz), clinic_id=clinic.pk
    )


def plan_course(spec: RegimenSpec, course, visits, *, today: date | None = None) -> CourseDoses:
    """One course's doses as `spec` plans them (a regimen's proposed values, say), from visits already read."""
    return _course_doses(course, visits, spec=spec, today=today, plan_length=1, monitoring=False)


def booked_doses_planned(
    visits: Iterable[tuple[TreatmentCourse, int, int]], *, today: date | None = None
) -> dict[int, PlannedDose | None]:
    """{appointment id: its dose as the rules plan it from the doses before it}, for many booked visits at once.

    Each visit is (course, appointment id, dose number); the same answer as `planned_dose` with
    the visit left out, in one query for every course's visits and one for the regimens. The
    courses need their patient's clinic loaded.
    """
    visits = list(visits)
    courses = {course.pk: course for course, _, _ in visits}
    if not courses:
        return {}
    specs = RegimenSpecs.for_regimens(course.regimen_id for course in courses.values())
    history = _visits_by_course(list(courses), {pk: course.patient.clinic.tz for pk, course in courses.items()})
    result: dict[int, PlannedDose | None] = {}
    for course, appointment_id, dose_number in visits:
        clinic = course.patient.clinic
        given, booked = history[course.pk]
        before = [
            visit
            for visit in (*given, *booked)
            if visit.dose_number < dose_number and visit.appointment_id != appointment_id
        ]
        plan = _plan(
            specs(course.regimen_id),
            course,
            before,
            (),
            today=today or clinic_today(clinic),
            due_soon_days=clinic.due_soon_days,
            count=dose_number,
        )
        index = dose_number - len(before) - 1
        result[appointment_id] = plan[index] if 0 <= index < len(plan) else None
    return result


# --- The stored state -------------------------------------------------------------------------

_STATE_FIELDS = (
    "clinic_id",
    "patient_id",
    "regimen_id",
    "drug_id",
    "dose_number",
    "target_date",
    "earliest_date",
    "latest_date",
    "due_soon_from",
    "when_needed",
    "phase",
    "dose_label",
    "dose_in_block",
    "block_size",
    "premed_minutes",
    "infusion_minutes",
    "observation_minutes",
    "booked_count",
    "next_visit_at",
    "given_count",
    "first_given_on",
    "last_given_on",
    "problem",
)


def _state_for(course: TreatmentCourse, doses: CourseDoses, *, regimen_readable: bool) -> DoseState:
    clinic = course.patient.clinic
    dose = doses.next
    state = DoseState(
        course_id=course.pk,
        clinic_id=clinic.pk,
        patient_id=course.patient_id,
        regimen_id=course.regimen_id,
        drug_id=course.regimen.drug_id,
        booked_count=len(doses.booked),
        next_visit_at=doses.booked[0].starts_at if doses.booked else None,
        given_count=len(doses.given),
        first_given_on=doses.given[0].date if doses.given else None,
        last_given_on=doses.given[-1].date if doses.given else None,
        problem=course_problem(
            start_date=course.start_date,
            authorization_expires_on=course.authorization_expires_on,
            given_dates=[visit.date for visit in doses.given],
            booked_dates=[visit.date for visit in doses.booked],
            regimen_readable=regimen_readable,
        ),
    )
    if dose is not None:
        state.dose_number = dose.dose_number
        state.target_date = dose.target_date
        state.earliest_date = dose.earliest_date
        state.latest_date = dose.latest_date
        state.due_soon_from = dose.target_date - timedelta(days=clinic.due_soon_days)
        state.when_needed = dose.when_needed
        state.phase = dose.phase[:40]
        state.dose_label = dose.dose_label[:80]
        state.dose_in_block = dose.dose_in_block
        state.block_size = dose.block_size
        state.premed_minutes = dose.chair_time.premed_minutes
        state.infusion_minutes = dose.chair_time.infusion_minutes
        state.observation_minutes = dose.chair_time.observation_minutes
    return state


def _computed_states(course_ids: Iterable[int] | None) -> Iterable[tuple[list[int], dict[int, DoseState]]]:
    """(course ids asked, {course id: state}) chunk by chunk; only active courses get a state."""
    base = TreatmentCourse.objects.select_related("patient__clinic", "regimen").order_by("pk")
    ids = None if course_ids is None else sorted(set(course_ids))
    specs = RegimenSpecs(Regimen.objects.prefetch_related(_phases(), "monitoring")) if ids is None else None
    last = 0
    while True:
        if ids is None:
            chunk = list(base.filter(pk__gt=last)[:REFRESH_CHUNK])
            asked = [course.pk for course in chunk]
        else:
            asked = ids[:REFRESH_CHUNK]
            ids = ids[REFRESH_CHUNK:]
            chunk = list(base.filter(pk__in=asked)) if asked else []
        if not asked:
            return
        active = [course for course in chunk if course.status == TreatmentCourse.Status.ACTIVE]
        yield asked, _chunk_states(active, specs=specs)
        if chunk:
            last = chunk[-1].pk


def _chunk_states(courses: list[TreatmentCourse], *, specs: RegimenSpecs | None) -> dict[int, DoseState]:
    """Each course's state; a course the rules cannot plan gets a state without a next dose, marked so."""
    if not courses:
        return {}
    specs = specs or _shared_specs.get() or RegimenSpecs.for_regimens(course.regimen_id for course in courses)
    visits = _visits_by_course([c.pk for c in courses], {c.pk: c.patient.clinic.tz for c in courses})
    states = {}
    for course in courses:
        given, booked = visits[course.pk]
        try:
            spec = specs.for_course(course)
            doses = _course_doses(course, (given, booked), spec=spec, today=None, plan_length=1, monitoring=False)
            readable = bool(spec.phases)
        except DatabaseError:
            raise
        except Exception:
            # Recorded on the row (the managers' list of data problems), not raised: one course
            # the rules cannot read must not hold back the booking or the refresh of the others.
            logger.warning("dose state without a plan course=%s regimen=%s", course.pk, course.regimen_id)
            doses = CourseDoses(
                course_id=course.pk, today=clinic_today(course.patient.clinic), given=given, booked=booked, plan=()
            )
            readable = False
        states[course.pk] = _state_for(course, doses, regimen_readable=readable)
    return states


@transaction.atomic
def dose_states_refresh(course_ids: Iterable[int] | None = None) -> int:
    """Recompute the stored next dose of these courses (every course when None).

    Called in the transaction of every change that moves a course's next dose. A course
    that is not active has no row. Returns the number of rows written.
    """
    written = 0
    for asked, states in _computed_states(course_ids):
        DoseState.objects.filter(course_id__in=[pk for pk in asked if pk not in states]).delete()
        if states:
            DoseState.objects.bulk_create(
                list(states.values()),
                update_conflicts=True,
                unique_fields=["course"],
                # A refresh also clears the planner's last failure: the course changed, and the
                # next run tries it afresh.
                update_fields=[*_STATE_FIELDS, "planning_failed_at", "updated_at"],
            )
            written += len(states)
    if course_ids is None:
        # Rows of courses that no longer exist cannot remain (a course is never deleted, but a
        # test database may be flushed under it).
        DoseState.objects.exclude(course__status=TreatmentCourse.Status.ACTIVE).delete()
    return written


@dataclass(frozen=True)
class StateDifference:
    course_id: int
    field: str
    stored: object
    computed: object


def dose_states_verify() -> list[StateDifference]:
    """Every difference between the stored states and a fresh computation from the appointments."""
    differences: list[StateDifference] = []
    for _asked, states in _computed_states(None):
        stored = {row.course_id: row for row in DoseState.objects.filter(course_id__in=list(states))}
        for course_id, computed in states.items():
            row = stored.get(course_id)
            if row is None:
                differences.append(StateDifference(course_id, "row", None, "missing"))
                continue
            for name in _STATE_FIELDS:
                if getattr(row, name) != getattr(computed, name):
                    differences.append(StateDifference(course_id, name, getattr(row, name), getattr(computed, name)))
    for course_id in DoseState.objects.exclude(course__status=TreatmentCourse.Status.ACTIVE).values_list(
        "course_id", flat=True
    ):
        differences.append(StateDifference(course_id, "row", "present", "course not active"))
    return differences
