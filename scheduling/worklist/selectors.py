"""The worklist: every active course whose next dose is due within N weeks and not yet booked.

Read from the stored next-dose state (`scheduling.models.DoseState`, one row per active
course, kept in step by `scheduling.doses`): filtered, ordered and paged in SQL, so a page
costs the same few queries for 10 courses or 100,000. A dose's status is worked out from its
stored dates and each clinic's own today, as `clinic.dosing.dose_status` does.

A course with a visit on the books is not listed: the front desk books one visit at a time,
and the course's next dose comes back once that visit is given, cancelled or missed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import Case, CharField, Count, Exists, IntegerField, OuterRef, Q, Value, When
from django.db.models.functions import Lower

from clinic.dosing import ChairTime, DoseStatus
from scheduling.doses import clinic_today
from scheduling.models import DoseState, InfusionReaction

DEFAULT_WEEKS = 6
PAGE_SIZE = 50

# The order the front desk works in: what is late first, then what is due soonest.
STATUS_LABELS = {
    DoseStatus.OVERDUE: "Overdue",
    DoseStatus.DUE: "Due",
    DoseStatus.DUE_SOON: "Due soon",
    DoseStatus.NOT_YET_DUE: "Coming up",
}


@dataclass(frozen=True)
class WorklistDose:
    """The next dose as the worklist shows it (the stored state of `scheduling.doses`)."""

    dose_number: int
    phase: str
    dose_label: str
    dose_in_block: int
    block_size: int
    target_date: date
    earliest_date: date
    latest_date: date
    chair_time: ChairTime
    status: str


@dataclass(frozen=True)
class WorklistRow:
    state: DoseState
    dose: WorklistDose
    today: date  # the clinic's own date

    @property
    def course(self):
        return self.state.course

    @property
    def patient(self):
        return self.state.patient

    @property
    def clinic(self):
        return self.state.clinic

    @property
    def regimen(self):
        return self.state.regimen

    @property
    def held_for_review(self) -> bool:
        """A grade 4 or 5 reaction holds the course for the prescriber: it cannot be booked yet."""
        return bool(getattr(self.state, "held_for_review", False))

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[DoseStatus(self.dose.status)]

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


def _todays(clinics, today: date | None) -> dict[date, list[int]]:
    """The clinics grouped by their own today (a few groups at most: one per date in use)."""
    groups: dict[date, list[int]] = defaultdict(list)
    for clinic in clinics:
        groups[today or clinic_today(clinic)].append(clinic.pk)
    return groups


def _status_case(groups: dict[date, list[int]]) -> Case:
    whens = []
    for day, ids in groups.items():
        whens += [
            When(clinic_id__in=ids, latest_date__lt=day, then=Value(DoseStatus.OVERDUE.value)),
            When(clinic_id__in=ids, target_date__lte=day, then=Value(DoseStatus.DUE.value)),
            When(clinic_id__in=ids, due_soon_from__lte=day, then=Value(DoseStatus.DUE_SOON.value)),
        ]
    return Case(*whens, default=Value(DoseStatus.NOT_YET_DUE.value), output_field=CharField())


def worklist_queryset(*, clinics, weeks: int = DEFAULT_WEEKS, drug=None, status: str | None = None, today=None):
    """The worklist's rows as a queryset of DoseState, annotated with `dose_status`, in working order.

    `clinics` are the clinics the user may see (`clinics_for_user`); `drug` limits to one
    Drug, `status` to one DoseStatus value; `today` defaults to each clinic's own date. A
    further course given only when the prescriber asks never appears.
    """
    clinics = list(clinics)
    groups = _todays(clinics, today)
    horizon = Q(pk__in=[])
    for day, ids in groups.items():
        horizon |= Q(clinic_id__in=ids, target_date__lte=day + timedelta(weeks=weeks))
    rows = (
        DoseState.objects.filter(horizon, dose_number__isnull=False, when_needed=False, booked_count=0)
        .annotate(dose_status=_status_case(groups))
        .annotate(
            held_for_review=Exists(
                InfusionReaction.objects.awaiting_review().filter(appointment__course=OuterRef("course"))
            )
        )
        .annotate(
            overdue_first=Case(
                When(dose_status=DoseStatus.OVERDUE.value, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .select_related("course", "patient", "clinic", "regimen__drug")
        .order_by("overdue_first", "target_date", Lower("patient__last_name"), Lower("patient__first_name"), "pk")
    )
    if drug is not None:
        rows = rows.filter(drug=drug)
    if status:
        rows = rows.filter(dose_status=status)
    return rows


def _row(state: DoseState, today: date | None) -> WorklistRow:
    dose = WorklistDose(
        dose_number=state.dose_number,
        phase=state.phase,
        dose_label=state.dose_label,
        dose_in_block=state.dose_in_block,
        block_size=state.block_size,
        target_date=state.target_date,
        earliest_date=state.earliest_date,
        latest_date=state.latest_date,
        chair_time=ChairTime(state.premed_minutes, state.infusion_minutes, state.observation_minutes),
        status=state.dose_status,
    )
    return WorklistRow(state=state, dose=dose, today=today or clinic_today(state.clinic))


def worklist_page(
    *,
    clinics,
    weeks: int = DEFAULT_WEEKS,
    drug=None,
    status: str | None = None,
    page: int | str | None = 1,
    per_page: int = PAGE_SIZE,
    today: date | None = None,
) -> tuple[Page, int]:
    """One page of the worklist (`page.object_list` holds WorklistRow) and the overdue count, in two queries."""
    rows = worklist_queryset(clinics=clinics, weeks=weeks, drug=drug, status=status, today=today)
    totals = rows.order_by().aggregate(
        total=Count("pk"), overdue=Count("pk", filter=Q(dose_status=DoseStatus.OVERDUE.value))
    )
    paginator = Paginator(rows, per_page)
    paginator.count = totals["total"]  # counted above, with the overdue rows, in one pass
    result = paginator.get_page(page)
    result.object_list = [_row(state, today) for state in result.object_list]
    return result, totals["overdue"]


def worklist_rows(*, clinics, weeks: int = DEFAULT_WEEKS, drug=None, status=None, today=None) -> list[WorklistRow]:
    """Every row of the worklist, unpaged (for tests and exports of a small clinic)."""
    return [
        _row(state, today)
        for state in worklist_queryset(clinics=clinics, weeks=weeks, drug=drug, status=status, today=today)
    ]
