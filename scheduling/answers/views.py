"""The answer pages a patient opens from a message (no login: the link's token is the credential),
the page that stops their text messages, and the front desk's button that takes a dealt-with
answer off their list.

GET only shows the question (mail systems and phones open links to preview them); the POST,
with its CSRF token, acts. Every view and every answer is in the audit trail. A page is in the
patient's language, taken from the link's visit (never from the browser); a link not found,
or opened too often, is answered in every language, since it names no patient.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.lockouts import client_address
from audit.history import record_viewed
from patients.models import Patient
from scheduling.answers.forms import AnswerForm
from scheduling.answers.ratelimit import too_many
from scheduling.answers.selectors import answers_for_user
from scheduling.answers.services import AnswerError, patient_answer_handled, patient_answer_record
from scheduling.models import AnswerLink
from scheduling.offers.views import offer_answer
from scheduling.reminders.answer_links import link_refusal
from scheduling.reminders.content import format_long_moment, page_sms_stop_url, phone_link
from scheduling.reminders.outbox import patient_sms_stop

TEMPLATES = {
    AnswerLink.Purpose.CONFIRM: "scheduling/answers/confirm.html",
    AnswerLink.Purpose.CANCEL: "scheduling/answers/cancel.html",
    AnswerLink.Purpose.OTHER_TIME: "scheduling/answers/other_time.html",
}


def _visit(link: AnswerLink) -> dict:
    """What the page shows: the clinic, the time, the patient's first name. No drug, no diagnosis, no surname."""
    appointment = link.appointment
    clinic = appointment.clinic
    patient = appointment.patient
    return {
        "clinic": clinic,
        "clinic_phone_html": phone_link(clinic.phone),
        "first_name": patient.first_name,
        "when": format_long_moment(link.starts_at, clinic.tz),
        "time_zone": clinic.time_zone,
        "sms_stop_url": page_sms_stop_url(patient),
    }


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, token: str):
    if too_many(address=client_address(request), token=token):
        return render(request, "scheduling/answers/too_many.html", status=429)
    link = (
        AnswerLink.objects.select_related("appointment__clinic", "appointment__patient", "offer__patient")
        .filter(token=token)
        .first()
    )
    if link is None:
        return render(request, "scheduling/answers/invalid.html", status=404)
    record_viewed(link)
    if link.offer_id:
        # An earlier-time offer's link: take this time, or no thanks.
        with translation.override(link.offer.patient.language):
            return offer_answer(request, link)
    with translation.override(link.appointment.patient.language):
        return _answer(request, link)


def _answer(request, link: AnswerLink):
    token = link.token
    context = _visit(link)
    refusal = link_refusal(link, now=timezone.now())
    if refusal:
        return render(request, "scheduling/answers/refused.html", {**context, "refusal": refusal}, status=410)
    form = AnswerForm(request.POST if request.method == "POST" else None, purpose=link.purpose)
    if request.method == "POST" and form.is_valid():
        try:
            patient_answer_record(
                token=token,
                purpose=form.cleaned_data["purpose"],
                note=form.cleaned_data.get("note", ""),
                address=client_address(request),
            )
        except AnswerError as error:
            return render(request, "scheduling/answers/refused.html", {**context, "refusal": str(error)}, status=409)
        return render(request, "scheduling/answers/done.html", {**context, "purpose": link.purpose})
    status = 400 if form.is_bound else 200
    return render(request, TEMPLATES[link.purpose], {**context, "form": form}, status=status)


# What the page for a stop link that names no one says, in each language (it knows no patient's).
SMS_STOP_INVALID = gettext_lazy(
    "The link may have been cut short when it was copied. Open it again from the text message, "
    "or call your clinic and ask them to stop text messages."
)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def sms_stop(request, token: str):
    """The link that stops a patient's texts: GET asks (phones preview links), the POST stops them."""
    if too_many(address=client_address(request), token=token):
        return render(request, "scheduling/answers/too_many.html", status=429)
    patient = Patient.objects.select_related("clinic").filter(sms_stop_token=token).first() if token else None
    if patient is None:
        return render(request, "scheduling/reminders/link_invalid.html", {"sentence": SMS_STOP_INVALID}, status=404)
    with translation.override(patient.language):
        if request.method == "POST":
            patient_sms_stop(patient=patient)
            return render(request, "scheduling/reminders/sms_stop_done.html", {"clinic": patient.clinic})
        return render(
            request,
            "scheduling/reminders/sms_stop.html",
            {"clinic": patient.clinic, "already": not patient.sms_consent},
        )


@require_POST
@permission_required("scheduling.change_appointment", raise_exception=True)
def handled(request, answer_id: int):
    answer = answers_for_user(request.user).filter(pk=answer_id).first()
    if answer is None:
        raise Http404("No such answer.")
    patient_answer_handled(answer=answer, by=request.user)
    messages.success(request, "Done: the answer is off the list.")
    return redirect("scheduling:worklist")
