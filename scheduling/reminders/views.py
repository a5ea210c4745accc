"""Reminder pages: the clinic-wide list of failed reminders, their retry (one, or all of a period),
and the patient's link that stops reminder emails (in the patient's language)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from patients.models import Patient
from scheduling.models import Reminder
from scheduling.reminders.content import patient_id_from_signed_unsubscribe_token
from scheduling.reminders.forms import RetryFailedForm
from scheduling.reminders.outbox import (
    ReminderError,
    failed_in_period,
    patient_unsubscribe,
    reminder_retry,
    reminders_retry_failed,
)
from scheduling.reminders.selectors import reminders_failed_for_user, reminders_for_user


def _reminder_for_user(user, reminder_id) -> Reminder:
    reminder = reminders_for_user(user).filter(pk=reminder_id).first()
    if reminder is None:
        raise Http404("No such reminder.")
    return reminder


@permission_required("scheduling.view_reminder", raise_exception=True)
def failed_list(request):
    failed = reminders_failed_for_user(request.user)[:500]
    form = RetryFailedForm(user=request.user) if request.user.has_perm("scheduling.change_reminder") else None
    return render(request, "scheduling/reminders/failed_list.html", {"reminders": failed, "retry_form": form})


@require_POST
@permission_required("scheduling.change_reminder", raise_exception=True)
def retry_failed(request):
    """Send again every failed reminder of a clinic and a period: asks first, then does it."""
    form = RetryFailedForm(request.POST, user=request.user)
    if not form.is_valid():
        failed = reminders_failed_for_user(request.user)[:500]
        context = {"reminders": failed, "retry_form": form}
        return render(request, "scheduling/reminders/failed_list.html", context, status=400)
    period = {name: form.cleaned_data[name] for name in ("clinic", "first_day", "last_day")}
    if not form.cleaned_data["confirmed"]:
        count = failed_in_period(**period).count()
        return render(
            request, "scheduling/reminders/retry_failed_confirm.html", {"form": form, "count": count, **period}
        )
    result = reminders_retry_failed(**period, by=request.user)
    if result.retried:
        messages.success(
            request,
            f"{result.retried} failed reminder{'s' if result.retried != 1 else ''} will be sent again within a minute.",
        )
    else:
        messages.info(request, "No failed reminder of that clinic and period could be sent again.")
    if result.refused:
        messages.warning(
            request,
            f"{result.refused} can no longer be sent (the visit has started, moved or been cancelled, or the patient "
            "turned reminders off); they stay in the list. Call those patients instead.",
        )
    return redirect("scheduling:reminders_failed")


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


# What the page for an unsubscribe link that names no one says, in each language (it knows no patient's).
UNSUBSCRIBE_INVALID = gettext_lazy(
    "The link may have been cut short when it was copied. Open it again from the email, "
    "or call your clinic and ask them to stop reminder emails."
)


# The link's token is the authorization, not a session cookie, so a cross-site form gains
# nothing and CSRF protection is not needed; mail clients' one-click unsubscribe (RFC 8058)
# POSTs here without a token of ours.
@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    patients = Patient.objects.select_related("clinic")
    patient = patients.filter(unsubscribe_token=token).first() if token else None
    if patient is None:
        patient_id = patient_id_from_signed_unsubscribe_token(token)
        patient = patients.filter(pk=patient_id).first() if patient_id else None
    if patient is None:
        return render(request, "scheduling/reminders/link_invalid.html", {"sentence": UNSUBSCRIBE_INVALID}, status=400)
    with translation.override(patient.language):
        if request.method == "POST":
            # Link scanners in mail systems only GET, so only the confirmation turns reminders off.
            patient_unsubscribe(patient=patient)
            return render(request, "scheduling/reminders/unsubscribe_done.html", {"clinic": patient.clinic})
        return render(
            request,
            "scheduling/reminders/unsubscribe.html",
            {"clinic": patient.clinic, "already": patient.unsubscribed_at is not None},
        )
