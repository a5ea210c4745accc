"""Check a regimen's configuration without the UI: the next dose and the plan after given doses.

    python manage.py dosing_plan --regimen ocrevus --given 2027-01-06 --given 2027-01-20 \\
        [--reaction 2] [--option short_infusion=true] [--today 2027-06-20] [--json]
    python manage.py dosing_plan --course 42 [--today 2027-06-20] [--json]

With --course it asks the dose module (`scheduling.doses`) about a real course: the doses
given and booked from its appointments, and the next dose planned after them, exactly as the
worklist, booking and reminders see it.
"""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clinic.dosing import GivenDose, PlannedDose, dose_plan
from clinic.models import Regimen
from patients.models import TreatmentCourse
from scheduling.doses import course_doses

USAGE_EXIT = 2
TRUE_WORDS = {"true", "yes", "on", "1"}
FALSE_WORDS = {"false", "no", "off", "0", ""}


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=USAGE_EXIT)


def _parse_date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{what} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-01-06.") from None


def _parse_option(text: str) -> tuple[str, object]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise _fail(f"--option {text!r} needs the form KEY=VALUE, e.g. short_infusion=true.")
    lowered = raw.strip().lower()
    if lowered in TRUE_WORDS:
        return key, True
    if lowered in FALSE_WORDS:
        return key, False
    return key, raw


def dose_as_dict(dose: PlannedDose) -> dict:
    return {
        "dose_number": dose.dose_number,
        "phase": dose.phase,
        "dose_label": dose.dose_label,
        "dose_in_block": dose.dose_in_block,
        "block_size": dose.block_size,
        "target_date": dose.target_date.isoformat(),
        "earliest_date": dose.earliest_date.isoformat(),
        "latest_date": dose.latest_date.isoformat(),
        "premed_minutes": dose.chair_time.premed_minutes,
        "infusion_minutes": dose.chair_time.infusion_minutes,
        "observation_minutes": dose.chair_time.observation_minutes,
        "total_minutes": dose.chair_time.total_minutes,
        "status": str(dose.status),
        "when_needed": dose.when_needed,
        "reason": dose.reason,
    }


def _visit_as_dict(visit) -> dict:
    return {"dose_number": visit.dose_number, "date": visit.date.isoformat(), "status": visit.status}


def _dose_lines(dose: PlannedDose) -> list[str]:
    chair = dose.chair_time
    return [
        f"{dose.reason}",
        f"    window {dose.earliest_date} to {dose.latest_date} (target {dose.target_date}); "
        f"status: {dose.status.replace('_', ' ')}",
        f"    chair time {chair.total_minutes} min: {chair.premed_minutes} premedication, "
        f"{chair.infusion_minutes} infusion, {chair.observation_minutes} observation",
    ]


class Command(BaseCommand):
    help = "Show the next dose and the plan after it for a regimen and the doses given (for checking its setup)."

    def add_arguments(self, parser):
        parser.add_argument("--regimen", metavar="CODE", help="Regimen code, e.g. ocrevus.")
        parser.add_argument("--course", metavar="ID", help="A treatment course's id: plan from its appointments.")
        parser.add_argument(
            "--given", action="append", default=[], metavar="YYYY-MM-DD", help="A dose given, oldest first."
        )
        parser.add_argument(
            "--reaction",
            action="append",
            default=[],
            metavar="DOSE_NUMBER",
            help="A given dose (1 = the first --given) that had a serious infusion reaction.",
        )
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A course option, e.g. short_infusion=true.",
        )
        parser.add_argument("--start", metavar="YYYY-MM-DD", help="Course start date (default: the first dose given).")
        parser.add_argument("--today", metavar="YYYY-MM-DD", help="The day to judge the status against.")
        parser.add_argument("--count", type=int, default=4, help="Doses to plan, the next one included (default 4).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        if options["count"] < 1:
            raise _fail("--count must be at least 1.")
        if options["course"] is not None:
            if options["regimen"] or options["given"] or options["reaction"] or options["option"] or options["start"]:
                raise _fail("--course reads the course's own regimen, doses and options; give it alone (with --today).")
            return self._course(options)
        if not options["regimen"]:
            raise _fail("Give --regimen CODE (with --given dates), or --course ID for a course on file.")
        code = options["regimen"]
        regimen = Regimen.objects.prefetch_related("phases", "monitoring").filter(code=code).first()
        if regimen is None:
            known = ", ".join(Regimen.objects.order_by("code").values_list("code", flat=True))
            raise _fail(f"Unknown regimen {code!r}. Known regimens: {known}.")
        given_dates = [_parse_date(value, "--given") for value in options["given"]]
        for earlier, later in zip(given_dates, given_dates[1:], strict=False):
            if later <= earlier:
                raise _fail(f"--given dates are out of order: {later} comes after {earlier}; list them oldest first.")
        reactions = set()
        for value in options["reaction"]:
            if not value.isdecimal() or not 1 <= int(value) <= len(given_dates):
                raise _fail(f"--reaction {value!r} must be the number of a given dose, from 1 to {len(given_dates)}.")
            reactions.add(int(value))
        course_options = dict(_parse_option(text) for text in options["option"])
        offered = dict(regimen.option_choices())
        for key in course_options:
            if key not in offered:
                choices = ", ".join(offered) or "none"
                raise _fail(f"{regimen.name} offers no course option {key!r}; its options: {choices}.")
        today = _parse_date(options["today"], "--today") if options["today"] else timezone.localdate()
        if options["start"]:
            start = _parse_date(options["start"], "--start")
        else:
            start = given_dates[0] if given_dates else today
        if given_dates and start > given_dates[0]:
            raise _fail(f"--start {start} is after the first dose given ({given_dates[0]}).")

        given = [GivenDose(day, serious_reaction=(number in reactions)) for number, day in enumerate(given_dates, 1)]
        plan = dose_plan(
            regimen.spec(), start_date=start, given=given, options=course_options, today=today, count=options["count"]
        )

        if options["json"]:
            if plan:
                result = {**dose_as_dict(plan[0]), "upcoming": [dose_as_dict(dose) for dose in plan[1:]]}
            else:
                result = {
                    "dose_number": None,
                    "phase": None,
                    "target_date": None,
                    "earliest_date": None,
                    "latest_date": None,
                    "premed_minutes": None,
                    "infusion_minutes": None,
                    "observation_minutes": None,
                    "status": None,
                    "upcoming": [],
                }
            result = {"regimen": regimen.code, "today": today.isoformat(), **result}
            self.stdout.write(json.dumps(result, indent=2))
            return

        self.stdout.write(f"{regimen.name}: {len(given)} dose(s) given, course start {start}, today {today}")
        self._write_plan(plan)

    def _course(self, options) -> None:
        value = options["course"]
        course = (
            TreatmentCourse.objects.select_related("patient__clinic", "regimen").filter(pk=int(value)).first()
            if value.isdecimal() and len(value) < 10
            else None
        )
        if course is None:
            raise _fail(f"No treatment course with id {value!r}. The id is in the course page's address.")
        today = _parse_date(options["today"], "--today") if options["today"] else None
        doses = course_doses(course, today=today, plan_length=options["count"])
        plan = list(doses.plan)
        if options["json"]:
            result = {
                "course": course.pk,
                "regimen": course.regimen.code,
                "today": doses.today.isoformat(),
                "given": [_visit_as_dict(visit) for visit in doses.given],
                "booked": [_visit_as_dict(visit) for visit in doses.booked],
                "next": dose_as_dict(plan[0]) if plan else None,
                "upcoming": [dose_as_dict(dose) for dose in plan[1:]],
            }
            self.stdout.write(json.dumps(result, indent=2))
            return
        self.stdout.write(
            f"{course.regimen.name}, course {course.pk}: {len(doses.given)} dose(s) given, "
            f"{len(doses.booked)} booked, today {doses.today}"
        )
        for booked in doses.booked:
            self.stdout.write(f"  booked: dose {booked.dose_number} on {booked.date}")
        self._write_plan(plan)

    def _write_plan(self, plan: list[PlannedDose]) -> None:
        if not plan:
            self.stdout.write("No further dose: the regimen is complete.")
            return
        self.stdout.write("Next:")
        for line in _dose_lines(plan[0]):
            self.stdout.write(f"  {line}")
        if plan[1:]:
            self.stdout.write("Then, each assumed given on its target date:")
            for dose in plan[1:]:
                for line in _dose_lines(dose):
                    self.stdout.write(f"  {line}")
