"""The manager's "Level this day" page: the proposal before and after, and its confirmation."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from clinic.inputs import InputError, latest_day, parse_day
from scheduling.capacity.access import capacity_clinic_for_user, require_manager
from scheduling.doses import clinic_today
from scheduling.levelling.selectors import proposal, proposal_charts
from scheduling.levelling.services import LevellingError, levelling_apply


def _day(request, clinic, data):
    today = clinic_today(clinic)
    value = data.get("day")
    if not value:
        return today
    try:
        return parse_day(value, low=today, high=latest_day(today), name="day")
    except InputError:
        raise Http404("Levelling is for today or a later day.") from None


def level_url(clinic, day) -> str:
    return f"{reverse('scheduling:levelling_day')}?{urlencode({'clinic': clinic.pk, 'day': day.isoformat()})}"


@login_required
@require_http_methods(["GET", "POST"])
def level_day(request):
    """GET: the moves that would level the day, before and after. POST: make them (the manager confirmed)."""
    require_manager(request.user)
    data = request.POST if request.method == "POST" else request.GET
    clinic = capacity_clinic_for_user(request.user, data.get("clinic"))
    if clinic is None:
        raise Http404("You are not assigned to any clinic yet.")
    day = _day(request, clinic, data)
    error = ""
    if request.method == "POST":
        try:
            moved = levelling_apply(clinic=clinic, day=day, token=data.get("token", ""), by=request.user)
        except LevellingError as refusal:
            error = refusal.message
        else:
            messages.success(
                request,
                f"{len(moved)} visit{'s' if len(moved) != 1 else ''} moved; each patient gets a notice of the new time.",
            )
            return redirect(
                f"{reverse('scheduling:roster')}?{urlencode({'clinic': clinic.pk, 'day': day.isoformat()})}"
            )
    item = proposal(clinic, day)
    context = {
        "clinic": clinic,
        "day": day,
        "proposal": item,
        "error": error,
        "previous_day": day - timedelta(days=1) if day > clinic_today(clinic) else None,
        "next_day": day + timedelta(days=1),
        **proposal_charts(item),
    }
    return render(request, "scheduling/levelling/day.html", context, status=409 if error else 200)
