"""What the capacity pages show: the charts and CSV rows of a forecast or of the utilisation,
the authorizations about to expire, and the home page's figures per clinic."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, Q

from clinic import dates
from clinic.models import Clinic
from patients.models import TreatmentCourse
from scheduling.capacity.charts import Series, bar_chart
from scheduling.capacity.forecast import Forecast, ForecastDay
from scheduling.capacity.utilisation import Utilisation
from scheduling.doses import clinic_today

AUTHORIZATION_DAYS = 30


def _share(value: float | None) -> str:
    if value is None:
        return ""
    if value == float("inf"):
        return "closed"
    return f"{value:.1f}"


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}"


# --- The forecast ------------------------------------------------------------------------------

FORECAST_HEADER = [
    "period",
    "start",
    "end",
    "open_chair_hours",
    "booked_chair_hours",
    "unbooked_chair_hours",
    "needed_chair_hours",
    "chair_percent",
    "nurse_capacity",
    "peak_nurse_load",
    "nurse_percent",
    "over_threshold",
    "movable_doses",
]


def forecast_rows(forecast: Forecast) -> list[list[str]]:
    """The table behind the charts: one row per week, then one per day of the first six weeks."""
    rows = []
    for week in forecast.weeks:
        rows.append(
            [
                "week",
                week.monday.isoformat(),
                (week.monday + timedelta(days=6)).isoformat(),
                _hours(week.chair_minutes),
                _hours(week.booked_minutes),
                _hours(week.planned_minutes),
                _hours(week.needed_minutes),
                _share(week.chair_percent),
                str(max((day.capacity.nurse_capacity for day in week.days), default=0)),
                str(week.peak_patients),
                _share(week.nurse_percent),
                str(week.flagged_days),
                str(sum(len(day.movable) for day in week.days)),
            ]
        )
    for day in forecast.near_days:
        rows.append(
            [
                "day",
                day.day.isoformat(),
                day.day.isoformat(),
                _hours(day.capacity.chair_minutes),
                _hours(day.booked_minutes),
                _hours(day.planned_minutes),
                _hours(day.needed_minutes),
                _share(day.chair_percent),
                str(day.capacity.nurse_capacity),
                str(day.peak_patients),
                _share(day.nurse_percent),
                "yes" if day.flagged else "no",
                str(len(day.movable)),
            ]
        )
    return rows


def _capped(value: float | None) -> float | None:
    return None if value is None else min(value, 200.0)


def forecast_charts(forecast: Forecast) -> dict:
    weeks = forecast.weeks
    busiest = max(weeks, key=lambda week: week.chair_percent or 0, default=None)
    week_text = (
        f"{len(weeks)} weeks from {dates.day(weeks[0].monday)}. Busiest week of {dates.day_month(busiest.monday)}: "
        f"{_share(busiest.chair_percent) or '0'}% of chair hours. Weeks with a day over {forecast.threshold}%: "
        f"{sum(1 for week in weeks if week.flagged_days)}."
        if busiest
        else "No weeks."
    )
    days: list[ForecastDay] = [day for day in forecast.near_days if day.capacity.is_open]
    return {
        "weeks_chart": bar_chart(
            chart_id="forecast-weeks",
            title=f"Chair hours and peak nurse load needed per week at {forecast.clinic.name}, as % of capacity",
            description=week_text,
            categories=[f"{dates.day_month(week.monday)}" for week in weeks],
            series=[
                Series("Chair hours", [_capped(week.chair_percent) for week in weeks], "chart-series-0"),
                Series("Peak nurse load", [_capped(week.nurse_percent) for week in weeks], "chart-series-1"),
            ],
            unit="%",
            threshold=forecast.threshold,
            floor_max=100,
            label_every=2,
        ),
        "days_chart": bar_chart(
            chart_id="forecast-days",
            title=f"Chair hours and peak nurse load needed per open day, next {len(days)} open days, as % of capacity",
            description=(
                f"Days over {forecast.threshold}%: {sum(day.flagged for day in days)} of {len(days)} open days."
            ),
            categories=[f"{dates.weekday_day_month(day.day)}" for day in days],
            series=[
                Series("Chair hours", [_capped(day.chair_percent) for day in days], "chart-series-0"),
                Series("Peak nurse load", [_capped(day.nurse_percent) for day in days], "chart-series-1"),
            ],
            unit="%",
            threshold=forecast.threshold,
            floor_max=100,
            label_every=5,
        ),
    }


# --- Utilisation -------------------------------------------------------------------------------

UTILISATION_HEADER = ["figure", "group", "count", "of", "value", "unit"]


def utilisation_rows(result: Utilisation) -> list[list[str]]:
    """Every figure of the page in one long table: what, for which group, counted over what, the value."""
    rows = []
    for bucket in result.buckets:
        rows.append(
            [
                "scheduled utilisation",
                bucket.start.isoformat(),
                str(bucket.scheduled_minutes),
                str(bucket.open_minutes),
                _share(bucket.scheduled_percent),
                "%",
            ]
        )
        rows.append(
            [
                "actual utilisation",
                bucket.start.isoformat(),
                str(bucket.actual_minutes),
                str(bucket.open_minutes),
                _share(bucket.actual_percent),
                "%",
            ]
        )
    for cycle in result.cycle_times:
        rows.append(["planned chair time", cycle.regimen, str(cycle.visits), "", f"{cycle.planned_mean:.1f}", "min"])
        rows.append(["actual chair time", cycle.regimen, str(cycle.visits), "", f"{cycle.actual_mean:.1f}", "min"])
    for rate in result.rates:
        rows.append([rate.name.lower(), "all", str(rate.count), str(rate.of), _share(rate.percent), "%"])
    for label, count in result.first_infusion_bins:
        rows.append(
            [
                "days from course start to first infusion",
                label,
                str(count),
                str(len(result.first_infusion_days)),
                "",
                "",
            ]
        )
    return rows


def utilisation_charts(result: Utilisation) -> dict:
    buckets = result.buckets
    cycles = result.cycle_times
    rates = result.rates
    bins = result.first_infusion_bins
    return {
        "utilisation_chart": bar_chart(
            chart_id="utilisation",
            title="Scheduled and actual chair utilisation, as % of open chair time",
            description=(
                f"{len(buckets)} periods from {dates.day(result.start)} to {dates.day(result.end)}; "
                f"{result.visits} appointments."
            ),
            categories=[bucket.label for bucket in buckets],
            series=[
                Series("Scheduled", [bucket.scheduled_percent for bucket in buckets], "chart-series-0"),
                Series("Actual", [bucket.actual_percent for bucket in buckets], "chart-series-1"),
            ],
            unit="%",
            floor_max=100,
            label_every=max(len(buckets) // 12, 1),
        ),
        "cycle_chart": bar_chart(
            chart_id="cycle-times",
            title="Chair time per visit by regimen: planned and actual, in minutes",
            description=f"{len(cycles)} regimens with completed visits whose times were recorded.",
            categories=[cycle.regimen for cycle in cycles],
            series=[
                Series("Planned", [cycle.planned_mean for cycle in cycles], "chart-series-0"),
                Series("Actual", [cycle.actual_mean for cycle in cycles], "chart-series-1"),
            ],
            unit=" min",
        ),
        "rates_chart": bar_chart(
            chart_id="rates",
            title="Late starts, overruns, no-shows, late cancellations and doses given in their window, as %",
            description="; ".join(f"{rate.name}: {_share(rate.percent) or 'none'}%" for rate in rates),
            categories=[rate.name for rate in rates],
            series=[Series("Share", [rate.percent for rate in rates], "chart-series-0")],
            unit="%",
            floor_max=100,
        ),
        "first_infusion_chart": bar_chart(
            chart_id="first-infusion",
            title="Courses by days from course start to first infusion",
            description="; ".join(f"{label}: {count}" for label, count in bins),
            categories=[label for label, _ in bins],
            series=[Series("Courses", [float(count) for _, count in bins], "chart-series-0")],
        ),
    }


# --- Authorizations and the home page ----------------------------------------------------------


def _expiring(clinics: Iterable[Clinic]):
    """Active courses of these clinics whose authorization expires by their clinic's today + 30 days."""
    condition = Q(pk__in=[])
    for clinic in clinics:
        condition |= Q(
            patient__clinic=clinic,
            authorization_expires_on__lte=clinic_today(clinic) + timedelta(days=AUTHORIZATION_DAYS),
        )
    return TreatmentCourse.objects.filter(condition, status=TreatmentCourse.Status.ACTIVE)


def authorizations_expiring(clinics: Iterable[Clinic]) -> list[TreatmentCourse]:
    return list(
        _expiring(clinics)
        .select_related("patient__clinic", "regimen__drug")
        .order_by("authorization_expires_on", "patient__last_name", "pk")
    )


def authorizations_expiring_counts(clinics: Iterable[Clinic]) -> dict[int, int]:
    """{clinic id: active courses whose authorization has expired or expires within 30 days}."""
    rows = _expiring(clinics).values("patient__clinic").annotate(count=Count("pk")).order_by()
    return {row["patient__clinic"]: row["count"] for row in rows}
