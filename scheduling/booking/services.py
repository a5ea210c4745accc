"""Booking services: book a dose or a whole series, reschedule, cancel, mark a no-show.

One module past the usual size, on purpose: every booking change shares the same lock order
(course row, then clinic days), the same checks and the same history and reminder writes, and
keeping them side by side is what keeps the lock order the same everywhere.

Every service runs in one transaction and, before it reads the day's bookings, takes a
short lock per clinic day (an advisory lock on PostgreSQL, the clinic row elsewhere): the
nurse rules count every appointment of the day and no database constraint can express
them. The course row is locked first, so two people can never book the same dose twice.
Chair and patient overlaps are checked here, so the user reads a sentence, and refused by
the exclusion constraints on PostgreSQL even if two writers race past the check.

Rows are locked bare, by primary key, and loaded with what the checks read only once the
lock is held. A lock taken through a join (`select_for_update(of=("self",))` with
`select_related`) loses the row when it waited for another transaction that changed the
joined key (a chair move, a regimen change): PostgreSQL re-checks the join against the new
row version and returns nothing.

Every change writes an AppointmentEvent (who, when, why) and brings the appointment's
reminder rows in line in the same transaction. Nothing is deleted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinic import dates as written  # "dates" names the course's dates here
from clinic.dosing import ChairTime, PlannedDose, SpacingProblem, spacing_problems
from clinic.models import Chair, Clinic
from patients.models import TreatmentCourse
from scheduling.availability.search import find_slots, slot_problem
from scheduling.doses import course_doses, planned_dose, regimen_specs_shared, shared_specs
from scheduling.models import Appointment, AppointmentEvent, Reminder
from scheduling.reaction_summaries import course_review_holds, hold_sentence
from scheduling.reminders.outbox import appointment_reminders_sync, booking_messages

OVERRIDE_PERMISSION = "scheduling.override_earliest_date"


class BookingError(Exception):
    """A booking change refused, with a sentence the front desk can act on."""

    def __init__(self, message: str, *, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- Locks ------------------------------------------------------------------------------------


def _lock_key(clinic_id: int, day: date) -> int:
    digest = hashlib.blake2b(f"chairside:booking:{clinic_id}:{day.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_clinic_days(clinic: Clinic, days: Iterable[date]) -> None:
    """Hold the clinic's booking lock for these local days until the transaction ends.

    Days are locked in date order so two series bookings over the same days cannot deadlock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for day in sorted(set(days)):
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(clinic.pk, day)])
    else:
        list(Clinic.objects.select_for_update().filter(pk=clinic.pk).values_list("pk", flat=True))


def _lock_row(model, pk: int, what: str, *, no_key: bool = False) -> None:
    """Lock one row by its primary key alone until the transaction ends (no join: see the module's docstring).

    `order_by()` matters: Appointment's default ordering goes through the chair, a join too.
    `no_key` takes PostgreSQL's FOR NO KEY UPDATE: it excludes every other locker of the row
    all the same, but lets another transaction insert rows that point at it.
    """
    rows = model.objects.select_for_update(no_key=no_key).filter(pk=pk).order_by()
    if not list(rows.values_list("pk", flat=True)):
        # Rows are never deleted; should one be missing under the lock all the same, the person
        # reads a sentence rather than an error page.
        raise BookingError(
            f"This {what} was changed by someone else at the same moment. Open it again, check it and try again.",
            code="changed_meanwhile",
        )


def _lock_course(course_id: int) -> TreatmentCourse:
    """The course row, locked, then loaded with its patient, clinic and regimen."""
    # A cancellation holds its appointment and then writes the patient's notice, which points at
    # the course: a plain FOR UPDATE here would make it wait on a move of the same course that
    # waits on that appointment.
    _lock_row(TreatmentCourse, course_id, "treatment course", no_key=True)
    return TreatmentCourse.objects.select_related("patient__clinic", "regimen__drug").get(pk=course_id)


def lock_appointment(appointment_id: int) -> Appointment:
    """The appointment row, locked until the transaction ends, then loaded as it now stands.

    Shared with the visit services, so every change of an appointment locks it the same way.
    """
    _lock_row(Appointment, appointment_id, "appointment")
    return Appointment.objects.select_related(
        "chair", "clinic", "patient", "course__patient__clinic", "course__regimen"
    ).get(pk=appointment_id)


# --- Checks -----------------------------------------------------------------------------------


def _local_day(clinic: Clinic, moment: datetime) -> date:
    if timezone.is_naive(moment):
        raise BookingError("The start time has no time zone. Pick the time again from the suggestions.")
    return moment.astimezone(clinic.tz).date()


def _describe(appointment_or_time: datetime, clinic: Clinic) -> str:
    return written.weekday_day_at(appointment_or_time.astimezone(clinic.tz))


def _check_course(course: TreatmentCourse) -> None:
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise BookingError(
            f"This treatment course is {course.get_status_display().lower()}. Make it active before booking a dose.",
            code="course_inactive",
        )


def _check_review_hold(course: TreatmentCourse) -> None:
    """Refuse the next dose of a course a grade 4 or 5 reaction holds for the prescriber."""
    held = course_review_holds([course.pk]).get(course.pk)
    if held:
        raise BookingError(f"Not booked. {hold_sentence(held)}", code="prescriber_hold")


def _check_chair_time(chair_time: ChairTime, *, regimen, dose_number: int) -> None:
    """Refuse a dose whose chair time the regimen leaves empty, instead of failing on it.

    The regimen admin and a database constraint refuse a phase without infusion minutes; this
    is the last guard, for data that predates them.
    """
    if chair_time.infusion_minutes > 0 and chair_time.total_minutes > 0:
        return
    raise BookingError(
        f"The {regimen} regimen gives dose {dose_number} no chair time ({chair_time.premed_minutes} min premedication, "
        f"{chair_time.infusion_minutes} min infusion, {chair_time.observation_minutes} min observation), so it cannot "
        "be booked. Ask your formulary manager to fix the regimen's chair times in Clinic settings.",
        code="regimen_unusable",
    )


def _check_chair(chair: Chair, clinic: Clinic) -> None:
    if chair.clinic_id != clinic.pk:
        raise BookingError(
            f"{chair.name} belongs to another clinic. Choose a chair at {clinic.name}.", code="wrong_clinic"
        )


def _check_earliest(*, dose: PlannedDose, day: date, user, override_reason: str) -> bool:
    """True when the booking needs (and has) a manager's override of the earliest date."""
    if day >= dose.earliest_date:
        return False
    if not override_reason.strip():
        raise BookingError(
            f"Too early: dose {dose.dose_number} may not be given before {written.day(dose.earliest_date)} "
            f"({dose.reason}). Choose a day from {written.day(dose.earliest_date)}, or ask a clinic manager "
            "to override with a written reason.",
            code="too_early",
        )
    if not user.has_perm(OVERRIDE_PERMISSION):
        raise BookingError(
            f"Only a clinic manager can book dose {dose.dose_number} before {written.day(dose.earliest_date)}. "
            f"Choose a day from {written.day(dose.earliest_date)}, or ask a clinic manager.",
            code="override_not_allowed",
        )
    return True


def _day_text(day: date) -> str:
    return written.weekday_day(day)


@dataclass(frozen=True)
class CourseDates:
    """The local day of each of a course's doses that is booked or given, and which are given."""

    dated: dict[int, date]
    given: frozenset[int]

    def with_days(self, days: dict[int, date]) -> CourseDates:
        return CourseDates({**self.dated, **days}, self.given)


def course_dates(course: TreatmentCourse, *, today: date) -> CourseDates:
    """The course's doses, booked or given, by dose number (a given dose wins over a stray booking)."""
    doses = course_doses(course, today=today)
    dated = {visit.dose_number: visit.date for visit in doses.booked}
    dated.update({visit.dose_number: visit.date for visit in doses.given})
    return CourseDates(dated, frozenset(doses.given_dose_numbers()))


def spacing_changes(
    course: TreatmentCourse, *, before: CourseDates, after: CourseDates, changed: set[int], first: int
) -> list[SpacingProblem]:
    """The spacing problems a change of the doses `changed` brings (`first` the one the person chose).

    Only problems that the change creates, between a changed dose and its neighbour: a course
    whose other doses already broke a rule is not refused for it. Left to other checks: the
    chosen dose before its own earliest date (`_check_earliest`, same rule, its own sentence),
    and a changed dose late after a dose already given, which is an overdue dose being caught
    up rather than two bookings drifting apart.
    """
    spec = shared_specs()(course.regimen_id)
    options = course.options or {}

    def problems(dates: CourseDates) -> dict[tuple[int, int, bool], SpacingProblem]:
        found = spacing_problems(spec, start_date=course.start_date, dated=dates.dated, options=options)
        return {(item.dose_number, item.neighbour, item.too_soon): item for item in found}

    existing = problems(before)
    new = []
    for key, problem in problems(after).items():
        if (
            key in existing
            and existing[key].date == problem.date
            and existing[key].neighbour_date == (problem.neighbour_date)
        ):
            continue
        if problem.dose_number not in changed and problem.neighbour not in changed:
            continue
        if problem.dose_number == first and problem.too_soon:
            continue
        if problem.dose_number in changed and not problem.too_soon and problem.neighbour in after.given:
            continue
        new.append(problem)
    return new


def spacing_sentence(problem: SpacingProblem, *, changed: set[int], dates: CourseDates, manager: bool = True) -> str:
    """Why a change breaks the spacing, naming the neighbour and what to do instead."""
    if problem.dose_number in changed:
        moved, other = problem.dose_number, problem.neighbour
        moved_day, other_day = problem.date, problem.neighbour_date
    else:
        moved, other = problem.neighbour, problem.dose_number
        moved_day, other_day = problem.neighbour_date, problem.date
    state = "given" if other in dates.given else "booked"
    sentence = (
        f"Dose {other} is {state} on {_day_text(other_day)}; dose {problem.dose_number} must be {problem.rule}, "
        f"so dose {moved} cannot be on {_day_text(moved_day)}."
    )
    if moved == problem.neighbour and state == "booked":
        choices = ["move the later doses with it", "choose another day"]
    elif moved == problem.dose_number and problem.in_block:
        choices = [f"choose a day between {written.day(problem.earliest_date)} and {written.day(problem.latest_date)}"]
    elif moved == problem.dose_number:
        choices = [f"choose a day from {written.day(problem.earliest_date)}"]
    else:
        choices = ["choose another day"]
    if manager:
        choices.append("ask a clinic manager to override with a written reason")
    advice = choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + ", or " + choices[-1]
    advice = advice[0].upper() + advice[1:]
    if not manager:
        return f"{sentence} {advice}; only a clinic manager can override the spacing."
    return f"{sentence} {advice}."


def _check_spacing(
    problems: list[SpacingProblem], *, changed: set[int], dates: CourseDates, user, override_reason: str
) -> list[SpacingProblem]:
    """The problems a manager overrides (to record), or BookingError with the first one's sentence."""
    if not problems:
        return []
    if not override_reason.strip():
        raise BookingError(spacing_sentence(problems[0], changed=changed, dates=dates), code="spacing")
    if not user.has_perm(OVERRIDE_PERMISSION):
        raise BookingError(
            spacing_sentence(problems[0], changed=changed, dates=dates, manager=False), code="override_not_allowed"
        )
    return problems


def _neighbour_check(
    course: TreatmentCourse, *, days: dict[int, date], first: int, today: date, user, override_reason: str
) -> list[SpacingProblem]:
    """Check doses `days` ({dose number: new local day}) against the course's other doses, booked or given.

    Returns the problems a manager overrides with `override_reason`, to record; raises otherwise.
    """
    before = course_dates(course, today=today)
    after = before.with_days(days)
    changed = set(days)
    problems = spacing_changes(course, before=before, after=after, changed=changed, first=first)
    return _check_spacing(problems, changed=changed, dates=after, user=user, override_reason=override_reason)


def _record_spacing_overrides(appointment: Appointment, problems: list[SpacingProblem], *, by, reason: str) -> None:
    for problem in problems:
        _event(
            appointment,
            by=by,
            action=AppointmentEvent.Action.OVERRIDE,
            reason=reason,
            spacing={
                "dose_number": problem.dose_number,
                "date": problem.date.isoformat(),
                "neighbour": problem.neighbour,
                "neighbour_date": problem.neighbour_date.isoformat(),
                "rule": problem.rule,
            },
        )


def _check_slot(
    *, clinic: Clinic, chair: Chair, starts_at: datetime, chair_time: ChairTime, patient_id: int, exclude=()
) -> None:
    problem = slot_problem(
        clinic=clinic,
        chair=chair,
        starts_at=starts_at,
        chair_time=chair_time,
        patient_id=patient_id,
        exclude_appointment_ids=exclude,
    )
    if problem:
        raise BookingError(problem, code="slot_taken")


def _save(appointment: Appointment, *, update_fields: list[str] | None = None) -> None:
    """Save, turning the exclusion constraints' refusal into a sentence."""
    try:
        with transaction.atomic():
            appointment.save(update_fields=update_fields)
    except IntegrityError as error:
        text = str(error)
        when = _describe(appointment.starts_at, appointment.clinic)
        if "appointment_patient_no_overlap" in text:
            raise BookingError(
                f"The patient already has an appointment overlapping {when}. Choose another time.",
                code="patient_taken",
            ) from None
        if "appointment_chair_no_overlap" in text:
            raise BookingError(
                f"{appointment.chair.name} was just booked by someone else for {when}. Choose another slot.",
                code="slot_taken",
            ) from None
        raise


def _event(appointment: Appointment, *, by, action: str, reason: str = "", from_status: str = "", **details):
    return AppointmentEvent.objects.create(
        appointment=appointment,
        by=by if getattr(by, "is_authenticated", False) else None,
        action=action,
        from_status=from_status,
        to_status=appointment.status,
        reason=reason,
        details=details,
    )


def _slot_details(appointment: Appointment) -> dict:
    return {
        "chair_id": appointment.chair_id,
        "chair": appointment.chair.name,
        "starts_at": appointment.starts_at.isoformat(),
        "ends_at": appointment.ends_at.isoformat(),
    }


def _today(clinic: Clinic) -> date:
    return timezone.now().astimezone(clinic.tz).date()


# --- Booking one dose -----------------------------------------------------------------------


def _new_appointment(
    *, course: TreatmentCourse, chair: Chair, starts_at: datetime, dose: PlannedDose, booked_by
) -> Appointment:
    chair_time = dose.chair_time
    return Appointment(
        clinic=course.patient.clinic,
        chair=chair,
        patient=course.patient,
        course=course,
        dose_number=dose.dose_number,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=chair_time.total_minutes),
        premed_minutes=chair_time.premed_minutes,
        infusion_minutes=chair_time.infusion_minutes,
        observation_minutes=chair_time.observation_minutes,
        status=Appointment.Status.BOOKED,
        booked_by=booked_by,
    )


def _record_booking(appointment: Appointment, *, by, dose: PlannedDose, override_reason: str, series=None) -> None:
    _save(appointment)
    details = {**_slot_details(appointment), "dose_number": dose.dose_number, "dose": dose.reason}
    if series:
        details["series"] = series
    _event(appointment, by=by, action=AppointmentEvent.Action.BOOKED, **details)
    if override_reason:
        _event(
            appointment,
            by=by,
            action=AppointmentEvent.Action.OVERRIDE,
            reason=override_reason,
            earliest_date=dose.earliest_date.isoformat(),
        )
    # Its reminders are brought in line by `booking_messages`, which every caller calls after its writes.


def _dose_to_book(course: TreatmentCourse, *, dose_number: int | None, today: date):
    """The course's next dose (neither given nor booked), or dose `dose_number` along its plan."""
    doses = course_doses(course, today=today)
    if dose_number is not None and dose_number in doses.given_dose_numbers():
        raise BookingError(f"Dose {dose_number} has already been given.", code="already_given")
    if dose_number is not None and dose_number in doses.booked_dose_numbers():
        raise BookingError(
            f"Dose {dose_number} is already booked. Reschedule that appointment instead.", code="already_booked"
        )
    dose = doses.next if dose_number is None else planned_dose(course, dose_number, today=today)
    if dose is None:
        raise BookingError("This course has no further dose to book.", code="no_dose")
    return dose


@transaction.atomic
@regimen_specs_shared()
def booking_create(
    *,
    course: TreatmentCourse,
    chair: Chair,
    starts_at: datetime,
    booked_by,
    dose_number: int | None = None,
    override_reason: str = "",
) -> Appointment:
    """Book the course's next dose (or dose `dose_number`) in `chair` from `starts_at`.

    The dose number and chair time come from the dosing rules. A dose before its earliest
    allowed date needs a clinic manager and a written reason, kept on the appointment and
    in its history.
    """
    course = _lock_course(course.pk)
    clinic = course.patient.clinic
    _check_course(course)
    _check_review_hold(course)
    _check_chair(chair, clinic)
    day = _local_day(clinic, starts_at)
    lock_clinic_days(clinic, [day])
    today = _today(clinic)
    dose = _dose_to_book(course, dose_number=dose_number, today=today)
    override_reason = override_reason.strip()
    overridden = _check_earliest(dose=dose, day=day, user=booked_by, override_reason=override_reason)
    spacing = _neighbour_check(
        course,
        days={dose.dose_number: day},
        first=dose.dose_number,
        today=today,
        user=booked_by,
        override_reason=override_reason,
    )
    _check_chair_time(dose.chair_time, regimen=course.regimen, dose_number=dose.dose_number)
    _check_slot(
        clinic=clinic, chair=chair, starts_at=starts_at, chair_time=dose.chair_time, patient_id=course.patient_id
    )
    appointment = _new_appointment(course=course, chair=chair, starts_at=starts_at, dose=dose, booked_by=booked_by)
    if overridden:
        appointment.early_override_reason = override_reason
        appointment.early_override_by = booked_by
    _record_booking(appointment, by=booked_by, dose=dose, override_reason=override_reason if overridden else "")
    _record_spacing_overrides(appointment, spacing, by=booked_by, reason=override_reason)
    booking_messages(kind=Reminder.Kind.BOOKING_CONFIRMED, appointments=[appointment])
    return appointment


def booking_problem(
    *, course: TreatmentCourse, chair: Chair, starts_at: datetime, appointment: Appointment | None = None
) -> str:
    """Why booking the course's next dose (or moving its booked `appointment`) to this chair and start
    would be refused, in the sentence the service would give; "" when it would go through.

    The same checks as `booking_create` and `booking_reschedule` with no override, read without
    their locks and writing nothing: for offering a time before anyone accepts it. The service
    checks again under its locks when the offer is taken.
    """
    clinic = course.patient.clinic
    try:
        _check_chair(chair, clinic)
        day = _local_day(clinic, starts_at)
        today = _today(clinic)
        if appointment is None:
            _check_course(course)
            _check_review_hold(course)
            dose = _dose_to_book(course, dose_number=None, today=today)
            chair_time, exclude = dose.chair_time, ()
            _check_chair_time(chair_time, regimen=course.regimen, dose_number=dose.dose_number)
        else:
            if appointment.status != Appointment.Status.BOOKED:
                return "This appointment is no longer booked."
            dose = planned_dose(course, appointment.dose_number, today=today, exclude_appointment_id=appointment.pk)
            chair_time, exclude = _appointment_chair_time(appointment), (appointment.pk,)
        number = dose.dose_number if dose else appointment.dose_number
        if dose is not None:
            _check_earliest(dose=dose, day=day, user=None, override_reason="")
        _neighbour_check(course, days={number: day}, first=number, today=today, user=None, override_reason="")
        _check_slot(
            clinic=clinic,
            chair=chair,
            starts_at=starts_at,
            chair_time=chair_time,
            patient_id=course.patient_id,
            exclude=exclude,
        )
    except BookingError as error:
        return error.message
    return ""


# --- Booking a series -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesItem:
    dose: PlannedDose
    chair: Chair
    starts_at: datetime

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.dose.chair_time.total_minutes)


def series_doses(course: TreatmentCourse, *, today: date | None = None) -> list[PlannedDose]:
    """The doses of the block that starts with the course's next dose (empty when it starts no series)."""
    clinic = course.patient.clinic
    today = today or _today(clinic)
    first = course_doses(course, today=today).next
    if first is None or first.block_size < 2 or first.dose_in_block != 1:
        return []
    return list(course_doses(course, today=today, plan_length=first.block_size).plan)


@dataclass(frozen=True)
class _Leg:
    """One visit of a multi-day plan: its chair time and the time wanted on its day."""

    chair_time: ChairTime
    wanted: datetime


@dataclass(frozen=True)
class _Placed:
    chair: Chair | None
    starts_at: datetime | None
    problem: str = ""  # why the leg's day has no place, when chair is None


def _day_candidates(*, clinic: Clinic, leg: _Leg, patient_id: int, exclude, chairs: dict[int, Chair]):
    """{chair id: its start that day nearest the wanted time}, or the day's reason when none fits."""
    day = leg.wanted.astimezone(clinic.tz).date()
    found = find_slots(
        clinic=clinic,
        chair_time=leg.chair_time,
        start=day,
        end=day,
        patient_id=patient_id,
        exclude_appointment_ids=exclude,
    )
    best: dict[int, datetime] = {}
    for slot in found.slots:
        if slot.chair_id not in chairs:
            continue
        current = best.get(slot.chair_id)
        distance = abs(slot.starts_at - leg.wanted)
        if current is None or distance < abs(current - leg.wanted):
            best[slot.chair_id] = slot.starts_at
    reason = found.days[0].reason if found.days else "No slot fits."
    return best, reason or "No slot fits."


def _place_legs(
    *, clinic: Clinic, patient_id: int, chair: Chair, legs: list[_Leg], exclude=(), first_fixed: bool = True
) -> list[_Placed]:
    """Where each leg goes: one chair all days when one is free, else the fewest chair changes.

    The first leg keeps its wanted time (the start the person chose), in `chair` when it is
    free, else in another chair free then. Among plans with as few chair changes as possible,
    the one with the fewest visits away from their wanted time, then the nearest to it, then
    the most days in `chair`, then the chairs in their order on the floor. A leg whose day has
    no place at all gets its reason and no chair; the plan goes on around it.
    """
    chairs = {item.pk: item for item in Chair.objects.filter(clinic=clinic, active=True).order_by("position", "pk")}
    order = [chair.pk] + [pk for pk in chairs if pk != chair.pk]
    days: list[dict[int, datetime] | str] = []
    for index, leg in enumerate(legs):
        best, reason = _day_candidates(clinic=clinic, leg=leg, patient_id=patient_id, exclude=exclude, chairs=chairs)
        if index == 0 and first_fixed:
            best = {pk: moment for pk, moment in best.items() if moment == leg.wanted}
            if not best:
                reason = (
                    slot_problem(
                        clinic=clinic,
                        chair=chair,
                        starts_at=leg.wanted,
                        chair_time=leg.chair_time,
                        patient_id=patient_id,
                        exclude_appointment_ids=exclude,
                    )
                    or reason
                )
        days.append(best or reason)
    # Cost of a plan so far, compared as a tuple: chair changes, visits off their wanted time,
    # minutes off it, days not in the chosen chair, then the chairs' places on the floor.
    plans: dict[int | None, tuple[tuple, list[int | None]]] = {None: ((0, 0, 0, 0, 0), [])}
    for leg, options in zip(legs, days, strict=True):
        if isinstance(options, str):
            plans = {last: (cost, [*path, None]) for last, (cost, path) in plans.items()}
            continue
        step: dict[int | None, tuple[tuple, list[int | None]]] = {}
        for pk in order:
            if pk not in options:
                continue
            off = abs(options[pk] - leg.wanted)
            for last, (cost, path) in plans.items():
                changes, away, minutes_off, other_chair, rank = cost
                candidate = (
                    changes + (last is not None and last != pk),
                    away + (off > timedelta(0)),
                    minutes_off + int(off.total_seconds() // 60),
                    other_chair + (pk != chair.pk),
                    rank + order.index(pk),
                )
                if pk not in step or candidate < step[pk][0]:
                    step[pk] = (candidate, [*path, pk])
        plans = step or plans
    _cost, path = min(plans.values(), key=lambda plan: plan[0])
    placed = []
    for options, pk in zip(days, path, strict=True):
        if isinstance(options, str) or pk is None:
            placed.append(_Placed(None, None, options if isinstance(options, str) else "No slot fits."))
        else:
            placed.append(_Placed(chairs[pk], options[pk]))
    return placed


def series_plan(
    *, course: TreatmentCourse, chair: Chair, starts_at: datetime, doses: list[PlannedDose] | None = None
) -> list[SeriesItem]:
    """Where each dose of the series goes: one chair all days when one is free, at the chosen time where possible.

    The first dose goes at `starts_at`, in `chair` or, when another chair is free then and on
    every later day, that one; otherwise the fewest chair changes. Raises BookingError naming
    the first day that cannot take its dose; nothing is booked then.
    """
    clinic = course.patient.clinic
    doses = doses if doses is not None else series_doses(course)
    if not doses:
        raise BookingError(
            "The next dose does not start a series (an initiation or a Lemtrada course). Book it on its own.",
            code="no_series",
        )
    for dose in doses:
        _check_chair_time(dose.chair_time, regimen=course.regimen, dose_number=dose.dose_number)
    tz = clinic.tz
    local_start = starts_at.astimezone(tz)
    first_day = local_start.date()
    legs = []
    for dose in doses:
        day = first_day + (dose.target_date - doses[0].target_date)
        legs.append(_Leg(dose.chair_time, datetime.combine(day, local_start.timetz().replace(tzinfo=None), tzinfo=tz)))
    placed = _place_legs(clinic=clinic, patient_id=course.patient_id, chair=chair, legs=legs)
    items: list[SeriesItem] = []
    for index, (dose, leg, place) in enumerate(zip(doses, legs, placed, strict=True)):
        if place.chair is None or place.starts_at is None:
            if index == 0:
                raise BookingError(f"The series cannot start there: {place.problem}", code="slot_taken")
            day = leg.wanted.astimezone(tz).date()
            label = f"dose {dose.dose_number} ({written.day(day)}, day {dose.dose_in_block} of {dose.block_size})"
            raise BookingError(
                f"The series was not booked: {label} has no place. {place.problem} Nothing was booked; choose "
                "another start day.",
                code="series_day_full",
            )
        items.append(SeriesItem(dose, place.chair, place.starts_at))
    return items


@transaction.atomic
@regimen_specs_shared()
def booking_create_series(
    *,
    course: TreatmentCourse,
    chair: Chair,
    starts_at: datetime,
    booked_by,
    override_reason: str = "",
) -> list[Appointment]:
    """Book every dose of a series in one go, all or nothing.

    Ocrevus or Briumvi initiation (two doses 14 days apart) or a Lemtrada course (5 or 3
    consecutive days): the same chair and time each day where possible.
    """
    course = _lock_course(course.pk)
    clinic = course.patient.clinic
    _check_course(course)
    _check_review_hold(course)
    _check_chair(chair, clinic)
    today = _today(clinic)
    doses = series_doses(course, today=today)
    if not doses:
        raise BookingError(
            "The next dose does not start a series (an initiation or a Lemtrada course). Book it on its own.",
            code="no_series",
        )
    first_day = _local_day(clinic, starts_at)
    lock_clinic_days(clinic, [first_day + (dose.target_date - doses[0].target_date) for dose in doses])
    _dose_to_book(course, dose_number=doses[0].dose_number, today=today)
    override_reason = override_reason.strip()
    overridden = _check_earliest(dose=doses[0], day=first_day, user=booked_by, override_reason=override_reason)
    items = series_plan(course=course, chair=chair, starts_at=starts_at, doses=doses)
    spacing = _neighbour_check(
        course,
        days={item.dose.dose_number: _local_day(clinic, item.starts_at) for item in items},
        first=doses[0].dose_number,
        today=today,
        user=booked_by,
        override_reason=override_reason,
    )
    appointments = []
    for index, item in enumerate(items):
        appointment = _new_appointment(
            course=course, chair=item.chair, starts_at=item.starts_at, dose=item.dose, booked_by=booked_by
        )
        if overridden:
            appointment.early_override_reason = override_reason
            appointment.early_override_by = booked_by
        _record_booking(
            appointment,
            by=booked_by,
            dose=item.dose,
            override_reason=override_reason if overridden and index == 0 else "",
            series={"day": index + 1, "of": len(items)},
        )
        appointments.append(appointment)
    if spacing:
        _record_spacing_overrides(appointments[0], spacing, by=booked_by, reason=override_reason)
    booking_messages(kind=Reminder.Kind.BOOKING_CONFIRMED, appointments=appointments)
    return appointments


# --- Changes ----------------------------------------------------------------------------------


@transaction.atomic
@regimen_specs_shared()
def booking_reschedule(
    *,
    appointment: Appointment,
    chair: Chair,
    starts_at: datetime,
    by,
    reason: str = "",
    override_reason: str = "",
) -> Appointment:
    """Move a booked appointment to another chair or time; it keeps its dose and its history."""
    course = _lock_course(appointment.course_id)
    appointment = lock_appointment(appointment.pk)
    clinic = appointment.clinic
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(
            f"This appointment is {appointment.get_status_display().lower()}; only a booked appointment can be moved.",
            code="not_booked",
        )
    _check_chair(chair, clinic)
    day = _local_day(clinic, starts_at)
    lock_clinic_days(clinic, [day])
    today = _today(clinic)
    dose = planned_dose(course, appointment.dose_number, today=today, exclude_appointment_id=appointment.pk)
    override_reason = override_reason.strip()
    overridden = bool(dose) and _check_earliest(dose=dose, day=day, user=by, override_reason=override_reason)
    spacing = _neighbour_check(
        course,
        days={appointment.dose_number: day},
        first=appointment.dose_number,
        today=today,
        user=by,
        override_reason=override_reason,
    )
    chair_time = ChairTime(appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes)
    if chair_time.total_minutes <= 0:
        # A row written around the services; its parts may be empty, only the whole must not.
        _check_chair_time(chair_time, regimen=course.regimen, dose_number=appointment.dose_number)
    _check_slot(
        clinic=clinic,
        chair=chair,
        starts_at=starts_at,
        chair_time=chair_time,
        patient_id=appointment.patient_id,
        exclude=[appointment.pk],
    )
    before = _slot_details(appointment)
    appointment.chair = chair
    appointment.starts_at = starts_at
    appointment.ends_at = starts_at + timedelta(minutes=chair_time.total_minutes)
    fields = ["chair", "starts_at", "ends_at"]
    if overridden:
        appointment.early_override_reason = override_reason
        appointment.early_override_by = by
        fields += ["early_override_reason", "early_override_by"]
    _save(appointment, update_fields=fields)
    _event(
        appointment,
        by=by,
        action=AppointmentEvent.Action.RESCHEDULED,
        reason=reason.strip(),
        from_status=appointment.status,
        previous=before,
        **_slot_details(appointment),
    )
    if overridden:
        _event(
            appointment,
            by=by,
            action=AppointmentEvent.Action.OVERRIDE,
            reason=override_reason,
            earliest_date=dose.earliest_date.isoformat(),
        )
    _record_spacing_overrides(appointment, spacing, by=by, reason=override_reason)
    booking_messages(kind=Reminder.Kind.APPOINTMENT_MOVED, appointments=[appointment])  # its reminders too
    return appointment


# --- Moving a dose and the doses after it --------------------------------------------------------


@dataclass(frozen=True)
class DoseMove:
    """One appointment of a move together: where it would go, or why it cannot."""

    appointment: Appointment
    chair: Chair | None
    starts_at: datetime | None
    problem: str = ""

    @property
    def ends_at(self) -> datetime | None:
        if self.starts_at is None:
            return None
        return self.starts_at + timedelta(minutes=_appointment_chair_time(self.appointment).total_minutes)


def _appointment_chair_time(appointment: Appointment) -> ChairTime:
    return ChairTime(appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes)


def later_booked_doses(appointment: Appointment):
    """The booked appointments of the same course for the doses after this one, in dose order."""
    return (
        Appointment.objects.filter(
            course_id=appointment.course_id, status=Appointment.Status.BOOKED, dose_number__gt=appointment.dose_number
        )
        .select_related("chair", "clinic")
        .order_by("dose_number", "starts_at")
    )


def series_move_preview(
    *, appointment: Appointment, chair: Chair, starts_at: datetime, later: list[Appointment] | None = None
) -> list[DoseMove]:
    """Moving `appointment` to (`chair`, `starts_at`) with the booked doses after it, nothing written.

    Each later dose moves by the same number of days, at its own time of day, all in one
    chair when one is free (the chosen one first), else the fewest chair changes. A move that
    does not fit carries its sentence: its day has no place, or it breaks the spacing.
    """
    clinic = appointment.clinic
    tz = clinic.tz
    later = list(later_booked_doses(appointment)) if later is None else later
    shift = _local_day(clinic, starts_at) - appointment.starts_at.astimezone(tz).date()
    moving = [appointment, *later]
    legs = [_Leg(_appointment_chair_time(appointment), starts_at)]
    for item in later:
        local = item.starts_at.astimezone(tz)
        wanted = datetime.combine(local.date() + shift, local.timetz().replace(tzinfo=None), tzinfo=tz)
        legs.append(_Leg(_appointment_chair_time(item), wanted))
    placed = _place_legs(
        clinic=clinic,
        patient_id=appointment.patient_id,
        chair=chair,
        legs=legs,
        exclude=[item.pk for item in moving],
    )
    moves = [
        DoseMove(item, place.chair, place.starts_at, place.problem) for item, place in zip(moving, placed, strict=True)
    ]
    course = appointment.course
    today = _today(clinic)
    dose = planned_dose(course, appointment.dose_number, today=today, exclude_appointment_id=appointment.pk)
    problems: dict[int, str] = {}
    if dose is not None and _local_day(clinic, starts_at) < dose.earliest_date:
        problems[appointment.dose_number] = (
            f"Too early: dose {dose.dose_number} may not be given before {written.day(dose.earliest_date)}."
        )
    days = {move.appointment.dose_number: _local_day(clinic, move.starts_at) for move in moves if move.starts_at}
    before = course_dates(course, today=today)
    after = before.with_days(days)
    changed = set(days)
    for problem in spacing_changes(course, before=before, after=after, changed=changed, first=appointment.dose_number):
        number = problem.dose_number if problem.dose_number in changed else problem.neighbour
        problems.setdefault(number, spacing_sentence(problem, changed=changed, dates=after))
    return [
        move
        if move.problem or move.appointment.dose_number not in problems
        else DoseMove(move.appointment, move.chair, move.starts_at, problems[move.appointment.dose_number])
        for move in moves
    ]


def reschedule_spacing_problem(appointment: Appointment, *, starts_at: datetime) -> str:
    """Why moving this dose alone to `starts_at` breaks the spacing with its neighbours, or ""."""
    clinic = appointment.clinic
    course = appointment.course
    before = course_dates(course, today=_today(clinic))
    number = appointment.dose_number
    after = before.with_days({number: _local_day(clinic, starts_at)})
    problems = spacing_changes(course, before=before, after=after, changed={number}, first=number)
    return spacing_sentence(problems[0], changed={number}, dates=after) if problems else ""


@transaction.atomic
@regimen_specs_shared()
def booking_reschedule_series(
    *,
    appointment: Appointment,
    chair: Chair,
    starts_at: datetime,
    by,
    reason: str = "",
    override_reason: str = "",
) -> list[Appointment]:
    """Move a booked dose and the booked doses after it in its course together, all or nothing.

    The plan is `series_move_preview`'s, made again under the locks: every move goes through
    the same checks as one reschedule (chair and patient free, opening hours, nurse rules,
    the earliest date and the spacing between doses, a manager's override with a reason).
    """
    course = _lock_course(appointment.course_id)
    appointment = lock_appointment(appointment.pk)
    clinic = appointment.clinic
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(
            f"This appointment is {appointment.get_status_display().lower()}; only a booked appointment can be moved.",
            code="not_booked",
        )
    _check_chair(chair, clinic)
    later = [lock_appointment(item.pk) for item in later_booked_doses(appointment)]
    tz = clinic.tz
    shift = _local_day(clinic, starts_at) - appointment.starts_at.astimezone(tz).date()
    old_days = [item.starts_at.astimezone(tz).date() for item in (appointment, *later)]
    lock_clinic_days(clinic, [*old_days, *(day + shift for day in old_days)])
    moves = series_move_preview(appointment=appointment, chair=chair, starts_at=starts_at, later=later)
    for move in moves:
        if move.chair is None or move.starts_at is None:
            raise BookingError(
                f"Nothing was moved: dose {move.appointment.dose_number} has no place on its new day. {move.problem} "
                "Choose another day for the first dose.",
                code="series_day_full",
            )
    today = _today(clinic)
    override_reason = override_reason.strip()
    dose = planned_dose(course, appointment.dose_number, today=today, exclude_appointment_id=appointment.pk)
    day = _local_day(clinic, starts_at)
    overridden = bool(dose) and _check_earliest(dose=dose, day=day, user=by, override_reason=override_reason)
    spacing = _neighbour_check(
        course,
        days={move.appointment.dose_number: _local_day(clinic, move.starts_at) for move in moves},
        first=appointment.dose_number,
        today=today,
        user=by,
        override_reason=override_reason,
    )
    # Moved later, the last dose goes first (and earlier, the first), so no dose lands on a
    # place another of them still holds.
    ordered = list(reversed(moves)) if shift.days > 0 else moves
    moved = {}
    for move in ordered:
        item = move.appointment
        before = _slot_details(item)
        item.chair = move.chair
        item.starts_at = move.starts_at
        item.ends_at = move.ends_at
        fields = ["chair", "starts_at", "ends_at"]
        if overridden and item.pk == appointment.pk:
            item.early_override_reason = override_reason
            item.early_override_by = by
            fields += ["early_override_reason", "early_override_by"]
        _save(item, update_fields=fields)
        _event(
            item,
            by=by,
            action=AppointmentEvent.Action.RESCHEDULED,
            reason=reason.strip(),
            from_status=item.status,
            previous=before,
            moved_with_dose=appointment.dose_number,
            **_slot_details(item),
        )
        appointment_reminders_sync(appointment=item)
        moved[item.pk] = item
    if overridden:
        _event(
            appointment,
            by=by,
            action=AppointmentEvent.Action.OVERRIDE,
            reason=override_reason,
            earliest_date=dose.earliest_date.isoformat(),
        )
    _record_spacing_overrides(appointment, spacing, by=by, reason=override_reason)
    booking_messages(kind=Reminder.Kind.APPOINTMENT_MOVED, appointments=list(moved.values()))
    return [moved[move.appointment.pk] for move in moves]


def cancel_consequences(appointment: Appointment) -> list[str]:
    """What happens to the course's later booked doses when this one is cancelled, one sentence each."""
    clinic = appointment.clinic
    sentences = []
    for item in later_booked_doses(appointment):
        sentences.append(
            f"Dose {item.dose_number} stays booked on {_describe(item.starts_at, clinic)} in {item.chair.name}; "
            f"it is planned from dose {appointment.dose_number}, so check it or rebook it once dose "
            f"{appointment.dose_number} is given."
        )
    return sentences


@transaction.atomic
@regimen_specs_shared()
def booking_cancel(*, appointment: Appointment, by, reason: str, with_later_doses: bool = False) -> Appointment:
    """Cancel an appointment that has not started; the chair is free at once, the row stays.

    With `with_later_doses`, the booked doses after it in the same course are cancelled too,
    for the same reason.
    """
    reason = (reason or "").strip()
    if not reason:
        raise BookingError("Write why the appointment is cancelled; the reason is kept in its history.")
    if with_later_doses:
        _lock_course(appointment.course_id)
        later = [item.pk for item in later_booked_doses(appointment)]
        cancelled = _cancel_one(appointment.pk, by=by, reason=reason)
        others = [
            _cancel_one(pk, by=by, reason=f"{reason} (cancelled with dose {cancelled.dose_number})") for pk in later
        ]
        booking_messages(kind=Reminder.Kind.APPOINTMENT_CANCELLED, appointments=[cancelled, *others])
        return cancelled
    cancelled = _cancel_one(appointment.pk, by=by, reason=reason)
    booking_messages(kind=Reminder.Kind.APPOINTMENT_CANCELLED, appointments=[cancelled])
    return cancelled


def _cancel_one(appointment_id: int, *, by, reason: str) -> Appointment:
    appointment = lock_appointment(appointment_id)
    if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.ARRIVED):
        raise BookingError(
            f"This appointment is {appointment.get_status_display().lower()} and can no longer be cancelled.",
            code="not_cancellable",
        )
    previous = appointment.status
    appointment.status = Appointment.Status.CANCELLED
    appointment.save(update_fields=["status"])
    _event(
        appointment,
        by=by,
        action=AppointmentEvent.Action.CANCELLED,
        reason=reason,
        from_status=previous,
        **_slot_details(appointment),
    )
    # Its reminders are brought in line by `booking_messages`, which `booking_cancel` calls after its writes.
    return appointment


@transaction.atomic
@regimen_specs_shared()
def booking_mark_no_show(*, appointment: Appointment, by) -> Appointment:
    """Record that the patient did not come; the chair is free again for the rest of the visit."""
    appointment = lock_appointment(appointment.pk)
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingError(
            f"This appointment is {appointment.get_status_display().lower()}; only a booked appointment can be "
            "marked as a no-show.",
            code="not_booked",
        )
    if appointment.starts_at > timezone.now():
        raise BookingError(
            f"The appointment starts {_describe(appointment.starts_at, appointment.clinic)}. Mark a no-show once "
            "its start time has passed, or cancel it.",
            code="not_started",
        )
    previous = appointment.status
    appointment.status = Appointment.Status.NO_SHOW
    appointment.save(update_fields=["status"])
    _event(appointment, by=by, action=AppointmentEvent.Action.STATUS, from_status=previous)
    appointment_reminders_sync(appointment=appointment)
    return appointment
