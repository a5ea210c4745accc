"""The manager's capacity pages: the forecast, the utilisation, the authorizations about to expire; CSV of each."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic.access import clinics_for_user
from clinic.models import Drug
from scheduling.capacity import selectors
from scheduling.capacity.access import capacity_clinic_for_user, require_manager
from scheduling.capacity.forecast import clinic_forecast
from scheduling.capacity.utilisation import DEFAULT_WEEKS, GRANULARITIES, MAX_DAYS, clinic_utilisation
from scheduling.csv_cells import SafeWriter
from scheduling.doses import clinic_today


class ClinicForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=None, required=False, empty_label=None)

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select form-select-sm" if select else "form-control form-control-sm"


class UtilisationForm(ClinicForm):
    drug = forms.ModelChoiceField(
        queryset=Drug.objects.filter(active=True).order_by("brand_name"),
        to_field_name="code",
        required=False,
        empty_label="All drugs",
    )
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(choices=list(GRANULARITIES.items()), required=False, label="By")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", "The last day is before the first day. Pick a later last day.")
        elif start and end and (end - start).days >= MAX_DAYS:
            self.add_error("end", f"Show at most {MAX_DAYS} days at once. Pick a shorter period.")
        return cleaned


def _clinic(request):
    """The clinic in the query string (404 unless it is one of the user's), else the user's first."""
    return capacity_clinic_for_user(request.user, request.GET.get("clinic"))


def _forecast_for(request):
    require_manager(request.user)
    clinics = clinics_for_user(request.user).order_by("name")
    form = ClinicForm(request.GET or None, clinics=clinics)
    clinic = _clinic(request)
    return form, clinics, clinic, (clinic_forecast(clinic) if clinic else None)


@login_required
@require_GET
def forecast(request):
    form, clinics, clinic, result = _forecast_for(request)
    context = {"form": form, "clinics": clinics, "clinic": clinic, "forecast": result}
    if result is not None:
        context.update(selectors.forecast_charts(result))
    return render(request, "scheduling/capacity/forecast.html", context)


@login_required
@require_GET
def forecast_csv(request):
    _form, _clinics, clinic, result = _forecast_for(request)
    response = _csv_response(f"forecast-{clinic.pk if clinic else 'none'}.csv")
    writer = SafeWriter(response)
    writer.writerow(selectors.FORECAST_HEADER)
    if result is not None:
        writer.writerows(selectors.forecast_rows(result))
    return response


def _utilisation_for(request):
    require_manager(request.user)
    clinics = clinics_for_user(request.user).order_by("name")
    form = UtilisationForm(request.GET or None, clinics=clinics)
    clinic = _clinic(request)
    if clinic is None:
        return form, clinics, None, None
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    yesterday = clinic_today(clinic) - timedelta(days=1)
    end = data.get("end") or yesterday
    start = data.get("start") or end - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    result = clinic_utilisation(
        clinic, start=start, end=end, drug=data.get("drug"), granularity=data.get("by") or "week"
    )
    return form, clinics, clinic, result


@login_required
@require_GET
def utilisation(request):
    form, clinics, clinic, result = _utilisation_for(request)
    context = {"form": form, "clinics": clinics, "clinic": clinic, "utilisation": result}
    if result is not None:
        context.update(selectors.utilisation_charts(result))
    return render(request, "scheduling/capacity/utilisation.html", context)


@login_required
@require_GET
def utilisation_csv(request):
    _form, _clinics, clinic, result = _utilisation_for(request)
    response = _csv_response(f"utilisation-{clinic.pk if clinic else 'none'}.csv")
    writer = SafeWriter(response)
    writer.writerow(selectors.UTILISATION_HEADER)
    if result is not None:
        writer.writerows(selectors.utilisation_rows(result))
    return response


@login_required
@require_GET
def authorizations_expiring(request):
    """The manager's clinics' active courses whose programme authorization expires within 30 days (or has)."""
    require_manager(request.user)
    clinics = list(clinics_for_user(request.user).order_by("name"))
    courses = selectors.authorizations_expiring(clinics)
    by_clinic = [
        {"clinic": clinic, "courses": [course for course in courses if course.patient.clinic_id == clinic.pk]}
        for clinic in clinics
    ]
    context = {"by_clinic": by_clinic, "days": selectors.AUTHORIZATION_DAYS}
    return render(request, "scheduling/capacity/authorizations.html", context)


def _csv_response(filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
