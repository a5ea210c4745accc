"""The week view: one clinic's chairs by days, with occupancy; with a course, its free starts to pick."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from clinic.access import clinics_for_user, default_clinic_for_user, get_clinic_for_user
from scheduling.booking.access import get_course_for_user
from scheduling.booking.views import week_url
from scheduling.week.forms import WeekForm
from scheduling.week.selectors import clinic_week


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
def week(request):
    form = WeekForm(request.GET or None)
    data = {}
    if form.is_bound:
        if not form.is_valid():
            # A value that cannot be read is left out, and the sentence says what was wrong with it.
            messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        data = form.cleaned_data
    if data.get("clinic"):
        clinic = get_clinic_for_user(request.user, data["clinic"])
    else:
        clinic = default_clinic_for_user(request.user)
    if clinic is None:
        return render(request, "scheduling/week.html", {"clinic": None})
    course = None
    # Picking a slot on the week is booking: only those who may book see a course's free starts.
    if data.get("course") and request.user.has_perm("scheduling.add_appointment"):
        course = get_course_for_user(request.user, data["course"])
        if course.patient.clinic_id != clinic.pk:
            raise Http404("No such treatment course at this clinic.")
    plan = clinic_week(clinic, anchor=data.get("start"), course=course)
    course_id = course.pk if course else None
    return render(
        request,
        "scheduling/week.html",
        {
            "clinic": clinic,
            "clinics": clinics_for_user(request.user),
            "course": course,
            "search": plan.search,
            "header": plan.header,
            "rows": plan.rows,
            "monday": plan.monday,
            "previous_week": week_url(clinic, plan.monday - timedelta(days=7), course=course_id),
            "next_week": week_url(clinic, plan.monday + timedelta(days=7), course=course_id),
            "this_week": week_url(clinic, plan.today, course=course_id),
            "highlight": data.get("highlight"),
            "confirm_url": reverse("scheduling:book_confirm", args=[course.pk]) if course else "",
        },
    )
