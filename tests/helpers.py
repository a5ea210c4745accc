"""Helpers the test modules share: the cast of clinics and staff, local times, courses and bookings.

Bookings here are rows written straight to the table (`book_directly`), or rows with their
reminders synced as the booking service would leave them (`book`): they set up a day, they
check no booking rule. The booking rules themselves are tested through the services.
"""

from __future__ import annotations

import socket
from datetime import date, datetime, time, timedelta
from importlib import import_module

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from clinic.models import Clinic, Regimen, StaffProfile
from scheduling.models import Appointment, VisitCheck
from scheduling.reminders.outbox import appointment_reminders_sync
from scheduling.roster.checklists import visit_checklist
from tests.factories import AppointmentFactory, ClinicFactory, PatientFactory, TreatmentCourseFactory

DEMO_PASSWORD = "chairside-test-pw"  # noqa: S105 - test users only


# --- The cast --------------------------------------------------------------------------------


def make_clinic(name: str, time_zone: str = "Europe/London", chairs: int = 6, nurses: int = 2, **fields) -> Clinic:
    """A clinic open 08:00-18:00 Monday to Friday, `nurses` on duty each day, `chairs` chairs.

    Two-step sign-in is not required of its managers unless asked for
    (`require_mfa_for_managers=True`), so the cast signs in with a password alone; a real clinic
    requires it by default, and tests/accounts checks that.
    """
    fields.setdefault("require_mfa_for_managers", False)
    return ClinicFactory(name=name, time_zone=time_zone, chairs=chairs, nurses=nurses, **fields)


def make_staff(username: str, role: str | None, *clinics: Clinic, **fields):
    """A staff member of `clinics` in the role's group, who logs in with DEMO_PASSWORD."""
    user = get_user_model().objects.create_user(username=username, password=DEMO_PASSWORD, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    profile = StaffProfile.objects.create(user=user)
    profile.clinics.set(clinics)
    return user


def ensure_formulary() -> None:
    """Seed the regimens again if a transactional test elsewhere flushed them (the seed is idempotent)."""
    if not Regimen.objects.filter(code="ocrevus").exists():
        import_module("clinic.migrations.0003_seed_regimens").seed(django_apps, None)
        import_module("clinic.migrations.0007_seed_therapy_classes").fill(django_apps, None)
        import_module("clinic.migrations.0008_clinic_country_programme_names").fill(django_apps, None)
        import_module("clinic.migrations.0009_regimen_checks").seed(django_apps, None)
        import_module("clinic.migrations.0010_rate_steps").seed(django_apps, None)


# --- Time ------------------------------------------------------------------------------------


def local(clinic, *when) -> datetime:
    """A moment on the clinic's wall clock.

    Either a day and a clock time, `local(clinic, day, 9)` or `local(clinic, day, 9, 30)`, or
    the parts of a datetime, `local(clinic, 2027, 3, 17, 10, 30)`.
    """
    if isinstance(when[0], date):
        day, *clock = when
        return datetime.combine(day, time(*clock), tzinfo=clinic.tz)
    return datetime(*when, tzinfo=clinic.tz)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Courses and bookings --------------------------------------------------------------------


def make_course(
    clinic,
    regimen: str = "ocrevus",
    start: date = date(2027, 1, 4),
    options=None,
    *,
    authorization_expires_on: date | None = None,
    **patient,
):
    """A new patient of the clinic (`patient` are their fields) on the regimen from `start`."""
    return TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic, **patient),
        regimen=Regimen.objects.get(code=regimen),
        start_date=start,
        options=options or {},
        authorization_expires_on=authorization_expires_on,
    )


def free_chair(clinic, starts_at: datetime, ends_at: datetime):
    """The clinic's first chair with no active appointment between the two moments."""
    busy = Appointment.objects.active().overlapping(starts_at, ends_at).values("chair")
    return clinic.chairs.exclude(pk__in=busy).order_by("position").first()


def book_directly(
    *,
    course,
    starts_at: datetime,
    chair=None,
    dose_number: int = 1,
    minutes: int = 210,
    premed: int = 0,
    infusion: int | None = None,
    observation: int = 0,
    status=Appointment.Status.BOOKED,
    **fields,
) -> Appointment:
    """An appointment row written straight to the table: no rule checked, no reminder written.

    The chair time is `minutes` in all, `premed` and `observation` of them the parts around
    the infusion; or, with `infusion`, the three parts added up. Without a chair, the first
    one free in the patient's clinic.
    """
    if infusion is None:
        infusion = minutes - premed - observation
    ends_at = starts_at + timedelta(minutes=premed + infusion + observation)
    if chair is None:
        chair = free_chair(course.patient.clinic, starts_at, ends_at)
    return AppointmentFactory(
        chair=chair,
        course=course,
        dose_number=dose_number,
        starts_at=starts_at,
        ends_at=ends_at,
        premed_minutes=premed,
        infusion_minutes=infusion,
        observation_minutes=observation,
        status=status,
        **fields,
    )


def book(course, starts_at: datetime, *, dose_number: int = 1, minutes: int = 240, **options) -> Appointment:
    """An appointment as the booking service leaves it: the row, then its reminders synced."""
    appointment = book_directly(course=course, starts_at=starts_at, dose_number=dose_number, minutes=minutes, **options)
    appointment_reminders_sync(appointment=appointment)
    return appointment


def change(appointment, **fields):
    """Change fields of an appointment and bring its reminders in line, as a service would."""
    for name, value in fields.items():
        setattr(appointment, name, value)
    appointment.save()
    appointment_reminders_sync(appointment=appointment)
    return appointment


def give(course, day: date, *, dose_number: int = 1, hour: int = 10) -> Appointment:
    """A dose given: a completed two-hour appointment at `hour` local on `day`."""
    starts_at = local(course.patient.clinic, day, hour)
    return book_directly(
        course=course, starts_at=starts_at, dose_number=dose_number, minutes=120, status=Appointment.Status.COMPLETED
    )


def tick_all_checks(appointment: Appointment, *, by, at: datetime | None = None) -> list[VisitCheck]:
    """Every open item of the visit's checks before the needle, ticked by `by`: rows written straight, no rule checked.

    For tests about something else than the checklist, whose visits must be allowed to start
    their infusion; an authorization that has expired still blocks it (that is not a tick).
    """
    at = at or appointment.starts_at
    return [
        VisitCheck.objects.create(appointment=appointment, regimen_check_id=item.check_id, ticked_by=by, ticked_at=at)
        for item in visit_checklist(appointment).open_items
    ]


def admin_form_data(response) -> dict:
    """The admin change form as the browser would send it back, inlines and management forms included."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data: dict = {}
    for form in forms:
        for name in form.fields:
            bound = form[name]
            value = bound.value()
            if value is None or value is False:
                continue
            if value is True:
                data[bound.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(item) for item in value]
            elif isinstance(value, time):
                data[bound.html_name] = value.strftime("%H:%M")
            else:
                data[bound.html_name] = str(value)
    return data
