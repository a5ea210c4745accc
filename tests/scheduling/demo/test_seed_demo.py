"""`manage.py seed_demo`: a believable demo that keeps every booking rule, built once.

Built at a weekday morning in London (04:40 in New York) with the clock frozen there;
`test_demo_moments` builds it at the other moments the demo must look busy at.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from clinic.dosing import DoseStatus, GivenDose, local_date, next_dose
from clinic.models import Chair, Clinic, Closure, NurseStaffing, OpeningHours, Regimen, StaffProfile
from clinic.roles import FORMULARY, FRONT_DESK, MANAGER, NURSE, ROLE_PERMISSIONS
from patients.models import Patient, TreatmentCourse
from scheduling.demo import DEMO_PASSWORD
from scheduling.doses import dose_states_verify
from scheduling.models import Appointment, AppointmentEvent, NurseAssignment, Reminder, VisitCheck
from scheduling.roster.selectors import roster_for_day
from tests.scheduling.demo import checks

SEVEN_REGIMENS = {"ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab", "ocrevus-zunovo", "tyruko"}
MODELS = (
    Clinic,
    Chair,
    OpeningHours,
    Closure,
    NurseStaffing,
    StaffProfile,
    get_user_model(),
    Patient,
    TreatmentCourse,
    Appointment,
    AppointmentEvent,
    NurseAssignment,
    Reminder,
)

# One test worker (pytest-xdist) runs this module, so the demo of `demo` below is built once.
pytestmark = pytest.mark.xdist_group("demo-london-weekday-morning")


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, built once for this module at a weekday morning in London, and rolled back after it."""
    moment = checks.MOMENTS["london-weekday-morning"]
    with time_machine.travel(moment, tick=False), django_db_blocker.unblock(), transaction.atomic():
        output = seed()
        yield output
        transaction.set_rollback(True)


@pytest.fixture
def seeded(demo, db):
    return demo


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def local(moment: datetime, clinic: Clinic) -> datetime:
    return moment.astimezone(clinic.tz)


def minutes_of_day(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def test_it_builds_two_clinics_with_chairs_beds_hours_closures_and_staffing(seeded):
    clinics = list(Clinic.objects.order_by("name"))
    assert len(clinics) == 2
    assert {clinic.time_zone for clinic in clinics} == {"Europe/London", "America/New_York"}
    assert all(clinic.address and clinic.phone for clinic in clinics)
    # A centre of sixteen chairs and beds, and a small suite of five.
    assert sorted(clinic.chairs.count() for clinic in clinics) == [5, 16]
    assert Chair.objects.filter(kind=Chair.Kind.BED).count() >= 2
    for clinic in clinics:
        weekdays = set(clinic.opening_hours.values_list("weekday", flat=True))
        assert {0, 1, 2, 3, 4} <= weekdays
        assert weekdays == set(clinic.staffing.filter(nurses__gt=0).values_list("weekday", flat=True))
        assert clinic.closures.count() >= 2
    saturdays = OpeningHours.objects.filter(weekday=5)
    assert saturdays.count() == 1
    saturday = saturdays.get()
    weekday = OpeningHours.objects.get(clinic=saturday.clinic, weekday=0)
    assert (saturday.closes.hour - saturday.opens.hour) < (weekday.closes.hour - weekday.opens.hour)


def test_it_puts_a_busy_centre_s_patients_on_all_seven_regimens_with_their_options(seeded):
    assert 800 <= Patient.objects.count() <= 3000
    assert set(TreatmentCourse.objects.values_list("regimen__code", flat=True)) == SEVEN_REGIMENS
    assert Regimen.objects.filter(code__in=SEVEN_REGIMENS).count() == 7
    assert TreatmentCourse.objects.filter(regimen__code="tysabri", options__extended_interval=True).exists()
    assert TreatmentCourse.objects.filter(regimen__code="ocrevus", options__short_infusion=True).exists()
    for clinic in Clinic.objects.all():
        assert clinic.patients.count() >= 20
        assert clinic.patients.values("courses__regimen").distinct().count() >= 6


def test_every_course_that_needs_an_authorization_has_one_and_one_a_clinic_expires_soon(seeded):
    restricted = TreatmentCourse.objects.filter(regimen__requires_authorization=True)
    assert set(restricted.values_list("regimen__code", flat=True)) == {"tysabri", "tyruko", "lemtrada"}
    assert not restricted.filter(authorization_number="").exists()
    assert not restricted.filter(authorization_expires_on__isnull=True).exists()
    today = timezone.localdate()
    soon = restricted.filter(authorization_expires_on__lte=today + timedelta(days=31))
    assert soon.count() == 2
    assert soon.values("patient__clinic").distinct().count() == 2


def test_it_creates_one_user_per_role_who_logs_in_with_the_demo_password(seeded, client):
    users = get_user_model().objects
    london = Clinic.objects.get(time_zone="Europe/London")
    new_york = Clinic.objects.get(time_zone="America/New_York")
    expected = {
        "frontdesk": (FRONT_DESK, {london}),
        "nurse": (NURSE, {london}),
        "manager": (MANAGER, {london, new_york}),
        "frontdesk-ny": (FRONT_DESK, {new_york}),
        "formulary": (FORMULARY, set()),
    }
    for username, (role, clinics) in expected.items():
        user = users.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert set(user.staff_profile.clinics.all()) == clinics
        assert user.check_password(DEMO_PASSWORD)
        assert user.get_all_permissions() == set(ROLE_PERMISSIONS[role])
        assert not user.is_superuser
        assert user.is_staff == (role in (MANAGER, FORMULARY))
        assert client.login(username=username, password=DEMO_PASSWORD)


def test_the_nurse_colleagues_on_the_roster_cannot_log_in(seeded):
    colleagues = get_user_model().objects.filter(groups__name=NURSE).exclude(username__in=["nurse", "nurse-ny"])
    assert colleagues.count() >= 2
    assert not any(user.has_usable_password() for user in colleagues)


def test_each_open_day_has_its_chairs_shared_between_the_nurses_on_duty(seeded):
    for clinic in Clinic.objects.all():
        today = timezone.localdate(timezone=clinic.tz)
        chairs = clinic.chairs.count()
        days = set(NurseAssignment.objects.filter(clinic=clinic).values_list("day", flat=True))
        for offset in range(15):
            day = today + timedelta(days=offset)
            closed = clinic.closures.filter(starts_on__lte=day, ends_on__gte=day).exists()
            if clinic.opening_hours.filter(weekday=day.weekday()).exists() and not closed:
                assert day in days, (clinic, day)
        for day in days:
            assignments = NurseAssignment.objects.filter(clinic=clinic, day=day)
            nurses = NurseStaffing.objects.get(clinic=clinic, weekday=day.weekday()).nurses
            assert assignments.count() == chairs
            assert assignments.values("nurse").distinct().count() == min(nurses, chairs)
            start = datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz)
            visits = list(
                Appointment.objects.active().filter(
                    clinic=clinic, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
                )
            )
            for nurse_id in assignments.values_list("nurse", flat=True).distinct():
                chair_ids = set(assignments.filter(nurse_id=nurse_id).values_list("chair", flat=True))
                mine = [visit for visit in visits if visit.chair_id in chair_ids]
                infusion_starts = Counter(
                    (minutes_of_day(local(visit.starts_at, clinic)) + visit.premed_minutes) // 15 for visit in mine
                )
                assert max(infusion_starts.values(), default=0) <= clinic.starts_per_nurse, (clinic, day)
                for visit in mine:
                    in_chairs = sum(other.starts_at <= visit.starts_at < other.ends_at for other in mine)
                    assert in_chairs <= clinic.patients_per_nurse, (clinic, day)


def test_no_chair_and_no_patient_ever_holds_two_overlapping_active_appointments(seeded):
    active = list(Appointment.objects.active().order_by("starts_at"))
    assert active
    for key in ("chair_id", "patient_id"):
        by_owner = defaultdict(list)
        for appointment in active:
            by_owner[getattr(appointment, key)].append(appointment)
        for appointments in by_owner.values():
            for earlier, later in zip(appointments, appointments[1:], strict=False):
                assert earlier.ends_at <= later.starts_at, f"{key} overlap: {earlier} and {later}"


def test_every_appointment_lies_inside_opening_hours_and_off_closures(seeded):
    hours = {(row.clinic_id, row.weekday): row for row in OpeningHours.objects.all()}
    closures = defaultdict(list)
    for closure in Closure.objects.all():
        closures[closure.clinic_id].append((closure.starts_on, closure.ends_on))
    for appointment in Appointment.objects.select_related("clinic", "chair", "patient"):
        clinic = appointment.clinic
        starts, ends = local(appointment.starts_at, clinic), local(appointment.ends_at, clinic)
        assert starts.date() == ends.date()
        day_hours = hours[(clinic.pk, starts.weekday())]
        assert day_hours.opens <= starts.time() and ends.time() <= day_hours.closes, appointment
        assert not any(first <= starts.date() <= last for first, last in closures[clinic.pk]), appointment
        assert appointment.chair.clinic_id == clinic.pk
        assert appointment.patient.clinic_id == clinic.pk


def test_the_nurse_rules_hold_at_every_moment_of_every_day(seeded):
    by_day = defaultdict(list)
    for appointment in Appointment.objects.active().select_related("clinic"):
        by_day[(appointment.clinic, local(appointment.starts_at, appointment.clinic).date())].append(appointment)
    assert by_day
    for (clinic, day), appointments in by_day.items():
        nurses = NurseStaffing.objects.get(clinic=clinic, weekday=day.weekday()).nurses
        starts = Counter(minutes_of_day(local(a.starts_at, clinic)) // 15 for a in appointments)
        infusion_starts = Counter(
            (minutes_of_day(local(a.starts_at, clinic)) + a.premed_minutes) // 15 for a in appointments
        )
        assert max(starts.values()) <= nurses * clinic.starts_per_nurse, (clinic, day)
        assert max(infusion_starts.values()) <= nurses * clinic.starts_per_nurse, (clinic, day)
        for appointment in appointments:
            in_chairs = sum(other.starts_at <= appointment.starts_at < other.ends_at for other in appointments)
            assert in_chairs <= nurses * clinic.patients_per_nurse, (clinic, day)


def test_the_booking_rules_accept_every_booked_visit_where_it_is(seeded):
    checks.check_the_booking_rules_accept_every_visit_still_to_come_where_it_is(seeded)


def test_each_dose_follows_the_regimen_and_takes_its_chair_time(seeded):
    held = defaultdict(list)
    for appointment in Appointment.objects.exclude(
        status__in=[Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW]
    ).order_by("starts_at"):
        held[appointment.course_id].append(appointment)
    for course in TreatmentCourse.objects.select_related("regimen", "patient__clinic"):
        clinic = course.patient.clinic
        spec = course.regimen.spec()
        today = timezone.localdate(timezone=clinic.tz)
        history = []
        for appointment in held[course.pk]:
            planned = next_dose(spec, start_date=course.start_date, given=history, options=course.options, today=today)
            day = local_date(appointment.starts_at, clinic.tz)
            assert planned is not None
            assert appointment.dose_number == planned.dose_number, course
            assert day >= planned.earliest_date, (course, appointment)
            assert appointment.premed_minutes == planned.chair_time.premed_minutes
            assert appointment.infusion_minutes == planned.chair_time.infusion_minutes
            assert appointment.observation_minutes == planned.chair_time.observation_minutes
            assert appointment.ends_at - appointment.starts_at == timedelta(minutes=planned.chair_time.total_minutes)
            history.append(GivenDose(day, appointment.serious_reaction))


def test_the_past_is_completed_and_the_coming_weeks_are_booked(seeded):
    now = timezone.now()
    past = Appointment.objects.filter(ends_at__lt=now - timedelta(days=1))
    future = Appointment.objects.filter(starts_at__gt=now + timedelta(days=1))
    assert past.filter(status=Appointment.Status.COMPLETED).count() >= 200
    assert set(past.values_list("status", flat=True)) <= {
        Appointment.Status.COMPLETED,
        Appointment.Status.CANCELLED,
        Appointment.Status.NO_SHOW,
    }
    assert set(future.values_list("status", flat=True)) <= {Appointment.Status.BOOKED, Appointment.Status.CANCELLED}
    assert future.filter(status=Appointment.Status.BOOKED).count() >= 15
    assert future.filter(starts_at__gt=now + timedelta(days=14)).exists()
    assert Appointment.objects.filter(status=Appointment.Status.CANCELLED).count() >= 2
    # The story's missed visit, and today's no-show of each clinic whose day is under way.
    assert 1 <= Appointment.objects.filter(status=Appointment.Status.NO_SHOW).count() <= 3
    assert Appointment.objects.filter(infusion_reaction=True).count() >= 3
    assert Appointment.objects.filter(serious_reaction=True).count() == 1
    completed = Appointment.objects.filter(status=Appointment.Status.COMPLETED)
    assert not completed.filter(completed_at__isnull=True).exists()
    assert not completed.filter(infusion_started_at__isnull=True).exists()


def test_a_lemtrada_course_coming_up_is_booked_as_one_series_on_one_chair_at_one_time(seeded):
    # The course starting in a week or so (and, at a weekend, the one in progress from Monday).
    courses = TreatmentCourse.objects.filter(regimen__code="lemtrada", start_date__gt=timezone.localdate())
    assert 1 <= courses.count() <= 2
    for course in courses:
        clinic = course.patient.clinic
        booked = list(course.appointments.filter(status=Appointment.Status.BOOKED).order_by("starts_at"))
        assert len(booked) == 5
        assert {appointment.chair_id for appointment in booked} == {booked[0].chair_id}
        assert {local(appointment.starts_at, clinic).time() for appointment in booked} == {
            local(booked[0].starts_at, clinic).time()
        }
        series = [
            appointment.events.get(action=AppointmentEvent.Action.BOOKED).details["series"] for appointment in booked
        ]
        assert series == [{"day": day, "of": 5} for day in range(1, 6)]


def test_every_course_s_stored_next_dose_agrees_with_its_appointments(seeded):
    assert dose_states_verify() == []


def test_every_appointment_has_its_history(seeded):
    assert not Appointment.objects.filter(events__isnull=True).exists()
    assert not Appointment.objects.exclude(events__action=AppointmentEvent.Action.BOOKED).exists()
    cancelled = Appointment.objects.filter(status=Appointment.Status.CANCELLED)
    assert not cancelled.exclude(events__action=AppointmentEvent.Action.CANCELLED).exists()
    assert not AppointmentEvent.objects.filter(at__gt=timezone.now()).exists()
    for appointment in Appointment.objects.filter(status=Appointment.Status.COMPLETED)[:50]:
        assert appointment.created_at <= appointment.starts_at
        assert list(appointment.events.values_list("to_status", flat=True))[-1] == Appointment.Status.COMPLETED


def test_the_booked_visits_have_their_reminders_in_the_outbox(seeded):
    upcoming = Reminder.objects.filter(kind=Reminder.Kind.APPOINTMENT_UPCOMING, status=Reminder.Status.PENDING)
    week_ahead = Appointment.objects.filter(
        status=Appointment.Status.BOOKED,
        starts_at__gt=timezone.now() + timedelta(days=8),
        patient__reminder_consent=True,
    )
    assert week_ahead.exists()
    held = set(Appointment.objects.active().values_list("course_id", "dose_number"))
    for appointment in week_ahead:
        # Days 2 to 5 of a Lemtrada course have no reminders of their own: day 1's come before the block.
        if (
            appointment.course.regimen.code == "lemtrada"
            and (appointment.course_id, appointment.dose_number - 1) in held
        ):
            continue
        assert upcoming.filter(appointment=appointment).exists(), appointment
    assert not upcoming.filter(patient__reminder_consent=False).exists()
    missed = Reminder.objects.filter(kind=Reminder.Kind.MISSED_APPOINTMENT)
    assert set(missed.values_list("appointment__status", flat=True)) == {Appointment.Status.NO_SHOW}


def test_the_worklist_has_patients_due_and_overdue_and_not_booked(seeded):
    completed = defaultdict(list)
    for appointment in Appointment.objects.filter(status=Appointment.Status.COMPLETED).order_by("starts_at"):
        completed[appointment.course_id].append(appointment)
    booked = set(Appointment.objects.active().values_list("course_id", "dose_number"))
    statuses = Counter()
    for course in TreatmentCourse.objects.filter(status=TreatmentCourse.Status.ACTIVE).select_related(
        "regimen", "patient__clinic"
    ):
        clinic = course.patient.clinic
        planned = next_dose(
            course.regimen.spec(),
            start_date=course.start_date,
            given=[
                GivenDose(local_date(appointment.starts_at, clinic.tz), appointment.serious_reaction)
                for appointment in completed[course.pk]
            ],
            options=course.options,
            today=timezone.localdate(timezone=clinic.tz),
            due_soon_days=clinic.due_soon_days,
        )
        if planned is None:
            continue
        statuses[(planned.status, (course.pk, planned.dose_number) in booked)] += 1
    unbooked_due = sum(
        count
        for (status, booked), count in statuses.items()
        if not booked and status in {DoseStatus.DUE, DoseStatus.DUE_SOON, DoseStatus.OVERDUE}
    )
    assert 8 <= unbooked_due <= 30, statuses
    assert 2 <= statuses[(DoseStatus.OVERDUE, False)] <= 8, statuses
    assert statuses[(DoseStatus.DUE_SOON, True)] >= 8, statuses


def test_running_it_again_changes_nothing(seeded):
    before = counts()
    output = seed()
    assert counts() == before
    assert "already there" in output


def test_once_does_nothing_when_the_demo_is_there(seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        output = seed("--once")
    assert "already there" in output


def test_it_refuses_a_database_that_holds_other_clinics(db):
    Clinic.objects.create(name="St Swithin's Day Unit", time_zone="Europe/London")
    before = counts()
    with pytest.raises(CommandError, match="--force"):
        seed()
    assert counts() == before


def test_it_asks_for_migrate_when_a_regimen_is_missing(db):
    Regimen.objects.filter(code="tyruko").update(code="tyruko-retired")
    before = counts()
    with pytest.raises(CommandError, match="migrate"):
        seed()
    assert counts() == before


@pytest.mark.postgres
def test_the_database_refuses_an_overlap_with_the_demo_appointments(seeded):
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = 'scheduling_appointment'::regclass")
        names = {row[0] for row in cursor.fetchall()}
    assert {"appointment_chair_no_overlap", "appointment_patient_no_overlap"} <= names
    booked = Appointment.objects.filter(status=Appointment.Status.BOOKED).first()
    other_patient = Patient.objects.filter(clinic=booked.clinic).exclude(pk=booked.patient_id).first()
    copy = Appointment(
        clinic=booked.clinic,
        chair=booked.chair,
        patient=other_patient,
        course=other_patient.courses.first(),
        dose_number=1,
        starts_at=booked.starts_at + timedelta(minutes=15),
        ends_at=booked.ends_at + timedelta(minutes=15),
        infusion_minutes=60,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()


# --- What the demo shows at this moment (the same checks as at the other moments) -------------


def test_the_next_two_weeks_are_70_to_85_percent_booked(seeded):
    checks.check_the_next_two_weeks_are_70_to_85_percent_booked(seeded)


def test_the_weeks_behind_are_busy_for_the_utilisation_figures(seeded):
    checks.check_the_weeks_behind_are_busy_for_the_utilisation_figures(seeded)


def test_the_busiest_day_has_two_to_three_visits_a_chair(seeded):
    checks.check_the_busiest_day_has_two_to_three_visits_a_chair(seeded)


def test_today_moves_along_with_the_clinic_s_clock(seeded):
    checks.check_today_moves_along_with_the_clinic_s_clock(seeded)


def test_the_roster_shows_one_late_and_one_running_over_while_the_day_is_under_way(seeded):
    checks.check_the_roster_shows_one_late_and_one_running_over_while_the_day_is_under_way(seeded)


def test_the_command_says_which_day_the_demo_shows(seeded):
    checks.check_the_command_says_which_day_the_demo_shows(seeded)


def test_the_worklist_has_overdue_and_due_doses_and_nothing_else_of_the_fill(seeded):
    checks.check_the_worklist_has_overdue_and_due_doses_and_nothing_else_of_the_fill(seeded)


def test_failed_reminders_with_their_errors_are_inside_the_retry_period(seeded):
    checks.check_failed_reminders_with_their_errors_are_inside_the_retry_period(seeded)


def test_a_lemtrada_course_is_in_progress_or_begins_on_the_next_weekday(seeded):
    checks.check_a_lemtrada_course_is_in_progress_or_begins_on_the_next_weekday(seeded)


def test_the_demo_sends_no_booking_notices_for_visits_it_booked_in_the_past(seeded):
    notices = Reminder.objects.filter(
        kind__in=(
            Reminder.Kind.BOOKING_CONFIRMED,
            Reminder.Kind.APPOINTMENT_MOVED,
            Reminder.Kind.APPOINTMENT_CANCELLED,
        )
    )
    assert notices.exists()
    assert not notices.exclude(status=Reminder.Status.CANCELLED).exists()
    assert Reminder.objects.filter(kind=Reminder.Kind.APPOINTMENT_UPCOMING, status=Reminder.Status.PENDING).exists()


def test_every_visit_whose_infusion_started_had_its_checks_ticked_by_a_nurse_before_the_needle(seeded):
    started = Appointment.objects.exclude(infusion_started_at=None)
    assert started.exists()
    assert not started.filter(checks__isnull=True).exists()
    assert not VisitCheck.objects.filter(ticked_at__gt=F("appointment__infusion_started_at")).exists()
    assert not VisitCheck.objects.exclude(ticked_by__groups__name=NURSE).exists()
    for clinic in Clinic.objects.all():
        roster = roster_for_day(clinic=clinic, day=timezone.localdate(timezone=clinic.tz))
        for visit in roster.visits:
            if visit.appointment.infusion_started_at is not None:
                assert not visit.checklist.open_items, (clinic, visit.pk)
            elif visit.status in (Appointment.Status.ARRIVED, Appointment.Status.IN_CHAIR):
                # Arrived, not started: the nurse has the checks still to tick.
                assert visit.checklist.open_items, (clinic, visit.pk)
