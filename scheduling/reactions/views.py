"""Clearing a prescriber hold (`scheduling:reaction_hold_clear`), posted from the patient or course page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from patients.forms import ReviewClearForm
from scheduling.booking.access import get_course_for_user
from scheduling.roster.reactions import CLEAR_PERMISSION, reaction_review_clear
from scheduling.roster.services import VisitError, VisitPermissionError


@require_POST
@permission_required(CLEAR_PERMISSION, raise_exception=True)
def reaction_hold_clear(request, course_id: int):
    course = get_course_for_user(request.user, course_id)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = ""
    form = ReviewClearForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The hold was not cleared: " + " ".join(form.errors.get("note", [])))
    else:
        try:
            cleared = reaction_review_clear(course=course, note=form.cleaned_data["note"], by=request.user)
        except VisitPermissionError as error:
            raise PermissionDenied(str(error)) from error
        except VisitError as error:
            messages.error(request, f"The hold was not cleared: {error}")
        else:
            count = len(cleared)
            messages.success(
                request,
                f"The prescriber hold is cleared ({count} reaction{'s' if count != 1 else ''} reviewed). "
                "The next dose can be booked.",
            )
    return redirect(back or f"{reverse('patients:detail', args=[course.patient_id])}#course-{course.pk}-reactions")
