"""Reminder pages: the clinic-wide list of failed reminders, their retry, and unsubscribing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from patients.models import Patient
from scheduling.models import Reminder
from scheduling.reminders.content import patient_id_from_unsubscribe_token
from scheduling.reminders.outbox import ReminderError, patient_unsubscribe, reminder_retry
from scheduling.reminders.selectors import reminders_failed_for_user, reminders_for_user


def _reminder_for_user(user, reminder_id) -> Reminder:
    reminder = reminders_for_user(user).filter(pk=reminder_id).first()
    if reminder is None:
        raise Http404("No such reminder.")
    return reminder


@permission_required("scheduling.view_reminder", raise_exception=True)
def failed_list(request):
    failed = reminders_failed_for_user(request.user)[:500]
    return render(request, "scheduling/reminders/failed_list.html", {"reminders": failed})


@require_POST
@permission_required("scheduling.change_reminder", raise_exception=True)
def retry(request, reminder_id: int):
    reminder = _reminder_for_user(request.user, reminder_id)
    try:
        reminder_retry(reminder=reminder, by=request.user)
    except ReminderError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "The reminder will be sent again within a minute.")
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect("scheduling:reminders_failed")


# The signed token is the authorization, not a session cookie, so a cross-site form gains
# nothing and CSRF protection is not needed; mail clients' one-click unsubscribe (RFC 8058)
# POSTs here without a token of ours.
@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    patient_id = patient_id_from_unsubscribe_token(token)
    patient = Patient.objects.select_related("clinic").filter(pk=patient_id).first() if patient_id else None
    if patient is None:
        return render(request, "scheduling/reminders/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        # Link scanners in mail systems only GET, so only the confirmation turns reminders off.
        patient_unsubscribe(patient=patient)
        return render(request, "scheduling/reminders/unsubscribe_done.html", {"clinic": patient.clinic})
    return render(
        request,
        "scheduling/reminders/unsubscribe.html",
        {"clinic": patient.clinic, "already": patient.unsubscribed_at is not None},
    )
