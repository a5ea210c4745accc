"""The stored next-dose state of each active course: what the worklist and the planner read.

A derived table, kept in step by `scheduling.doses` in the same transaction as every write
that moves a course's next dose. `python manage.py dosing_state --verify` recomputes it
from the appointments and says where it disagrees. A row holds dates only, no status: a
dose's status (due soon, due, overdue) changes with the calendar, not with any write, so it
is worked out from these dates and the clinic's today at read time.

A row also says when the course's own record is wrong in a way the rules cannot plan from
(`problem`, worked out with the next dose and verified with it), and when the reminder
planner last failed on it (`planning_failed_at`, the planner's own record, cleared by the
next refresh). `scheduling.data_problems` defines both and lists them for managers.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from clinic.models import Clinic, Drug, Regimen
from patients.models import Patient, TreatmentCourse


class DoseState(models.Model):
    class Problem(models.TextChoices):
        NONE = "", "None"
        DATES = "dates", "Dates outside the range Chairside plans in"
        REGIMEN = "regimen", "A regimen the dosing rules cannot read"

    course = models.OneToOneField(TreatmentCourse, on_delete=models.CASCADE, primary_key=True, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    regimen = models.ForeignKey(Regimen, on_delete=models.CASCADE, related_name="+")
    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="+")
    # The next dose neither given nor booked; all empty when the regimen has no further dose.
    dose_number = models.PositiveSmallIntegerField(null=True)
    target_date = models.DateField(null=True)
    earliest_date = models.DateField(null=True)
    latest_date = models.DateField(null=True)
    due_soon_from = models.DateField(null=True, help_text="From this day the dose counts as due soon.")
    when_needed = models.BooleanField(default=False, help_text="Given only when the prescriber asks.")
    phase = models.CharField(max_length=40, blank=True)
    dose_label = models.CharField(max_length=80, blank=True)
    dose_in_block = models.PositiveSmallIntegerField(default=1)
    block_size = models.PositiveSmallIntegerField(default=1)
    premed_minutes = models.PositiveSmallIntegerField(default=0)
    infusion_minutes = models.PositiveSmallIntegerField(default=0)
    observation_minutes = models.PositiveSmallIntegerField(default=0)
    # The course's visits that hold a chair and are not given yet.
    booked_count = models.PositiveSmallIntegerField(default=0)
    next_visit_at = models.DateTimeField(null=True)
    given_count = models.PositiveSmallIntegerField(default=0)
    first_given_on = models.DateField(null=True)
    last_given_on = models.DateField(null=True)
    problem = models.CharField(max_length=10, choices=Problem.choices, blank=True, default=Problem.NONE)
    planning_failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the reminder planner last failed on this course."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["clinic", "target_date"],
                condition=Q(dose_number__isnull=False, when_needed=False, booked_count=0),
                name="dosestate_due_by_clinic",
            ),
            models.Index(fields=["drug", "target_date"], name="dosestate_due_by_drug"),
            # Few rows: the managers' count and the planner's skip list read them without a scan.
            models.Index(
                fields=["clinic"],
                condition=~Q(problem="") | Q(planning_failed_at__isnull=False),
                name="dosestate_data_problems",
            ),
        ]

    def __str__(self) -> str:
        return f"course {self.course_id}: dose {self.dose_number} due {self.target_date}"

    @property
    def booked(self) -> bool:
        return self.booked_count > 0
