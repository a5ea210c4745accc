"""What the patient page shows of each course's doses, read from `scheduling.doses`.

The patient page (patients/views.py) reads this through the documented seam: pages may read
another app's selectors. Given doses, booked visits, the next dose to book and the doses
after it all come from the one dose module, so the page shows what booking, the worklist
and reminders work from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from clinic.dosing import MonitoringItem, PlannedDose
from clinic.models import Chair
from patients.models import TreatmentCourse
from scheduling.doses import Visit, courses_doses

PLAN_LENGTH = 4  # the next dose and the three after it
RECENT_DOSES = 6


@dataclass(frozen=True)
class BookedVisit:
    visit: Visit
    chair_name: str

    @property
    def dose_number(self) -> int:
        return self.visit.dose_number

    @property
    def starts_at(self):
        return self.visit.starts_at


@dataclass
class CourseDosingSummary:
    """One course's doses given, visits booked, the next dose to book and the plan after it."""

    course: TreatmentCourse
    today: date
    doses_given: list[Visit]
    booked: list[BookedVisit]
    next_dose: PlannedDose | None
    upcoming: list[PlannedDose]  # the doses after the next one, each assumed on its target date
    monitoring: list[MonitoringItem] = field(default_factory=list)

    @property
    def regimen(self):
        return self.course.regimen

    @property
    def is_active(self) -> bool:
        return self.course.status == TreatmentCourse.Status.ACTIVE

    @property
    def recent_doses(self) -> list[Visit]:
        """The last few doses given, newest first (the page folds the rest away)."""
        return list(reversed(self.doses_given[-RECENT_DOSES:]))

    @property
    def earlier_doses(self) -> list[Visit]:
        return list(reversed(self.doses_given[:-RECENT_DOSES]))

    @property
    def complete(self) -> bool:
        return self.next_dose is None


def course_dosing_summaries(courses, today: date | None = None) -> dict[int, CourseDosingSummary]:
    """Summaries for a patient's courses, keyed by course id, in a fixed number of queries."""
    courses = list(courses.select_related("patient__clinic", "regimen__drug"))
    doses = courses_doses(courses, today=today, plan_length=PLAN_LENGTH, monitoring=True)
    chair_ids = {visit.chair_id for entry in doses.values() for visit in entry.booked}
    chairs = dict(Chair.objects.filter(pk__in=chair_ids).values_list("pk", "name")) if chair_ids else {}
    summaries = {}
    for course in courses:
        entry = doses[course.pk]
        summaries[course.pk] = CourseDosingSummary(
            course=course,
            today=entry.today,
            doses_given=list(entry.given),
            booked=[BookedVisit(visit, chairs.get(visit.chair_id, "")) for visit in entry.booked],
            next_dose=entry.next,
            upcoming=list(entry.upcoming),
            monitoring=list(entry.monitoring),
        )
    return summaries
