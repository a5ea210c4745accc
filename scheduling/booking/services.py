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

from clinic.dosing import ChairTime, PlannedDose, format_day
from clinic.models import Chair, Clinic
from patients.models import TreatmentCourse
from scheduling.availability.search import find_slots, slot_problem
from scheduling.doses import course_doses, planned_dose
from scheduling.models import Appointment, AppointmentEvent
from scheduling.reminders.outbox import appointment_reminders_sync

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


def _lock_row(model, pk: int, what: str) -> None:
    """Lock one row by its primary key alone until the transaction ends (no join: see the module's docstring).

    `order_by()` matters: Appointment's default ordering goes through the chair, a join too.
    """
    if not list(model.objects.select_for_update().filter(pk=pk).order_by().values_list("pk", flat=True)):
        # Rows are never deleted; should one be missing under the lock all the same, the person
        # reads a sentence rather than an error page.
        raise BookingError(
            f"This {what} was changed by someone else at the same moment. Open it again, check it and try again.",
            code="changed_meanwhile",
        )


def _lock_course(course_id: int) -> TreatmentCourse:
    """The course row, locked, then loaded with its patient, clinic and regimen."""
    _lock_row(TreatmentCourse, course_id, "treatment course")
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
    local = appointment_or_time.astimezone(clinic.tz)
    return f"{local:%a} {format_day(local.date())} at {local:%H:%M}"


def _check_course(course: TreatmentCourse) -> None:
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise BookingError(
            f"This treatment course is {course.get_status_display().lower()}. Make it active before booking a dose.",
            code="course_inactive",
        )


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
        "be booked. Ask a clinic manager to fix the regimen's chair times in Clinic settings.",
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
            f"Too early: dose {dose.dose_number} may not be given before {format_day(dose.earliest_date)} "
            f"({dose.reason}). Choose a day from {format_day(dose.earliest_date)}, or ask a clinic manager "
            "to override with a written reason.",
            code="too_early",
        )
    if not user.has_perm(OVERRIDE_PERMISSION):
        raise BookingError(
            f"Only a clinic manager can book dose {dose.dose_number} before {format_day(dose.earliest_date)}. "
            f"Choose a day from {format_day(dose.earliest_date)}, or ask a clinic manager.",
            code="override_not_allowed",
        )
    return True


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
    appointment_reminders_sync(appointment=appointment)


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
    _check_chair(chair, clinic)
    day = _local_day(clinic, starts_at)
    lock_clinic_days(clinic, [day])
    dose = _dose_to_book(course, dose_number=dose_number, today=_today(clinic))
    override_reason = override_reason.strip()
    overridden = _check_earliest(dose=dose, day=day, user=booked_by, override_reason=override_reason)
    _check_chair_time(dose.chair_time, regimen=course.regimen, dose_number=dose.dose_number)
    _check_slot(
        clinic=clinic, chair=chair, starts_at=starts_at, chair_time=dose.chair_time, patient_id=course.patient_id
    )
    appointment = _new_appointment(course=course, chair=chair, starts_at=starts_at, dose=dose, booked_by=booked_by)
    if overridden:
        appointment.early_override_reason = override_reason
        appointment.early_override_by = booked_by
    _record_booking(appointment, by=booked_by, dose=dose, override_reason=override_reason if overridden else "")
    return appointment


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


def series_plan(
    *, course: TreatmentCourse, chair: Chair, starts_at: datetime, doses: list[PlannedDose] | None = None
) -> list[SeriesItem]:
    """Where each dose of the series goes: same time and chair where possible, else the best fit that day.

    Raises BookingError naming the first day that cannot take its dose; nothing is booked then.
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
    items: list[SeriesItem] = []
    preferred = chair
    for index, dose in enumerate(doses):
        day = first_day + (dose.target_date - doses[0].target_date)
        wanted = datetime.combine(day, local_start.timetz().replace(tzinfo=None), tzinfo=tz)
        label = f"dose {dose.dose_number} ({format_day(day)}, day {dose.dose_in_block} of {dose.block_size})"
        problem = slot_problem(
            clinic=clinic,
            chair=preferred,
            starts_at=wanted,
            chair_time=dose.chair_time,
            patient_id=course.patient_id,
        )
        if problem is None:
            items.append(SeriesItem(dose, preferred, wanted))
            continue
        if index == 0:
            raise BookingError(f"The series cannot start there: {problem}", code="slot_taken")
        found = find_slots(clinic=clinic, chair_time=dose.chair_time, start=day, end=day, patient_id=course.patient_id)
        if not found.slots:
            reason = found.days[0].reason if found.days else "no slot fits"
            raise BookingError(
                f"The series was not booked: {label} has no place. {reason} Nothing was booked; choose another "
                "start day.",
                code="series_day_full",
            )
        same_time = [slot for slot in found.slots if slot.starts_at == wanted]
        same_chair = [slot for slot in found.slots if slot.chair_id == preferred.pk]
        best = (same_time or same_chair or found.slots)[0]
        best_chair = preferred if best.chair_id == preferred.pk else Chair.objects.get(pk=best.chair_id)
        items.append(SeriesItem(dose, best_chair, best.starts_at))
    return items


@transaction.atomic
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
    return appointments


# --- Changes ----------------------------------------------------------------------------------


@transaction.atomic
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
    dose = planned_dose(course, appointment.dose_number, today=_today(clinic), exclude_appointment_id=appointment.pk)
    override_reason = override_reason.strip()
    overridden = bool(dose) and _check_earliest(dose=dose, day=day, user=by, override_reason=override_reason)
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
    appointment_reminders_sync(appointment=appointment)
    return appointment


@transaction.atomic
def booking_cancel(*, appointment: Appointment, by, reason: str) -> Appointment:
    """Cancel an appointment that has not started; the chair is free at once, the row stays."""
    reason = (reason or "").strip()
    if not reason:
        raise BookingError("Write why the appointment is cancelled; the reason is kept in its history.")
    appointment = lock_appointment(appointment.pk)
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
    appointment_reminders_sync(appointment=appointment)
    return appointment


@transaction.atomic
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
