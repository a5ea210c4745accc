"""The earlier-time offer pages: the patient's (from the message's link, no login) and the front desk's list.

As with the other answer links, GET only shows the question (mail systems and phones open
links to preview them); the POST, with its CSRF token, acts.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone

from audit.history import record_viewed
from clinic.access import clinics_for_user
from scheduling.models import AnswerLink, SlotOffer
from scheduling.offers.selectors import offer_page_for, openings_for_user
from scheduling.offers.services import (
    OfferAnswer,
    offer_accept,
    offer_decline,
    offer_refusal,
    wrong_purpose_sentence,
)

Purpose = AnswerLink.Purpose

TEMPLATES = {
    Purpose.TAKE_OFFER: "scheduling/offers/take.html",
    Purpose.DECLINE_OFFER: "scheduling/offers/decline.html",
}


class OfferAnswerForm(forms.Form):
    purpose = forms.ChoiceField(choices=[(purpose, purpose) for purpose in TEMPLATES], widget=forms.HiddenInput)


def offer_answer(request, link: AnswerLink):
    """The page of an offer's link; the answers view has counted the try and found the link."""
    offer = SlotOffer.objects.select_related("opening__clinic", "patient").get(pk=link.offer_id)
    context = offer_page_for(offer)
    refusal = offer_refusal(offer, link=link, now=timezone.now())
    if refusal:
        status = 409 if offer.status == SlotOffer.Status.TAKEN else 410
        return render(request, "scheduling/offers/ended.html", {**context, "refusal": refusal}, status=status)
    form = OfferAnswerForm(request.POST if request.method == "POST" else None, initial={"purpose": link.purpose})
    if request.method == "POST" and form.is_valid():
        act = offer_accept if form.cleaned_data["purpose"] == Purpose.TAKE_OFFER else offer_decline
        if form.cleaned_data["purpose"] != link.purpose:
            answer = OfferAnswer(OfferAnswer.REFUSED, wrong_purpose_sentence())
        else:
            answer = act(token=link.token)
        if answer.outcome == OfferAnswer.BOOKED:
            return render(request, "scheduling/offers/booked.html", context)
        if answer.outcome == OfferAnswer.DECLINED:
            return render(request, "scheduling/offers/declined.html", context)
        status = 409 if answer.outcome == OfferAnswer.TAKEN else 410
        return render(request, "scheduling/offers/ended.html", {**context, "refusal": answer.sentence}, status=status)
    status = 400 if form.is_bound else 200
    return render(request, TEMPLATES[link.purpose], {**context, "form": form}, status=status)


@permission_required("scheduling.view_appointment", raise_exception=True)
def offers(request):
    """Freed chair time and the offers made for it: open ones first, then the last week's outcomes."""
    clinics = clinics_for_user(request.user)
    openings = openings_for_user(request.user)
    for opening in openings.open + openings.recent:
        record_viewed(opening)
    return render(
        request,
        "scheduling/offers/list.html",
        {"openings": openings, "several_clinics": clinics.count() > 1},
    )
