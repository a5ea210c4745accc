"""Booking pages: the suggested slots for a course's next dose, and booking one."""

from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import render

from clinic.access import clinics_for_user
from patients.models import TreatmentCourse


def _course_for_user(user, course_id) -> TreatmentCourse:
    course = (
        TreatmentCourse.objects.select_related("patient__clinic", "regimen__drug")
        .filter(pk=course_id, patient__clinic__in=clinics_for_user(user))
        .first()
    )
    if course is None:
        raise Http404("No such treatment course.")
    return course


@permission_required("scheduling.add_appointment", raise_exception=True)
def book(request, course_id: int):
    course = _course_for_user(request.user, course_id)
    return render(request, "scheduling/booking/book.html", {"course": course})
