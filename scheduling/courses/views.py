"""The course status page (`scheduling:course_status`): pause, stop or resume a treatment course.

The page lists the appointments a pause or a stop will cancel before anyone confirms it;
the change itself is one call to `course_status_change`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from patients.forms import apply_errors
from scheduling.booking.access import get_course_for_user
from scheduling.courses.forms import CourseStatusForm
from scheduling.courses.selectors import course_future_appointments
from scheduling.courses.services import CourseStatusResult, course_status_change


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
