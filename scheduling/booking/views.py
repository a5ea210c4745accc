"""The front desk's booking pages: suggested slots, confirm, changes, and the JSON search.

Each view fetches its records through `access.py` (a member of staff only ever sees their
own clinics), validates one form, then calls one service and redirects, or reads what the
page shows from a selector and renders it (a partial for htmx). Only ids and dates travel
in URLs.
"""

from __future__ import annotations

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from clinic import dates
from clinic.dosing import ChairTime
from clinic.inputs import InputError, clamp_int, parse_id
from patients.models import TreatmentCourse
from scheduling.availability.search import find_slots_for_course
from scheduling.booking.access import get_appointment_for_user, get_course_for_user
from scheduling.booking.forms import BookingForm, CancelForm, RescheduleForm, SlotSearchForm
from scheduling.booking.selectors import (
    SUGGESTION_DAYS,
    SlotSuggestions,
    booking_page,
    course_forecast,
    course_upcoming_appointments,
    move_preview,
    slot_suggestions,
)
from scheduling.booking.services import (
    OVERRIDE_PERMISSION,
    BookingError,
    booking_cancel,
    booking_create,
    booking_create_series,
    booking_mark_no_show,
    booking_reschedule,
    booking_reschedule_series,
    cancel_consequences,
)
from scheduling.models import Appointment


def week_url(clinic, day: date, *, highlight: int | None = None, course: int | None = None) -> str:
    """The week view of `clinic` holding `day`, with an appointment highlighted or a course picking a slot."""
    url = f"{reverse('scheduling:week')}?clinic={clinic.pk}&start={day.isoformat()}"
    if highlight:
        url += f"&highlight={highlight}"
    if course:
        url += f"&course={course}"
    return url


def _when(moment: datetime, clinic) -> str:
    return dates.weekday_day_at(moment.astimezone(clinic.tz))


def _booked_message(course: TreatmentCourse, appointments: list[Appointment]) -> str:
    clinic = course.patient.clinic
    first = appointments[0]
    if len(appointments) > 1:
        return (
            f"Booked {len(appointments)} doses for {course.patient.full_name}, from "
            f"{_when(first.starts_at, clinic)} to {_when(appointments[-1].starts_at, clinic)}."
        )
    return f"Booked dose {first.dose_number} for {course.patient.full_name} on {_when(first.starts_at, clinic)} in {first.chair.name}."


def _search_args(form: SlotSearchForm) -> dict:
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return {"dose_number": data.get("dose"), "start": data.get("start"), "end": data.get("end")}


# --- Booking ----------------------------------------------------------------------------------


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_GET
def book(request, course_id: int):
    """The suggested slots for the course's next dose: the earliest, the balanced one, then day by day."""
    course = get_course_for_user(request.user, course_id)
    form = SlotSearchForm(request.GET or None)
    suggestions = SlotSuggestions(None)
    if course.status == TreatmentCourse.Status.ACTIVE and (not form.is_bound or form.is_valid()):
        suggestions = slot_suggestions(course, **_search_args(form))
    search, series = suggestions.search, suggestions.series
    context = {
        "course": course,
        "clinic": course.patient.clinic,
        "form": form,
        "search": search,
        "series": series,
        "days": search.first_per_start()[: SUGGESTION_DAYS * 3] if search else [],
        "booked": course_upcoming_appointments(course),
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
    form = BookingForm(
        request.POST if request.method == "POST" else request.GET, clinic=clinic, can_override=can_override
    )
    slot = form.cleaned_data if form.is_valid() else {}
    refusal = ""
    if request.method == "POST" and slot:
        booking = {
            "course": course,
            "chair": slot["chair"],
            "starts_at": slot["starts_at"],
            "booked_by": request.user,
            "override_reason": slot.get("override_reason", ""),
        }
        try:
            appointments = booking_create_series(**booking) if slot["series"] else [booking_create(**booking)]
        except BookingError as problem:
            refusal = problem.message
        else:
            messages.success(request, _booked_message(course, appointments))
            first = appointments[0]
            return HttpResponseRedirect(
                week_url(clinic, first.starts_at.astimezone(clinic.tz).date(), highlight=first.pk)
            )
    page = booking_page(
        course,
        chair=slot.get("chair"),
        starts_at=slot.get("starts_at"),
        series=bool(slot.get("series")),
        refusal=refusal,
    )
    context = {
        "course": course,
        "clinic": clinic,
        "form": form,
        "chosen": page.chosen,
        "dose": page.dose,
        "items": page.items,
        "error": page.error,
        "early": page.early,
        "can_override": can_override,
        "search": page.search,
        "days": page.days,
        "confirm_url": reverse("scheduling:book_confirm", args=[course.pk]),
    }
    return render(request, "scheduling/booking/confirm.html", context, status=409 if refusal else 200)


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
        move = booking_reschedule_series if form.cleaned_data["together"] else booking_reschedule
        try:
            move(
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
            return HttpResponseRedirect(week_url(clinic, moved.astimezone(clinic.tz).date(), highlight=appointment.pk))
    search_form = SlotSearchForm(request.GET if "chair" not in request.GET else None)
    args = _search_args(search_form)
    args["dose_number"] = appointment.dose_number
    search = find_slots_for_course(
        course,
        exclude_appointment_ids=[appointment.pk],
        chair_time=ChairTime(appointment.premed_minutes, appointment.infusion_minutes, appointment.observation_minutes),
        forecast=course_forecast(course),
        **args,
    )
    chosen = form.is_bound and form.is_valid()
    context = {
        "appointment": appointment,
        "course": course,
        "clinic": clinic,
        "form": form,
        "chosen": chosen,
        "preview": (
            move_preview(appointment, chair=form.cleaned_data["chair"], starts_at=form.cleaned_data["starts_at"])
            if chosen
            else None
        ),
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
            booking_cancel(
                appointment=appointment,
                by=request.user,
                reason=form.cleaned_data["reason"],
                with_later_doses=form.cleaned_data["later_doses"],
            )
        except BookingError as refusal:
            error = refusal.message
        else:
            messages.success(request, "The appointment is cancelled and its chair is free again.")
            return redirect("scheduling:appointment", appointment.pk)
    return render(
        request,
        "scheduling/booking/cancel.html",
        {
            "appointment": appointment,
            "clinic": appointment.clinic,
            "form": form,
            "error": error,
            "consequences": cancel_consequences(appointment),
        },
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


# --- JSON ----------------------------------------------------------------------------------------

DEFAULT_SLOTS, MAX_SLOTS = 500, 5000


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_GET
def availability_json(request):
    """The same search as the booking page: `course` (id), `from` and `to` (dates), `dose` (number) in.

    Out: the dose and its window, the earliest and the balanced slot, every slot in time
    order (at most `limit`, from 1 to 5,000, default 500) and each day's reason when it has none.
    """
    try:
        course_id = parse_id(request.GET.get("course"), name="course")
    except InputError:
        course_id = None
    if course_id is None:
        return JsonResponse({"error": "Give the course as its id, e.g. ?course=12."}, status=400)
    course = get_course_for_user(request.user, course_id)
    form = SlotSearchForm(
        {"start": request.GET.get("from", ""), "end": request.GET.get("to", ""), "dose": request.GET.get("dose", "")}
    )
    if not form.is_valid():
        return JsonResponse(
            {"error": "Check the dates (YYYY-MM-DD) and the dose number.", "fields": form.errors}, status=400
        )
    limit = clamp_int(request.GET.get("limit"), low=1, high=MAX_SLOTS, default=DEFAULT_SLOTS)
    if course.status != TreatmentCourse.Status.ACTIVE:
        return JsonResponse({"error": "This treatment course is not active."}, status=409)
    result = find_slots_for_course(course, forecast=course_forecast(course), **_search_args(form))
    if result is None:
        return JsonResponse({"error": "This course has no further dose to book."}, status=404)
    return JsonResponse({"course": course.pk, **result.as_dict(limit=limit)})
