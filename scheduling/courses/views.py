"""The course status page (`scheduling:course_status`): pause, stop or resume a treatment course;
and the switch page (`scheduling:course_switch`): stop it and start another drug.

Each page lists the appointments it will cancel before anyone confirms it; the change itself
is one call to `course_status_change` or `course_switch`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from clinic import dates
from patients.forms import apply_errors
from scheduling.booking.access import get_course_for_user
from scheduling.courses.forms import CourseStatusForm, CourseSwitchForm
from scheduling.courses.selectors import course_future_appointments
from scheduling.courses.services import (
    CourseStatusResult,
    CourseSwitchResult,
    course_status_change,
    course_switch_plan,
)
from scheduling.courses.services import course_switch as course_switch_service


def _done_message(result: CourseStatusResult) -> str:
    status = result.course.get_status_display().lower()
    if result.course.status == result.course.Status.ACTIVE:
        return "The course is active again. Its next dose is on the worklist to book."
    count = len(result.cancelled_appointments)
    if count == 0:
        return f"The course is {status}. It had no future appointments to cancel."
    appointments = "appointment was" if count == 1 else "appointments were"
    return f"The course is {status}. {count} future {appointments} cancelled, with their reminders."


# The same permission as editing the course: whoever may change a course may pause or stop it.
@permission_required("patients.change_treatmentcourse", raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_status(request, course_id: int):
    course = get_course_for_user(request.user, course_id)
    form = CourseStatusForm(request.POST or None, course=course)
    if request.method == "POST" and form.is_valid():
        try:
            result = course_status_change(
                course=course, status=form.cleaned_data["status"], by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _done_message(result))
            return redirect("patients:detail", patient_id=course.patient_id)
    return render(
        request,
        "scheduling/courses/status.html",
        {
            "course": course,
            "patient": course.patient,
            "clinic": course.patient.clinic,
            "form": form,
            "appointments": course_future_appointments(course),
        },
    )


def _switched_message(result: CourseSwitchResult) -> str:
    started = result.started
    count = len(result.stopped.cancelled_appointments)
    cancelled = (
        f" {count} future appointment{'s' if count != 1 else ''} cancelled, with their reminders." if count else ""
    )
    return (
        f"Switched: the {result.stopped.course.regimen.drug.brand_name} course is stopped.{cancelled} "
        f"The {started.regimen.drug.brand_name} course starts {dates.day(started.start_date)}; open it to set "
        "its options and authorization."
    )


# Starting the new course and stopping the old one: whoever may do both (front desk, managers).
@permission_required(["patients.add_treatmentcourse", "patients.change_treatmentcourse"], raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_switch(request, course_id: int):
    """Switch the course's patient to another drug: the first post previews, the confirmed one switches."""
    course = get_course_for_user(request.user, course_id)
    form = CourseSwitchForm(request.POST or None, course=course)
    plan = None
    if request.method == "POST" and form.is_valid():
        choices = {key: form.cleaned_data[key] for key in ("to_regimen", "stop_on", "start_on")}
        try:
            plan = course_switch_plan(course=course, **choices)
            if form.cleaned_data["confirm"]:
                result = course_switch_service(
                    course=course, by=request.user, reason=form.cleaned_data["reason"], **choices
                )
                messages.success(request, _switched_message(result))
                return redirect("patients:course_edit", patient_id=course.patient_id, course_id=result.started.pk)
        except ValidationError as error:
            apply_errors(form, error)
    return render(
        request,
        "patients/course_switch.html",
        {
            "course": course,
            "patient": course.patient,
            "clinic": course.patient.clinic,
            "form": form,
            "plan": plan,
            "appointments": plan.cancelled if plan else course_future_appointments(course),
        },
    )
