"""The worklist: every active course whose next dose is due within N weeks and not yet booked.

Read in a fixed number of queries (the courses, the regimens' phases and monitoring, the
completed and the open appointments), however many patients are due: the dosing rules
then run in memory for each course.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from clinic.dosing import DoseStatus, PlannedDose
from patients.models import TreatmentCourse
from patients.selectors import next_doses, with_dosing

DEFAULT_WEEKS = 6

# The order the front desk works in: what is late first, then what is due soonest.
STATUS_ORDER = {DoseStatus.OVERDUE: 0, DoseStatus.DUE: 1, DoseStatus.DUE_SOON: 2, DoseStatus.NOT_YET_DUE: 3}
STATUS_LABELS = {
    DoseStatus.OVERDUE: "Overdue",
    DoseStatus.DUE: "Due",
    DoseStatus.DUE_SOON: "Due soon",
    DoseStatus.NOT_YET_DUE: "Coming up",
}


@dataclass(frozen=True)
class WorklistRow:
    course: TreatmentCourse
    dose: PlannedDose
    today: date  # the clinic's own date

    @property
    def patient(self):
        return self.course.patient

    @property
    def clinic(self):
        return self.course.patient.clinic

    @property
    def regimen(self):
        return self.course.regimen

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.dose.status]

    @property
    def days_from_target(self) -> int:
        """Days since the target date (negative while it is still ahead)."""
        return (self.today - self.dose.target_date).days

    @property
    def days_to_target(self) -> int:
        return -self.days_from_target

    @property
    def days_overdue(self) -> int:
        """Days past the end of the window."""
        return max((self.today - self.dose.latest_date).days, 0)

    @property
    def can_give_now(self) -> bool:
        """Today is on or after the earliest allowed date."""
        return self.today >= self.dose.earliest_date


def worklist_rows(
    *,
    clinics,
    weeks: int = DEFAULT_WEEKS,
    drug=None,
    status: str | None = None,
    today: date | None = None,
) -> list[WorklistRow]:
    """Doses due within `weeks` and not yet booked, in the given clinics; overdue first, then by target.

    `clinics` is a queryset or list of clinics the user may see (from `clinics_for_user`).
    `drug` limits to one Drug; `status` to one DoseStatus value. `today` defaults to each
    clinic's own date. A further course given only when the prescriber asks never appears.
    """
    courses = TreatmentCourse.objects.filter(status=TreatmentCourse.Status.ACTIVE, patient__clinic__in=clinics)
    if drug is not None:
        courses = courses.filter(regimen__drug=drug)
    rows = []
    for entry in next_doses(with_dosing(courses), today=today).values():
        dose = entry.dose
        if dose is None or dose.when_needed or entry.booked:
            continue
        if dose.target_date > entry.today + timedelta(weeks=weeks):
            continue
        if status and dose.status != status:
            continue
        rows.append(WorklistRow(course=entry.course, dose=dose, today=entry.today))
    rows.sort(
        key=lambda row: (
            row.dose.status != DoseStatus.OVERDUE,
            row.dose.target_date,
            row.patient.last_name.lower(),
            row.patient.first_name.lower(),
            row.course.pk,
        )
    )
    return rows
