"""The rest of a working clinic: patients on established courses, as many as keep the chairs busy.

The patients of `plans.PATIENT_MIX` tell the demo's stories; a real centre has hundreds
more, who come in for their next dose and go home. The fill adds them day by day: for a
day still short of its share of booked chair time, a kind of patient (`plans.FILL_KINDS`)
whose dose fits the longest free stretch of a chair, a course started so that its next dose
is due that day, the doses before it given as the regimen asks (each on an open day near
its target, where the rules leave room), and the dose of the day in the place that wastes
the least chair time. The coming two weeks get the booked share of a busy centre, the last
weeks a little less; a twice-yearly course given in the past owes nothing for months, so
the fill adds nothing to the worklist.

Everything is planned in memory (`ClinicDays.fit`) and written in bulk; the visits still
ahead are booked through the booking services, which check every rule again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from clinic.dosing import GivenDose, PlannedDose, RegimenSpec, next_dose
from clinic.models import Regimen
from scheduling.demo.days import ClinicDays
from scheduling.demo.history import Visit
from scheduling.demo.plans import (
    ARRIVAL_LEADS,
    BOOKED_SHARE,
    FILL_DAYS_AHEAD,
    FILL_KINDS,
    LATE_NOTE,
    OVERRUN_NOTE,
    PAST_DAYS,
    PAST_SHARE,
    FillKind,
)
from scheduling.models import Appointment

Status = Appointment.Status

# A day stops taking patients after this many kinds in a row found no room.
FAILURES_PER_DAY = 6
BUSIEST_VISITS_PER_CHAIR = 2.3
LONG_DAY_MINUTES = 480
# A dose of the history goes on the first day with room within this many days of its target.
HISTORY_SLACK_DAYS = 6


@dataclass
class FillCourse:
    """One patient of the fill: a course, its doses given, and the visit on the day it fills."""

    kind: FillKind
    regimen: Regimen
    start_date: date
    given: list[Visit]
    visit: Visit
    patient_key: int
    ahead: bool  # the visit is today or later (booked), not a dose given in the past


@dataclass
class ClinicFill:
    days: ClinicDays
    regimens: dict[str, Regimen]
    specs: dict[str, RegimenSpec]
    today: date
    busiest: date  # the day the demo shows busiest: two to three visits a chair
    now: datetime
    rng: random.Random
    courses: list[FillCourse] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.expected = {kind: self._expected_minutes(kind) for kind in FILL_KINDS}

    def fill(self) -> list[FillCourse]:
        """The coming two weeks first (their histories reach back), then the past weeks."""
        if self.busiest == self.today:
            self._under_way()
        for offset in range(FILL_DAYS_AHEAD + 1):
            self._fill_day(self.today + timedelta(days=offset), BOOKED_SHARE, FILL_KINDS)
        twice_yearly = tuple(kind for kind in FILL_KINDS if kind.twice_yearly)
        for offset in range(PAST_DAYS, 0, -1):
            self._fill_day(self.today - timedelta(days=offset), PAST_SHARE, twice_yearly)
        return self.courses

    def _fill_day(self, day: date, share: tuple[float, float], kinds: tuple[FillKind, ...]) -> None:
        capacity = self.days.capacity_minutes(day) * len(self.days.chairs)
        if not capacity:
            return
        target = capacity * self.rng.uniform(*share)
        # The day the demo shows has the roster of a busy day: at least two visits a chair.
        visits_wanted = BUSIEST_VISITS_PER_CHAIR * len(self.days.chairs) if day == self.busiest else 0
        # First, on that day, one visit a chair at any time of the day that fits, so that
        # whatever the clock says someone is arriving, infusing, in observation or done.
        # (Not on a short day: its chairs hold two visits only back to back.)
        long_day = self.days.capacity_minutes(day) >= LONG_DAY_MINUTES
        spread = len(self.days.chairs) // 2 if visits_wanted and long_day else 0
        failures = 0
        while failures < (FAILURES_PER_DAY * 4 if visits_wanted else FAILURES_PER_DAY) and (
            self.days.booked_minutes(day) < target or len(self.days.placed[day]) < visits_wanted
        ):
            gap = self.days.largest_gap(day)
            fitting = [kind for kind in kinds if self.expected[kind] <= gap]
            if visits_wanted:
                # Two visits a chair: none longer than half the day.
                half = self.days.capacity_minutes(day) // 2
                fitting = [kind for kind in fitting if self.expected[kind] <= half] or fitting
            if not fitting:
                return
            # Long visits are most of a centre's chair time: weighed by their length too, but
            # on the day the demo shows, the shorter visits fill the roster.
            weights = [kind.weight * (1 if visits_wanted else self.expected[kind]) for kind in fitting]
            kind = self.rng.choices(fitting, weights=weights)[0]
            course = self._course_for(kind, day, spread=spread > 0)
            if course is None:
                failures += 1
                continue
            failures = 0
            spread -= 1
            for visit in course.given:
                self.days.add(visit.placement)
            self.days.add(course.visit.placement)
            self.courses.append(course)

    def _under_way(self) -> None:
        """Today under way has visits that began a while ago, just now, and ended: the no-show,
        the late arrival and the infusion running over are chosen among them (`today_under_way`).
        """
        now = self.now.astimezone(self.days.clinic.tz)
        opens = datetime.combine(self.today, self.days.plan.hours[self.today.weekday()][0], tzinfo=now.tzinfo)
        short = [kind for kind in FILL_KINDS if self.expected[kind] <= 120]
        windows = (
            (opens, now - timedelta(minutes=60), None),  # began a while ago: the no-show
            (now - timedelta(minutes=50), now - timedelta(minutes=20), None),  # just began: the late one
            (opens, now - timedelta(minutes=65), now - timedelta(minutes=10)),  # over: the one running over
        )
        for first, last, ended_by in windows:
            if last < first:
                continue
            for _attempt in range(FAILURES_PER_DAY):
                course = self._course_for(self.rng.choice(short), self.today, starts=(first, last))
                if course is None or (ended_by is not None and course.visit.placement.ends_at > ended_by):
                    continue
                for visit in course.given:
                    self.days.add(visit.placement)
                self.days.add(course.visit.placement)
                self.courses.append(course)
                break

    def _course_for(
        self,
        kind: FillKind,
        day: date,
        *,
        spread: bool = False,
        starts: tuple[datetime, datetime] | None = None,
    ) -> FillCourse | None:
        """A course of this kind whose next dose is due on `day`, its history placed, or None."""
        spec = self.specs[kind.regimen]
        start = self._aligned_start(kind, spec, day, day - timedelta(days=self.rng.randint(*kind.age_days)))
        if start is None:
            return None
        given: list[Visit] = []
        history: list[GivenDose] = []
        last_day = min(day, self.today)  # the history is given before the day, and before today
        while True:
            dose = self._next(kind, spec, start, history)
            if dose is None or dose.when_needed:
                return None
            if dose.target_date >= day - timedelta(days=HISTORY_SLACK_DAYS):
                break
            placement = None
            first = max(dose.target_date, dose.earliest_date)
            for offset in range(HISTORY_SLACK_DAYS):
                candidate = first + timedelta(days=offset)
                if candidate >= last_day:
                    break
                placement = self.days.fit(self.rng, candidate, dose.chair_time)
                if placement is not None:
                    break
            if placement is None:
                return None
            given.append(Visit(dose, placement, Status.COMPLETED))
            history.append(GivenDose(placement.day))
        if not dose.earliest_date <= day <= dose.target_date + timedelta(days=max(self._late(kind) - 1, 0)):
            return None
        if given and given[-1].placement.day >= day:
            return None
        placement = self.days.fit(self.rng, day, dose.chair_time, spread=spread, starts=starts)
        if placement is None:
            return None
        ahead = day >= self.today
        visit = Visit(dose, placement, Status.BOOKED if ahead else Status.COMPLETED)
        return FillCourse(kind, self.regimens[kind.regimen], start, given, visit, len(self.courses), ahead)

    def _aligned_start(self, kind: FillKind, spec: RegimenSpec, day: date, start: date) -> date | None:
        """The start date moved so that, doses given on their targets, one falls due on `day`."""
        for _attempt in range(3):
            history: list[GivenDose] = []
            dose = self._next(kind, spec, start, history)
            while dose is not None and not dose.when_needed and dose.target_date < day - timedelta(days=3):
                history.append(GivenDose(dose.target_date))
                dose = self._next(kind, spec, start, history)
            if dose is None or dose.when_needed:
                return None
            if not history:
                return None  # an established course has doses behind it
            if day - timedelta(days=3) <= dose.target_date <= day:
                return start
            start += day - timedelta(days=self.rng.randint(0, 2)) - dose.target_date
        return None

    def _next(self, kind: FillKind, spec: RegimenSpec, start: date, history: list[GivenDose]) -> PlannedDose | None:
        return next_dose(
            spec,
            start_date=start,
            given=history,
            options=kind.options,
            today=self.today,
            due_soon_days=self.days.clinic.due_soon_days,
        )

    def _late(self, kind: FillKind) -> int:
        return self.regimens[kind.regimen].late_window_days

    def _expected_minutes(self, kind: FillKind) -> int:
        """The chair time of the dose such a course is due, at the middle of its age range."""
        spec = self.specs[kind.regimen]
        start = self.today - timedelta(days=sum(kind.age_days) // 2)
        history: list[GivenDose] = []
        dose = self._next(kind, spec, start, history)
        while dose is not None and dose.target_date < self.today:
            history.append(GivenDose(dose.target_date))
            dose = self._next(kind, spec, start, history)
        return dose.chair_time.total_minutes if dose is not None else 10**6


def today_under_way(
    courses: list[FillCourse], days: ClinicDays, today: date, now: datetime, rng: random.Random
) -> None:
    """Today's visits of the fill as the day has gone so far, with one late, one no-show, one overrun.

    Before opening nothing has begun. During the day, a patient who has not turned up 45
    minutes after the start is a no-show, one is still on the way (the roster shows them
    late), and one infusion was slowed and runs past its planned end. After closing the day
    is over: the no-show, a patient who came 20 minutes late, an infusion that ran over.
    """
    visits = [course.visit for course in courses if course.ahead and course.visit.placement.day == today]
    for visit in visits:
        visit.arrival_lead = timedelta(minutes=rng.choice(ARRIVAL_LEADS))
    if not visits:
        return
    closes = datetime.combine(today, days.plan.hours[today.weekday()][1], tzinfo=days.clinic.tz)
    over = now >= closes

    def pick(candidates: list[Visit]) -> Visit | None:
        candidates = [visit for visit in candidates if visit.status == Status.BOOKED and not visit.late_by]
        candidates = [visit for visit in candidates if not visit.slowed_by]
        return rng.choice(candidates) if candidates else None

    no_show = pick([visit for visit in visits if visit.placement.starts_at <= now - timedelta(minutes=45)])
    if no_show is not None:
        no_show.status = Status.NO_SHOW
        days.remove(no_show.placement)  # a no-show does not hold the chair
    started = [visit for visit in visits if visit.placement.starts_at <= now - timedelta(minutes=20)]
    if over:
        late = pick([visit for visit in started if visit.placement.ends_at <= now - timedelta(minutes=30)])
        if late is not None:
            late.late_by, late.note = timedelta(minutes=20), LATE_NOTE
    else:
        # The one whose start passed most recently: still on the way, the roster shows them late.
        late = pick(sorted(started, key=lambda visit: visit.placement.starts_at)[-3:])
        if late is not None:
            late.late_by, late.note = now - late.placement.starts_at + timedelta(minutes=25), LATE_NOTE
    if over:
        overrun = pick([visit for visit in visits if visit.placement.ends_at <= now - timedelta(minutes=45)])
        if overrun is not None:
            overrun.slowed_by, overrun.note = timedelta(minutes=30), OVERRUN_NOTE
    else:
        # One of those who should have finished last: the infusion was slowed, still in the chair.
        ended = [visit for visit in visits if visit.placement.ends_at <= now - timedelta(minutes=5)]
        overrun = pick(sorted(ended, key=lambda visit: visit.placement.ends_at)[-3:])
        if overrun is not None:
            overrun.slowed_by = now - overrun.placement.ends_at + timedelta(minutes=40)
            overrun.note = OVERRUN_NOTE


def visit_begun(visit: Visit, now: datetime) -> bool:
    """The visit has begun by now (or its start has passed): written as it happened, not booked."""
    return visit.status == Status.NO_SHOW or visit.arrives_at <= now or visit.placement.starts_at <= now
