"""The front desk's booking pages: suggested slots, confirm, changes, the week view, and the JSON search.

Thin views: each fetches its records through the clinic boundary (a member of staff only
ever sees their own clinics), validates one form, calls one service and redirects, or
renders a partial for htmx. Only ids and dates travel in URLs.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from clinic.access import clinics_for_user, default_clinic_for_user, get_clinic_for_user
from clinic.dosing import ChairTime, format_day
from clinic.models import Chair, Closure, OpeningHours
from patients.models import TreatmentCourse
from scheduling.availability.search import course_dose, find_slots_for_course
from scheduling.booking.forms import BookingForm, CancelForm, RescheduleForm, SlotSearchForm, WeekForm
from scheduling.booking.services import (
    OVERRIDE_PERMISSION,
    BookingError,
    booking_cancel,
    booking_create,
    booking_create_series,
    booking_mark_no_show,
    booking_reschedule,
    series_doses,
    series_plan,
)
from scheduling.models import Appointment

SUGGESTION_DAYS = 10  # days with free slots listed on the booking page


# --- Access ------------------------------------------------------------------------------------


def get_course_for_user(user, course_id) -> TreatmentCourse:
    course = (
        TreatmentCourse.objects.select_related("patient__clinic", "regimen__drug")
        .filter(pk=course_id, patient__clinic__in=clinics_for_user(user))
        .first()
    )
    if course is None:
        raise Http404("No such treatment course.")
    return course


def get_appointment_for_user(user, appointment_id) -> Appointment:
    appointment = (
        Appointment.objects.select_related(
            "clinic", "chair", "patient", "course__patient__clinic", "course__regimen__drug", "booked_by"
        )
        .filter(pk=appointment_id, clinic__in=clinics_for_user(user))
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment


def _today(clinic) -> date:
    return timezone.now().astimezone(clinic.tz).date()


def _when(moment: datetime, clinic) -> str:
    local = moment.astimezone(clinic.tz)
    return f"{local:%a} {format_day(local.date())} at {local:%H:%M}"


def _week_url(clinic, day: date, *, highlight: int | None = None, course: int | None = None) -> str:
    url = f"{reverse('scheduling:week')}?clinic={clinic.pk}&start={day.isoformat()}"
    if highlight:
        url += f"&highlight={highlight}"
    if course:
        url += f"&course={course}"
    return url


def _search_args(form: SlotSearchForm) -> dict:
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return {"dose_number": data.get("dose"), "start": data.get("start"), "end": data.get("end")}


def _course_appointments(course):
    return (
        Appointment.objects.active()
        .filter(course=course, starts_at__gte=timezone.now() - timedelta(days=1))
        .select_related("chair")
        .order_by("starts_at")
    )


# --- Booking ----------------------------------------------------------------------------------


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_GET
def book(request, course_id: int):
    """The suggested slots for the course's next dose: the earliest, the balanced one, then day by day."""
    course = get_course_for_user(request.user, course_id)
    form = SlotSearchForm(request.GET or None)
    search = None
    series = []
    if course.status == TreatmentCourse.Status.ACTIVE and (not form.is_bound or form.is_valid()):
        search = find_slots_for_course(course, **_search_args(form))
        if search and search.dose.dose_in_block == 1 and search.dose.block_size > 1:
            series = series_doses(course)
    context = {
        "course": course,
        "clinic": course.patient.clinic,
        "form": form,
        "search": search,
        "series": series,
        "days": search.first_per_start()[: SUGGESTION_DAYS * 3] if search else [],
        "booked": _course_appointments(course),
        "confirm_url": reverse("scheduling:book_confirm", args=[course.pk]),
    }
    if request.htmx:
        return render(request, "scheduling/booking/_slots.html", context)
    return render(request, "scheduling/booking/book.html", context)


@permission_required("scheduling.add_appointment", raise_exception=True)
def book_confirm(request, course_id: int):
    """Confirm a chosen slot (GET shows it, POST books it); a refusal shows why and fresh suggestions."""
    course = get_course_for_user(request.user, course_id)
    clinic = course.patient.clinic
    can_override = request.user.has_perm(OVERRIDE_PERMISSION)
    data = request.POST if request.method == "POST" else request.GET
    form = BookingForm(data, clinic=clinic, can_override=can_override)
    error = ""
    status = 200
    items = []
    dose = None
    if form.is_valid():
        chair = form.cleaned_data["chair"]
        starts_at = form.cleaned_data["starts_at"]
        wants_series = form.cleaned_data["series"]
        if request.method == "POST":
            try:
                if wants_series:
                    appointments = booking_create_series(
                        course=course,
                        chair=chair,
                        starts_at=starts_at,
                        booked_by=request.user,
                        override_reason=form.cleaned_data.get("override_reason", ""),
                    )
                else:
                    appointments = [
                        booking_create(
                            course=course,
                            chair=chair,
                            starts_at=starts_at,
                            booked_by=request.user,
                            override_reason=form.cleaned_data.get("override_reason", ""),
                        )
                    ]
            except BookingError as refusal:
                error = refusal.message
                status = 409
            else:
                first = appointments[0]
                if len(appointments) > 1:
                    text = (
                        f"Booked {len(appointments)} doses for {course.patient.full_name}, from "
                        f"{_when(first.starts_at, clinic)} to {_when(appointments[-1].starts_at, clinic)}."
                    )
                else:
                    text = (
                        f"Booked dose {first.dose_number} for {course.patient.full_name} on "
                        f"{_when(first.starts_at, clinic)} in {first.chair.name}."
                    )
                messages.success(request, text)
                return HttpResponseRedirect(
                    _week_url(clinic, first.starts_at.astimezone(clinic.tz).date(), highlight=first.pk)
                )
        dose = course_dose(course)
        if wants_series and not error:
            try:
                items = series_plan(course=course, chair=chair, starts_at=starts_at)
            except BookingError as refusal:
                error = refusal.message
    else:
        error = "That slot could not be read. Pick a slot from the suggestions."
    early = bool(
        dose and form.is_valid() and form.cleaned_data["starts_at"].astimezone(clinic.tz).date() < dose.earliest_date
    )
    suggestions = find_slots_for_course(course) if error else None
    chosen = None
    # After a refusal the slot is shown again only when a manager's override can still book it.
    if form.is_valid() and dose is not None and (not error or early):
        chosen = {
            "chair": form.cleaned_data["chair"],
            "starts_at": form.cleaned_data["starts_at"],
            "ends_at": form.cleaned_data["starts_at"] + timedelta(minutes=dose.chair_time.total_minutes),
        }
    context = {
        "course": course,
        "clinic": clinic,
        "form": form,
        "chosen": chosen,
        "dose": dose,
        "items": items,
        "error": error,
        "early": early,
        "can_override": can_override,
        "search": suggestions,
        "days": suggestions.first_per_start()[:SUGGESTION_DAYS] if suggestions else [],
        "confirm_url": reverse("scheduling:book_confirm", args=[course.pk]),
    }
    return render(request, "scheduling/booking/confirm.html", context, status=status)


# --- One appointment: details and changes -----------------------------------------------------


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
def appointment_detail(request, appointment_id: int):
    appointment = get_appointment_for_user(request.user, appointment_id)
    return render(
        request,
        "scheduling/booking/appointment.html",
        {
            "appointment": appointment,
            "clinic": appointment.clinic,
            "events": appointment.events.select_related("by"),
            "started": appointment.starts_at <= timezone.now(),
            "cancel_form": CancelForm(),
        },
    )


@permission_required("scheduling.change_appointment", raise_exception=True)
def reschedule(request, appointment_id: int):
    """Suggestions for the same dose (GET), a chosen slot to confirm (GET with chair and start), POST moves it."""
    appointment = get_appointment_for_user(request.user, appointment_id)
    clinic = appointment.clinic
    course = appointment.course
    can_override = request.user.has_perm(OVERRIDE_PERMISSION)
    data = request.POST if request.method == "POST" else (request.GET if "chair" in request.GET else None)
    form = RescheduleForm(data, clinic=clinic, can_override=can_override)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            booking_reschedule(
                appointment=appointment,
                chair=form.cleaned_data["chair"],
                starts_at=form.cleaned_data["starts_at"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        except BookingError as refusal:
            error = refusal.message
            status = 409
        else:
            moved = form.cleaned_data["starts_at"]
            messages.success(request, f"Moved to {_when(moved, clinic)} in {form.cleaned_data['chair'].name}.")
            return HttpResponseRedirect(_week_url(clinic, moved.astimezone(clinic.tz).date(), highlight=appointment.pk))
    search_form = SlotSearchForm(request.GET if "chair" not in request.GET else None)
    args = _search_args(search_form)
    args["dose_number"] = appointment.dose_number
    search = find_slots_for_course(
        course,
        exclude_appointment_ids=[appointment.pk],
        chair_time=ChairTime(appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes),
        **args,
    )
    context = {
        "appointment": appointment,
        "course": course,
        "clinic": clinic,
        "form": form,
        "chosen": form.is_bound and form.is_valid(),
        "search_form": search_form,
        "search": search,
        "days": search.first_per_start()[: SUGGESTION_DAYS * 3] if search else [],
        "error": error,
        "confirm_url": reverse("scheduling:reschedule", args=[appointment.pk]),
    }
    return render(request, "scheduling/booking/reschedule.html", context, status=status)


@permission_required("scheduling.change_appointment", raise_exception=True)
def cancel(request, appointment_id: int):
    appointment = get_appointment_for_user(request.user, appointment_id)
    form = CancelForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            booking_cancel(appointment=appointment, by=request.user, reason=form.cleaned_data["reason"])
        except BookingError as refusal:
            error = refusal.message
        else:
            messages.success(request, "The appointment is cancelled and its chair is free again.")
            return redirect("scheduling:appointment", appointment.pk)
    return render(
        request,
        "scheduling/booking/cancel.html",
        {"appointment": appointment, "clinic": appointment.clinic, "form": form, "error": error},
        status=409 if error else 200,
    )


@permission_required("scheduling.mark_arrival", raise_exception=True)
@require_POST
def no_show(request, appointment_id: int):
    appointment = get_appointment_for_user(request.user, appointment_id)
    try:
        booking_mark_no_show(appointment=appointment, by=request.user)
    except BookingError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "Marked as a no-show. The chair is free again and the patient can be rebooked.")
    return redirect("scheduling:appointment", appointment.pk)


# --- The week view ----------------------------------------------------------------------------


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
def week(request):
    """Chairs by days for one clinic and one week, with occupancy; with a course, its free slots to pick."""
    form = WeekForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if data.get("clinic"):
        clinic = get_clinic_for_user(request.user, data["clinic"])
    else:
        clinic = default_clinic_for_user(request.user)
    if clinic is None:
        return render(request, "scheduling/week.html", {"clinic": None})
    course = None
    if data.get("course") and request.user.has_perm("scheduling.add_appointment"):
        course = get_course_for_user(request.user, data["course"])
        if course.patient.clinic_id != clinic.pk:
            raise Http404("No such treatment course at this clinic.")
    today = _today(clinic)
    anchor = data.get("start") or today
    monday = anchor - timedelta(days=anchor.weekday())
    days = [monday + timedelta(days=offset) for offset in range(7)]
    tz = clinic.tz
    chairs = list(Chair.objects.filter(clinic=clinic, active=True))
    appointments = (
        Appointment.objects.active()
        .filter(
            clinic=clinic,
            starts_at__gte=datetime.combine(monday, time.min, tzinfo=tz),
            starts_at__lt=datetime.combine(monday + timedelta(days=7), time.min, tzinfo=tz),
        )
        .select_related("patient", "course__regimen__drug")
    )
    cells: dict[tuple[int, date], list] = defaultdict(list)
    booked_minutes: dict[date, int] = defaultdict(int)
    for appointment in appointments:
        day = appointment.starts_at.astimezone(tz).date()
        cells[(appointment.chair_id, day)].append(appointment)
        booked_minutes[day] += int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    hours = {row.weekday: row for row in OpeningHours.objects.filter(clinic=clinic)}
    closures = list(Closure.objects.filter(clinic=clinic, starts_on__lte=days[-1], ends_on__gte=monday))
    free: dict[tuple[int, date], list] = defaultdict(list)
    search = None
    if course is not None and course.status == TreatmentCourse.Status.ACTIVE:
        search = find_slots_for_course(course, start=max(monday, today), end=max(days[-1], today))
        if search:
            for slot in search.slots:
                free[(slot.chair_id, slot.local_day)].append(slot)
    header = []
    for day in days:
        closure = next((c for c in closures if c.starts_on <= day <= c.ends_on), None)
        opening = hours.get(day.weekday())
        if closure or opening is None:
            header.append({"day": day, "closed": closure.reason if closure else "Closed", "occupancy": None})
            continue
        open_minutes = (
            datetime.combine(day, opening.closes, tzinfo=tz) - datetime.combine(day, opening.opens, tzinfo=tz)
        ).total_seconds() // 60
        capacity = open_minutes * len(chairs)
        header.append(
            {
                "day": day,
                "closed": "",
                "occupancy": round(100 * booked_minutes[day] / capacity) if capacity else 0,
                "today": day == today,
            }
        )
    rows = [
        {
            "chair": chair,
            "cells": [
                {"day": day, "appointments": cells[(chair.pk, day)], "free": free[(chair.pk, day)][:6]} for day in days
            ],
        }
        for chair in chairs
    ]
    highlight = request.GET.get("highlight", "")
    return render(
        request,
        "scheduling/week.html",
        {
            "clinic": clinic,
            "clinics": clinics_for_user(request.user),
            "course": course,
            "search": search,
            "header": header,
            "rows": rows,
            "monday": monday,
            "previous_week": _week_url(clinic, monday - timedelta(days=7), course=course.pk if course else None),
            "next_week": _week_url(clinic, monday + timedelta(days=7), course=course.pk if course else None),
            "this_week": _week_url(clinic, today, course=course.pk if course else None),
            "highlight": int(highlight) if highlight.isdigit() else None,
            "confirm_url": reverse("scheduling:book_confirm", args=[course.pk]) if course else "",
        },
    )


# --- JSON ----------------------------------------------------------------------------------------


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_GET
def availability_json(request):
    """The same search as the booking page: `course` (id), `from` and `to` (dates), `dose` (number) in.

    Out: the dose and its window, the earliest and the balanced slot, every slot in time
    order (at most `limit`, default 500) and each day's reason when it has none.
    """
    course_id = request.GET.get("course", "")
    if not course_id.isdigit():
        return JsonResponse({"error": "Give the course as its id, e.g. ?course=12."}, status=400)
    course = get_course_for_user(request.user, int(course_id))
    form = SlotSearchForm(
        {"start": request.GET.get("from", ""), "end": request.GET.get("to", ""), "dose": request.GET.get("dose", "")}
    )
    if not form.is_valid():
        return JsonResponse(
            {"error": "Check the dates (YYYY-MM-DD) and the dose number.", "fields": form.errors}, status=400
        )
    limit_text = request.GET.get("limit", "500")
    limit = int(limit_text) if limit_text.isdigit() else 500
    if course.status != TreatmentCourse.Status.ACTIVE:
        return JsonResponse({"error": "This treatment course is not active."}, status=409)
    result = find_slots_for_course(course, **_search_args(form))
    if result is None:
        return JsonResponse({"error": "This course has no further dose to book."}, status=404)
    return JsonResponse({"course": course.pk, **result.as_dict(limit=limit)})
