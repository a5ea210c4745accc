"""Simulate a 20-chair clinic for 26 weeks under three booking policies, every dose booked through the booking services.

    bench/simulate                       # or: python -m bench.simulate
    bench/simulate --weeks 4 --seed 3 --cancel 0.05 --no-show 0.03 --jobs 1 --database postgresql

Each policy runs in a process of its own (`--jobs` at once, 3 by default) on a throwaway
database of its own: a SQLite file in /dev/shm by default, or with `--database postgresql` a
database on the PostgreSQL server of DATABASE_URL. Each migrates it and builds the same clinic
(same seed): 20 chairs, open 08:00-18:00 Monday to Friday, 5 nurses (4
patients each at once, one infusion start each per 15 minutes). Each starts with patients in
maintenance (Tysabri every 4 weeks, Ocrevus and Briumvi every 6 months, with their doses given
before the first week and none past its next dose's window yet), and new patients start each week (Tysabri, Ocrevus and Briumvi
initiations, Lemtrada courses of 5 consecutive days).

Every Monday the front desk books each dose due within two weeks, through `booking_create`
(or `booking_create_series` for a series), with the slot each policy picks:

- **earliest**: the first free slot from the dose's target date (or its earliest date);
- **balanced**: the booking page's balanced suggestion;
- **levelled**: the balanced suggestion, then each day of the next week levelled in turn
  (`scheduling.levelling`: the proposal, confirmed through `levelling_apply`).

Each day, booked visits two days ahead are cancelled at the cancellation rate (`booking_cancel`)
and visits of the day are no-shows at the no-show rate (`booking_mark_no_show`), drawn per
patient and dose so that the same doses are cancelled or missed under every policy; the others
are completed. A dose cancelled or missed is owed again and booked that evening with the policy's
slot, as a front desk offers a new time in the call that cancels and calls a patient who did
not come (a cancelled visit's patient from the day after the one they cancelled). At the end the
bench checks every rule itself over every visit it booked (chairs, patients, opening hours,
nurse rules, never before the earliest date) and prints "rules broken: N".

Printed per policy: doses given inside their window, as the manager's utilisation page counts
them (`clinic_utilisation`: each dose given in the simulated weeks, whoever booked it, against
the window the dosing rules give it from the doses given before it); over every dose the bench
booked, given or still ahead, the share on a day inside the window it had once booked (from
the doses given or booked before it, so a series' later doses count from its first); chair
utilisation, peak and mean patients per nurse, staggered-start conflicts (infusion starts sharing a 15-minute slot), minutes past
closing, runtime. Then the capacity forecast's render for 5,000 active courses, as
bench/forecast measures it (`forecast_render`, on PostgreSQL: the clinic is built while the
policies run, and rendered once they are done; `--no-forecast` skips it). Exits 1 when a rule
is broken, levelling lowers the peak patients per nurse by less than 15% against the earliest
slot or has a lower share inside the window by either count, or the forecast's median render takes 2 s or more.
`BENCH_PROFILE=1` prints where each policy's simulation spends its time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bench import forecast, migrated_django, simulate_offers, throwaway_database

CHAIRS = 20
NURSES = 5
POLICIES = ("earliest", "balanced", "levelled")
LEAD_DAYS = 13  # the Monday pass books doses due up to this many days ahead
SLOT = 15
FORECAST_COURSES = 5000


@dataclass
class Figures:
    policy: str
    seconds: float = 0.0
    bookings: int = 0
    refused: int = 0
    given: int = 0
    cancelled: int = 0
    no_shows: int = 0
    moved: int = 0
    levelling_seconds: float = 0.0
    windows: dict[int, tuple[date, date]] = field(default_factory=dict)  # appointment id -> (earliest, latest)
    failed: defaultdict = field(default_factory=lambda: defaultdict(int))  # (course, dose number) -> times not given


def _clinic(name: str):
    from datetime import time as clock

    from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours
    from scheduling.models import CapacityPolicy

    clinic = Clinic.objects.create(name=name, time_zone="Europe/London", require_mfa_for_managers=False)
    for weekday in range(5):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=clock(8), closes=clock(18))
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=NURSES)
    Chair.objects.bulk_create([Chair(clinic=clinic, name=f"Chair {n}", position=n) for n in range(1, CHAIRS + 1)])
    CapacityPolicy.objects.create(clinic=clinic, levelling_days=0)
    return clinic


def _staff(clinic, name: str):
    from django.contrib.auth.models import Group, User

    from clinic.models import StaffProfile
    from clinic.roles import MANAGER

    user = User.objects.create_user(name, password="x", is_staff=True)  # noqa: S106 - benchmark user
    user.groups.add(Group.objects.get(name=MANAGER))
    StaffProfile.objects.create(user=user).clinics.set([clinic])
    return user


class _History:
    """Past chair times for the doses given before the simulation: never overlapping, long before it starts."""

    def __init__(self, clinic, chairs):
        self.clinic, self.chairs, self.used = clinic, chairs, defaultdict(int)

    def take(self, day: date):
        number = self.used[day]
        self.used[day] += 1
        chair = self.chairs[number % len(self.chairs)]
        starts = datetime.combine(day, datetime.min.time(), tzinfo=self.clinic.tz) + timedelta(
            minutes=(number // len(self.chairs)) * 20
        )
        return chair, starts


def _population(clinic, rng: random.Random, start: date, scale: float) -> None:
    """Patients in maintenance, with their doses given before `start` (rows written straight: history, not bookings).

    None is already past the latest date of their next dose when the simulation starts: a
    clinic running Chairside has them booked, and a dose late before the first day would
    count as late under every policy alike.
    """
    from clinic.dosing import GivenDose, next_dose
    from clinic.models import Chair, Regimen
    from patients.models import Patient, TreatmentCourse
    from scheduling.doses import RegimenSpecs, dose_states_refresh
    from scheduling.models import Appointment

    regimens = {code: Regimen.objects.get(code=code) for code in ("tysabri", "ocrevus", "briumvi")}
    specs = RegimenSpecs.for_regimens(regimen.pk for regimen in regimens.values())
    history = _History(clinic, list(Chair.objects.filter(clinic=clinic).order_by("position")))
    plan = [("tysabri", int(230 * scale)), ("ocrevus", int(260 * scale)), ("briumvi", int(60 * scale))]
    rows = []
    for code, count in plan:
        for number in range(count):
            patient = Patient.objects.create(
                clinic=clinic,
                mrn=f"{code[:2].upper()}{number:05d}",
                first_name="Pat",
                last_name=f"{code.title()}{number:05d}",
                date_of_birth=date(1980, 1, 1),
            )
            while True:  # a clinic books its patients in time: none starts past its next dose's window
                if code == "tysabri":
                    first = start - timedelta(days=rng.randint(1, 28))
                    given = [(1, first)]
                else:
                    second = start - timedelta(days=rng.randint(14, 182))
                    first = second - timedelta(days=14)
                    given = [(1, first), (2, second)]
                upcoming = next_dose(
                    specs(regimens[code].pk),
                    start_date=first,
                    given=[GivenDose(day) for _number, day in given],
                    options={},
                    today=start,
                )
                if upcoming is None or upcoming.latest_date >= start:
                    break
            course = TreatmentCourse.objects.create(patient=patient, regimen=regimens[code], start_date=first)
            for dose_number, day in given:
                chair, starts_at = history.take(day - timedelta(days=400))  # the chair times of long ago
                moment = datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz) + timedelta(hours=9)
                rows.append(
                    Appointment(
                        clinic=clinic,
                        chair=chair,
                        patient=patient,
                        course=course,
                        dose_number=dose_number,
                        starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=10),
                        infusion_started_at=moment,
                        infusion_minutes=10,
                        status=Appointment.Status.COMPLETED,
                    )
                )
    Appointment.objects.bulk_create(rows)
    dose_states_refresh(list(TreatmentCourse.objects.filter(patient__clinic=clinic).values_list("pk", flat=True)))


def _new_patients(clinic, rng: random.Random, monday: date, week: int, per_week: int) -> None:
    from clinic.models import Regimen
    from patients.models import Patient, TreatmentCourse

    mix = [("tysabri", 0.45), ("ocrevus", 0.3), ("briumvi", 0.15), ("lemtrada", 0.1)]
    for number in range(per_week):
        pick, total = rng.random(), 0.0
        code = mix[-1][0]
        for name, share in mix:
            total += share
            if pick < total:
                code = name
                break
        patient = Patient.objects.create(
            clinic=clinic,
            mrn=f"N{week:02d}{number:03d}",
            first_name="New",
            last_name=f"Patient{week:02d}{number:03d}",
            date_of_birth=date(1985, 1, 1),
        )
        TreatmentCourse.objects.create(
            patient=patient,
            regimen=Regimen.objects.get(code=code),
            start_date=monday + timedelta(days=7 + rng.randint(0, 4)),
        )


def _pick(policy: str, result, target: date):
    if not result.slots:
        return None
    if policy == "earliest":
        return next((slot for slot in result.slots if slot.local_day >= target), result.slots[0])
    return result.balanced


def _book_due(clinic, figures: Figures, policy: str, by, today: date, *, owed: dict[int, date | None] | None = None):
    """The Monday pass: every active course's next dose due within LEAD_DAYS, booked with the policy's slot.

    With `owed` ({course id: the first day the patient can come, or None for any}), only those
    courses: the doses a cancellation or a missed visit left owed, booked again that day.
    """
    from patients.models import TreatmentCourse
    from scheduling.availability.search import find_slots_for_course, series_starts
    from scheduling.booking.selectors import course_forecast
    from scheduling.booking.services import BookingError, booking_create, booking_create_series, series_doses
    from scheduling.doses import booked_doses_planned, courses_doses

    courses = TreatmentCourse.objects.filter(patient__clinic=clinic, status=TreatmentCourse.Status.ACTIVE)
    if owed is not None:
        courses = courses.filter(pk__in=list(owed))
    courses = list(courses.select_related("patient__clinic", "regimen").order_by("pk"))
    doses = courses_doses(courses, today=today)
    for course in courses:
        dose = doses[course.pk].next
        if dose is None or dose.when_needed or dose.target_date > today + timedelta(days=LEAD_DAYS):
            continue
        # The booking page's search: the balanced choice weighs the forecast of the days.
        result = find_slots_for_course(
            course, dose=dose, today=today, start=(owed or {}).get(course.pk), forecast=course_forecast(course)
        )
        series = series_doses(course, today=today) if dose.block_size > 1 and dose.dose_in_block == 1 else []
        if series:
            result = series_starts(result, series, patient_id=course.patient_id)
        slot = _pick(policy, result, max(dose.target_date, today))
        if slot is None:
            figures.refused += 1
            continue
        chair = next(chair for chair in clinic.chairs.all() if chair.pk == slot.chair_id)
        try:
            if series:
                booked = booking_create_series(course=course, chair=chair, starts_at=slot.starts_at, booked_by=by)
            else:
                booked = [booking_create(course=course, chair=chair, starts_at=slot.starts_at, booked_by=by)]
        except BookingError:
            figures.refused += 1
            continue
        # Each visit's window as the rules give it once booked: a series' later doses count from
        # its first dose's booked day, not from the day the plan hoped for.
        planned = booked_doses_planned([(course, item.pk, item.dose_number) for item in booked], today=today)
        for appointment in booked:
            window = planned.get(appointment.pk)
            if window is not None:
                figures.windows[appointment.pk] = (window.earliest_date, window.latest_date)
        figures.bookings += len(booked)


def _level_week(clinic, figures: Figures, by, monday: date, time_limit: float) -> None:
    """Each open day of the week, in turn: the proposal, confirmed (`levelling_apply_week`)."""
    from scheduling.levelling.services import levelling_apply_week

    started = time.perf_counter()
    figures.moved += sum(levelling_apply_week(clinic=clinic, monday=monday, by=by, time_limit=time_limit).values())
    figures.levelling_seconds += time.perf_counter() - started


def _happens(seed: int, what: str, appointment, figures: Figures, rate: float) -> bool:
    """Whether this visit is cancelled (or missed), the same answer under every policy.

    Drawn for the patient, the dose and how many times that dose was booked and not given
    before, not from one stream in booking order: the policies book different visits on each
    day, and one stream would have cancelled different patients' doses under each (common
    random numbers, so the policies are compared on the same cancellations and no-shows).
    """
    attempt = figures.failed[appointment.course_id, appointment.dose_number]
    draw = random.Random(f"{seed}:{what}:{appointment.patient_id}:{appointment.dose_number}:{attempt}")  # noqa: S311
    if draw.random() < rate:
        figures.failed[appointment.course_id, appointment.dose_number] += 1
        return True
    return False


def _run_day(clinic, figures: Figures, policy: str, by, day: date, seed: int, cancel: float, no_show: float):
    from scheduling.booking.services import booking_cancel, booking_mark_no_show
    from scheduling.models import Appointment

    ahead = Appointment.objects.for_clinic_day(clinic, day + timedelta(days=2)).filter(status=Appointment.Status.BOOKED)
    cancelled = []
    owed: dict[int, date | None] = {}
    for appointment in ahead.order_by("pk"):
        if _happens(seed, "cancel", appointment, figures, cancel):
            booking_cancel(appointment=appointment, by=by, reason="The patient cannot come")
            cancelled.append(appointment.pk)
            owed[appointment.course_id] = day + timedelta(days=3)  # not the day they cannot come
            figures.cancelled += 1
    simulate_offers.refill_freed(clinic, cancelled)  # earlier-time offers of the freed chairs
    for appointment in Appointment.objects.for_clinic_day(clinic, day).filter(status=Appointment.Status.BOOKED):
        if _happens(seed, "no-show", appointment, figures, no_show):
            booking_mark_no_show(appointment=appointment, by=by)
            owed.setdefault(appointment.course_id, None)
            figures.no_shows += 1
            continue
        appointment.status = Appointment.Status.COMPLETED
        appointment.infusion_started_at = appointment.starts_at + timedelta(minutes=appointment.premed_minutes)
        appointment.save(update_fields=["status", "infusion_started_at"])  # the dose state follows the save
        figures.given += 1
    # The front desk books each dose left owed again that day: a patient who cancels is offered
    # a new time in the same call, one who did not come is called.
    if owed:
        _book_due(clinic, figures, policy, by, day, owed=owed)


def simulate(policy: str, *, weeks: int, seed: int, cancel: float, no_show: float, scale: float, time_limit: float):
    import time_machine

    from scheduling.doses import clinic_today

    clinic = _clinic(f"Simulated clinic ({policy})")
    by = _staff(clinic, f"manager-{policy}")
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    today = clinic_today(clinic)
    first_monday = today + timedelta(days=7 - today.weekday())
    _population(clinic, rng, first_monday, scale)
    figures = Figures(policy)
    started = time.perf_counter()
    for week in range(weeks):
        monday = first_monday + timedelta(weeks=week)
        morning = datetime.combine(monday, datetime.min.time(), tzinfo=clinic.tz).replace(hour=6)
        with time_machine.travel(morning.astimezone(UTC), tick=False):
            _new_patients(clinic, rng, monday, week, per_week=int(8 * scale) or 1)
            _book_due(clinic, figures, policy, by, monday)
            if policy == "levelled":
                _level_week(clinic, figures, by, monday + timedelta(days=7), time_limit)
                if week == 0:
                    _level_week(clinic, figures, by, monday, time_limit)
        for offset in range(5):
            day = monday + timedelta(days=offset)
            evening = datetime.combine(day, datetime.min.time(), tzinfo=clinic.tz).replace(hour=19)
            with time_machine.travel(evening.astimezone(UTC), tick=False):
                _run_day(clinic, figures, policy, by, day, seed, cancel, no_show)
        print(f"  {policy}: week {week + 1} of {weeks} done, {figures.bookings} doses booked so far", flush=True)
    figures.seconds = time.perf_counter() - started
    return clinic, figures, first_monday


# --- The figures and the rules, read back from the database -------------------------------------


@dataclass
class Measured:
    utilisation: float
    peak_per_nurse: float
    mean_peak_per_nurse: float
    mean_per_nurse: float
    conflicts: int
    past_closing: int
    broken: list[str]
    windowed: int = 0  # visits given or still booked, booked by the bench with their window
    inside: int = 0  # of them, on a day inside their window
    given_counted: int = 0  # doses given in the simulated weeks, as the utilisation page counts them
    given_inside: int = 0  # of them, inside the window the rules give from the doses before

    @property
    def inside_share(self) -> float:
        return self.inside / self.windowed if self.windowed else 0.0

    @property
    def given_inside_share(self) -> float:
        return self.given_inside / self.given_counted if self.given_counted else 0.0


def measure(clinic, first_monday: date, weeks: int, windows: dict[int, tuple[date, date]]) -> Measured:
    """Every simulated day's load from its visits (completed, or still booked), and every rule checked."""
    from scheduling.availability.loading import opening_hours
    from scheduling.capacity.utilisation import clinic_utilisation
    from scheduling.models import Appointment

    tz = clinic.tz
    hours = opening_hours(clinic)
    end = first_monday + timedelta(weeks=weeks + 2)
    rows = list(
        Appointment.objects.active()
        .filter(
            clinic=clinic,
            starts_at__gte=datetime.combine(first_monday, datetime.min.time(), tzinfo=tz),
            starts_at__lt=datetime.combine(end, datetime.min.time(), tzinfo=tz),
        )
        .values_list("pk", "chair_id", "patient_id", "starts_at", "ends_at", "premed_minutes", "status")
    )
    by_day = defaultdict(list)
    for row in rows:
        by_day[row[3].astimezone(tz).date()].append(row)
    broken: list[str] = []
    peaks, means, used, open_minutes, conflicts, past_closing = [], [], 0, 0, 0, 0
    windowed = inside = 0
    for day, visits in sorted(by_day.items()):
        if day.weekday() not in hours:
            broken.append(f"{len(visits)} visits on a closed day {day}")
            continue
        opens, closes, nurses = hours[day.weekday()]
        begin = datetime.combine(day, opens, tzinfo=tz)
        length = int((datetime.combine(day, closes, tzinfo=tz) - begin).total_seconds() // 60)
        load = [0] * length
        starts = defaultdict(int)
        chairs, patients = defaultdict(list), defaultdict(list)
        for pk, chair, patient, starts_at, ends_at, premed, _status in visits:
            first = int((starts_at - begin).total_seconds() // 60)
            last = int((ends_at - begin).total_seconds() // 60)
            if first < 0 or last > length:
                broken.append(f"visit {pk} outside the opening hours")
                past_closing += max(last - length, 0)
            for minute in range(max(first, 0), min(last, length)):
                load[minute] += 1
            slot = (int(starts_at.timestamp() // 60) + premed) // SLOT
            starts[slot] += 1
            chairs[chair].append((first, last))
            patients[patient].append((first, last))
            window = windows.get(pk)
            if window is not None and day < window[0]:
                broken.append(f"visit {pk} on {day}, before its earliest date {window[0]}")
            if window is not None:
                windowed += 1
                inside += window[0] <= day <= window[1]
        for name, spans in (("chair", chairs), ("patient", patients)):
            for key, items in spans.items():
                items.sort()
                if any(later[0] < earlier[1] for earlier, later in zip(items, items[1:], strict=False)):
                    broken.append(f"{name} {key} double-booked on {day}")
        if max(load, default=0) > nurses * clinic.patients_per_nurse:
            broken.append(f"{max(load)} patients at once on {day}, more than {nurses} nurses may look after")
        if max(starts.values(), default=0) > nurses * clinic.starts_per_nurse:
            broken.append(f"{max(starts.values())} infusion starts in one 15-minute slot on {day}")
        conflicts += sum(count - 1 for count in starts.values() if count > 1)
        if day < first_monday + timedelta(weeks=weeks):
            peaks.append(max(load, default=0) / nurses)
            means.append(sum(load) / length / nurses)
            used += sum(load)
            open_minutes += length * CHAIRS
    given = next(
        rate
        for rate in clinic_utilisation(
            clinic, start=first_monday, end=first_monday + timedelta(weeks=weeks, days=-1)
        ).rates
        if rate.key == "in_window"
    )
    return Measured(
        given_counted=given.of,
        given_inside=given.count,
        utilisation=100 * used / open_minutes if open_minutes else 0.0,
        peak_per_nurse=max(peaks, default=0.0),
        mean_peak_per_nurse=sum(peaks) / len(peaks) if peaks else 0.0,
        mean_per_nurse=sum(means) / len(means) if means else 0.0,
        conflicts=conflicts,
        past_closing=past_closing,
        broken=broken,
        windowed=windowed,
        inside=inside,
    )


def _policy_job(policy: str, args: argparse.Namespace):
    """One policy on a throwaway database of its own (run in a process of its own)."""
    os.environ["ALLOWED_HOSTS"] = "testserver"
    with throwaway_database(f"bench/simulate_{policy}", engine=args.database):
        migrated_django()
        from django.db import connection

        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        clinic, figures, first_monday = simulate(
            policy,
            weeks=args.weeks,
            seed=args.seed,
            cancel=args.cancel,
            no_show=args.no_show,
            scale=args.scale,
            time_limit=args.time_limit,
        )
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        measured = measure(clinic, first_monday, args.weeks, figures.windows)
        return figures, measured, simulate_offers.TALLIES[clinic.pk]


def _forecast_job(simulated, forecasts) -> None:
    """bench/forecast's clinic of 5,000 active courses on PostgreSQL: built at once, rendered once the policies are done.

    The forecast is measured on PostgreSQL whatever --database says (it is bench/forecast's
    figure, on the database Chairside runs on), and only after the simulation's processes end,
    so their load does not count in its render time.
    """
    os.environ["ALLOWED_HOSTS"] = "testserver"
    with throwaway_database("bench/simulate_forecast"):
        migrated_django()
        simulated.wait()
        try:
            forecasts.put(forecast.forecast_render(courses=FORECAST_COURSES))
        except BaseException:
            forecasts.put((float("inf"), True))
            raise


def _of(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--weeks", type=int, default=int(os.environ.get("BENCH_WEEKS", "26")))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--cancel", type=float, default=0.04, help="share of booked visits cancelled two days ahead")
    parser.add_argument("--no-show", type=float, default=0.03, help="share of visits the patient misses")
    parser.add_argument("--scale", type=float, default=1.5, help="patients, as a share of the default mix")
    parser.add_argument("--time-limit", type=float, default=1.0, help="CP-SAT's seconds per levelled day")
    parser.add_argument("--policies", default=",".join(POLICIES))
    parser.add_argument("--jobs", type=int, default=len(POLICIES), help="policies simulated at once, a process each")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="each policy's throwaway database: a SQLite file in /dev/shm, or one on DATABASE_URL's server",
    )
    parser.add_argument("--no-forecast", action="store_true", help="skip the forecast render at 5,000 courses")
    args = parser.parse_args(argv)
    policies = args.policies.split(",")
    context = multiprocessing.get_context("fork")  # Django is set up in each child, never here
    simulated, forecasts = context.Event(), context.SimpleQueue()
    started = time.perf_counter()
    forecasting = None
    if not args.no_forecast:
        forecasting = context.Process(target=_forecast_job, args=(simulated, forecasts))
        forecasting.start()
    # A process per policy (maxtasksperchild=1): each sets Django up on its own database.
    try:
        with context.Pool(processes=max(args.jobs, 1), maxtasksperchild=1) as pool:
            pending = [pool.apply_async(_policy_job, (policy, args)) for policy in policies]
            results = [item.get() for item in pending]
    finally:
        simulated.set()  # a policy that failed must not leave the forecast waiting
    forecast_result = None
    if forecasting is not None:
        forecast_result = forecasts.get()
        forecasting.join()
    for tally in (tally for _figures, _measured, tally in results):
        simulate_offers.TALLIES[len(simulate_offers.TALLIES)] = tally
    results = [(figures, measured) for figures, measured, _tally in results]
    print(
        f"\n{args.weeks} weeks, {CHAIRS} chairs, {NURSES} nurses, seed {args.seed}, cancellations {args.cancel:.0%}, "
        f"no-shows {args.no_show:.0%}"
    )
    header = (
        f"{'policy':<10} {'booked':>7} {'given':>6} {'in window':>10} {'all in window':>14} {'chairs used':>12} {'peak/nurse':>11} "
        f"{'mean peak':>10} {'mean/nurse':>11} {'conflicts':>10} {'past closing':>13} {'moved':>6} {'runtime':>9}"
    )
    print(header)
    for figures, measured in results:
        print(
            f"{figures.policy:<10} {figures.bookings:>7} {figures.given:>6} {100 * measured.given_inside_share:>9.1f}% "
            f"{100 * measured.inside_share:>13.1f}% {measured.utilisation:>11.1f}% "
            f"{measured.peak_per_nurse:>11.2f} {measured.mean_peak_per_nurse:>10.2f} {measured.mean_per_nurse:>11.2f} "
            f"{measured.conflicts:>10} {measured.past_closing:>13} {figures.moved:>6} {figures.seconds:>8.0f}s"
        )
    print(simulate_offers.refilled_line())
    broken = [line for _figures, measured in results for line in measured.broken]
    print(f"rules broken: {len(broken)}")
    for line in broken[:20]:
        print(f"  {line}")
    failed = bool(broken)
    by_policy = {figures.policy: (figures, measured) for figures, measured in results}
    if "earliest" in by_policy and "levelled" in by_policy:
        earliest, levelled = by_policy["earliest"], by_policy["levelled"]
        drop = 100 * (1 - levelled[1].peak_per_nurse / earliest[1].peak_per_nurse) if earliest[1].peak_per_nurse else 0
        # Two counts: the doses given in the simulated weeks (the utilisation page's figure), and
        # every dose each policy booked, given or booked ahead. The doses given are not quite the
        # same doses under each policy (the earliest slot gives some of them sooner), so the
        # second count compares the same set; levelling must hold its own by both.
        given = {name: item[1].given_inside_share for name, item in (("earliest", earliest), ("levelled", levelled))}
        booked = {name: item[1].inside_share for name, item in (("earliest", earliest), ("levelled", levelled))}
        counts = {}
        for name, item in (("earliest", earliest), ("levelled", levelled)):
            counts["given", name] = _of(item[1].given_inside, item[1].given_counted)
            counts["booked", name] = _of(item[1].inside, item[1].windowed)
        print(
            f"levelling against the earliest slot: peak patients per nurse {drop:.1f}% lower (target at least 15%); "
            f"doses given inside their window {100 * given['levelled']:.1f}% ({counts['given', 'levelled']}) "
            f"against {100 * given['earliest']:.1f}% ({counts['given', 'earliest']}); all doses booked inside "
            f"their window {100 * booked['levelled']:.1f}% ({counts['booked', 'levelled']}) against "
            f"{100 * booked['earliest']:.1f}% ({counts['booked', 'earliest']}); levelling took "
            f"{levelled[0].levelling_seconds:.0f} s of the run"
        )
        failed |= drop < 15 or given["levelled"] < given["earliest"] or booked["levelled"] < booked["earliest"]
    if forecast_result is not None:
        median, forecast_failed = forecast_result
        print(
            f"forecast render at {FORECAST_COURSES:,} active courses: median {median * 1000:.0f} ms "
            f"(target under {forecast.TARGET_S:.0f} s)"
        )
        failed |= forecast_failed
    print(f"whole run: {time.perf_counter() - started:.0f} s ({args.database}, {args.jobs} jobs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
