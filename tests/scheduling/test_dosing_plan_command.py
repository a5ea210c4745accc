"""The `dosing_plan` command clinic IT uses to check a regimen's configuration, or a course on file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from clinic.models import Regimen
from tests.factories import PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, free_chair, local

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command("dosing_plan", *args, stdout=out)
    return out.getvalue()


def test_it_prints_the_next_dose_and_the_plan_as_json(db):
    result = json.loads(
        run("--regimen", "ocrevus", "--given", "2027-01-06", "--given", "2027-01-20", "--today", "2027-06-20", "--json")
    )
    assert result["regimen"] == "ocrevus"
    assert {
        key: result[key]
        for key in (
            "dose_number",
            "phase",
            "target_date",
            "earliest_date",
            "latest_date",
            "premed_minutes",
            "infusion_minutes",
            "observation_minutes",
            "status",
        )
    } == {
        "dose_number": 3,
        "phase": "maintenance",
        "target_date": "2027-07-06",
        "earliest_date": "2027-06-20",
        "latest_date": "2027-07-13",
        "premed_minutes": 30,
        "infusion_minutes": 210,
        "observation_minutes": 60,
        "status": "due_soon",
    }
    assert result["reason"] == "dose 3, maintenance 600 mg IV: due 6 Jul 2027, not before 20 Jun 2027"
    assert [(dose["dose_number"], dose["target_date"], dose["status"]) for dose in result["upcoming"]] == [
        (4, "2028-01-06", "not_yet_due"),
        (5, "2028-07-06", "not_yet_due"),
        (6, "2029-01-06", "not_yet_due"),
    ]


def test_options_and_reactions_change_the_chair_time(db):
    args = ["--regimen", "ocrevus", "--given", "2027-01-06", "--given", "2027-01-20", "--today", "2027-06-20", "--json"]
    short = json.loads(run(*args, "--option", "short_infusion=true"))
    assert short["infusion_minutes"] == 120
    after_reaction = json.loads(run(*args, "--option", "short_infusion=true", "--reaction", "1"))
    assert after_reaction["infusion_minutes"] == 210


def test_tysabri_on_the_extended_interval(db):
    result = json.loads(
        run("--regimen", "tysabri", "--given", "2027-01-04", "--option", "extended_interval=yes", "--json")
    )
    assert result["target_date"] == "2027-02-15"


def test_without_doses_given_the_course_starts_on_the_given_start_date(db):
    result = json.loads(run("--regimen", "lemtrada", "--start", "2027-03-01", "--today", "2027-02-01", "--json"))
    assert (result["dose_number"], result["target_date"], result["status"]) == (1, "2027-03-01", "not_yet_due")
    assert [dose["target_date"] for dose in result["upcoming"]] == ["2027-03-02", "2027-03-03", "2027-03-04"]


def test_the_text_output_reads_as_sentences(db):
    text = run("--regimen", "ocrevus", "--given", "2027-01-06", "--given", "2027-01-20", "--today", "2027-06-20")
    assert "dose 3, maintenance 600 mg IV: due 6 Jul 2027, not before 20 Jun 2027" in text
    assert "chair time 300 min: 30 premedication, 210 infusion, 60 observation" in text
    assert "status: due soon" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--regimen", "ocrevus-iv"], "Unknown regimen 'ocrevus-iv'. Known regimens: briumvi, lemtrada, ocrevus,"),
        (["--regimen", "ocrevus", "--given", "2027-02-30"], "--given '2027-02-30' is not a date"),
        (["--regimen", "ocrevus", "--given", "6/1/2027"], "is not a date; write it as YYYY-MM-DD"),
        (["--regimen", "ocrevus", "--given", "2027-01-06", "--today", "tomorrow"], "--today 'tomorrow' is not a date"),
        (
            ["--regimen", "ocrevus", "--given", "2027-01-20", "--given", "2027-01-06"],
            "--given dates are out of order: 2027-01-06 comes after 2027-01-20",
        ),
        (["--regimen", "ocrevus", "--given", "2027-01-06", "--given", "2027-01-06"], "out of order"),
        (["--regimen", "ocrevus", "--given", "2027-01-06", "--reaction", "2"], "must be the number of a given dose"),
        (["--regimen", "ocrevus", "--option", "short_infusion"], "needs the form KEY=VALUE"),
        (["--regimen", "ocrevus", "--option", "extended_interval=1"], "offers no course option 'extended_interval'"),
        (["--given", "2027-01-06"], "Give --regimen CODE"),
        (["--course", "²"], "No treatment course with id '²'"),
        (["--course", "99999999999999999999"], "No treatment course with id"),
        (["--course", "1", "--regimen", "ocrevus"], "--course reads the course's own regimen"),
    ],
)
def test_it_refuses_bad_input_with_exit_status_2(db, args, message):
    with pytest.raises(CommandError) as error:
        run(*args)
    assert error.value.returncode == 2
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--regimen", "nope"],
        ["--regimen", "ocrevus", "--given", "2027-13-01"],
        ["--regimen", "ocrevus", "--given", "2027-02-01", "--given", "2027-01-01"],
    ],
)
def test_from_the_shell_it_prints_one_line_and_exits_with_status_2(db, args):
    settings = connection.settings_dict
    login = settings["USER"] + (f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else "")
    url = f"postgres://{login}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, "manage.py", "dosing_plan", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("CommandError: ")


def test_for_a_course_on_file_it_plans_after_the_doses_given_and_booked(clinic_a):
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a),
        regimen=Regimen.objects.get(code="ocrevus"),
        start_date=date(2027, 1, 6),
    )
    first = local(clinic_a, date(2027, 1, 6), 9)
    book_directly(chair=free_chair(clinic_a, first, first), course=course, starts_at=first, status="completed")
    second = local(clinic_a, date(2027, 1, 20), 9)
    book_directly(chair=free_chair(clinic_a, second, second), course=course, starts_at=second, dose_number=2)
    result = json.loads(run("--course", str(course.pk), "--today", "2027-01-10", "--json"))
    assert [dose["dose_number"] for dose in result["given"]] == [1]
    assert [(dose["dose_number"], dose["date"]) for dose in result["booked"]] == [(2, "2027-01-20")]
    assert (result["next"]["dose_number"], result["next"]["target_date"]) == (3, "2027-07-06")
    text = run("--course", str(course.pk), "--today", "2027-01-10")
    assert "1 dose(s) given, 1 booked" in text
    assert "booked: dose 2 on 2027-01-20" in text
