"""The home page: each role starts where its work is; and the managers' list of data problems.

The manager's home is an operations page per clinic: today's and tomorrow's booked load against
capacity, overdue doses, failed reminders, authorizations expiring within 30 days and data
problems, each a link to the list behind it.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone

from clinic.access import clinics_for_user
from clinic.dosing import DoseStatus
from clinic.roles import FORMULARY, FRONT_DESK, NURSE, role_of
from scheduling.capacity.access import is_manager
from scheduling.capacity.forecast import booked_days
from scheduling.capacity.selectors import AUTHORIZATION_DAYS, authorizations_expiring_counts
from scheduling.data_problems import LIST_LIMIT, data_problem_counts, data_problems_for_clinics
from scheduling.models import CapacityPolicy
from scheduling.reminders.selectors import reminders_failed_by_clinic
from scheduling.worklist.selectors import worklist_queryset

# The manager's figure of failed reminders counts this far back.
FAILED_REMINDERS_WINDOW = timedelta(hours=24)

# Where each role's day starts; the manager (and a superuser) get the overview below.
ROLE_HOMES = {FRONT_DESK: "scheduling:worklist", NURSE: "scheduling:roster"}


def home(request):
    """Each role's home page: the front desk's worklist, the nurses' roster, the manager's overview."""
    role = role_of(request.user)
    if role in ROLE_HOMES:
        return redirect(ROLE_HOMES[role])
    if not is_manager(request.user):
        if request.user.groups.filter(name=FORMULARY).exists():
            return redirect("admin:index")  # the formulary is kept in Clinic settings
        return render(request, "clinic/home.html", {"role": None, "overview": []})
    return render(request, "clinic/home.html", {"role": role, "overview": _overview(request.user)})


def data_problems(request):
    """The records of the manager's clinics that Chairside cannot plan from, each with where to correct it."""
    if not is_manager(request.user):
        raise PermissionDenied("The list of data problems is for clinic managers.")
    clinics = list(clinics_for_user(request.user).order_by("name"))
    problems = data_problems_for_clinics([clinic.pk for clinic in clinics])
    by_clinic = [
        {"clinic": clinic, "problems": [problem for problem in problems if problem.clinic_id == clinic.pk]}
        for clinic in clinics
    ]
    context = {"by_clinic": by_clinic, "total": len(problems), "limit": LIST_LIMIT}
    return render(request, "scheduling/data_problems.html", context)


def _overview(user) -> list[dict]:
    """Each of the user's clinics' figures for today and tomorrow, today being the clinic's own local date."""
    clinics = list(
        clinics_for_user(user).annotate(
            active_chairs=Count("chairs", filter=Q(chairs__active=True), distinct=True),
            registered_patients=Count("patients", distinct=True),
        )
    )
    failed = reminders_failed_by_clinic(
        [clinic.pk for clinic in clinics], since=timezone.now() - FAILED_REMINDERS_WINDOW
    )
    problems = data_problem_counts(clinic.pk for clinic in clinics)
    authorizations = authorizations_expiring_counts(clinics)
    overdue = {
        row["clinic_id"]: row["count"]
        for row in worklist_queryset(clinics=clinics, status=DoseStatus.OVERDUE.value)
        .order_by()
        .values("clinic_id")
        .annotate(count=Count("pk"))
    }
    policies = CapacityPolicy.for_clinics(clinics)
    rows = []
    for clinic in clinics:
        today = timezone.localdate(timezone=clinic.tz)
        # The reverse manager carries the Appointment queryset's methods, so the clinic app
        # needs no import from scheduling.
        appointments = clinic.appointments.active().for_clinic_day(clinic, today)
        figures = appointments.aggregate(total=Count("pk"), patients=Count("patient", distinct=True))
        loads = booked_days(clinic, today, today + timedelta(days=1), threshold=policies[clinic.pk].overload_percent)
        rows.append(
            {
                "clinic": clinic,
                "today": today,
                "appointments": figures["total"],
                "patients_today": figures["patients"],
                "chairs": clinic.active_chairs,
                "patients": clinic.registered_patients,
                "failed_reminders": failed.get(clinic.pk, 0),
                "data_problems": problems.get(clinic.pk, 0),
                "overdue_doses": overdue.get(clinic.pk, 0),
                "authorizations_expiring": authorizations.get(clinic.pk, 0),
                "authorization_days": AUTHORIZATION_DAYS,
                "loads": [("Today", loads[today]), ("Tomorrow", loads[today + timedelta(days=1)])],
            }
        )
    return rows
