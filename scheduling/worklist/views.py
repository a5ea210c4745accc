"""The front desk's home page: doses due within a few weeks and not yet booked."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from clinic.access import clinics_for_user
from clinic.dosing import DoseStatus
from clinic.models import Drug
from scheduling.worklist.selectors import DEFAULT_WEEKS, STATUS_LABELS, worklist_rows


class WorklistFilterForm(forms.Form):
    """Filters carry no patient data, so they travel in the query string."""

    clinic = forms.ModelChoiceField(queryset=None, required=False, empty_label="All my clinics")
    drug = forms.ModelChoiceField(
        queryset=Drug.objects.filter(active=True).order_by("brand_name"),
        to_field_name="code",
        required=False,
        empty_label="All drugs",
    )
    status = forms.ChoiceField(
        choices=[("", "Any status")] + [(status.value, label) for status, label in STATUS_LABELS.items()],
        required=False,
    )
    weeks = forms.IntegerField(
        min_value=1,
        max_value=52,
        required=False,
        label="Due within (weeks)",
        widget=forms.NumberInput(attrs={"placeholder": DEFAULT_WEEKS}),
    )

    def __init__(self, *args, clinics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics


@permission_required("scheduling.view_appointment", raise_exception=True)
def worklist(request):
    clinics = clinics_for_user(request.user)
    form = WorklistFilterForm(request.GET or None, clinics=clinics)
    filters = {"clinic": None, "drug": None, "status": "", "weeks": None}
    if form.is_bound and form.is_valid():
        filters.update(form.cleaned_data)
    weeks = filters["weeks"] or DEFAULT_WEEKS
    rows = worklist_rows(
        clinics=[filters["clinic"]] if filters["clinic"] else clinics,
        weeks=weeks,
        drug=filters["drug"],
        status=filters["status"] or None,
    )
    clinic_list = list(clinics)
    context = {
        "form": form if form.is_bound else WorklistFilterForm(clinics=clinics),
        "rows": rows,
        "weeks": weeks,
        "filtered": any(filters[key] for key in ("clinic", "drug", "status")),
        "several_clinics": len(clinic_list) > 1,
        "clinics": clinic_list,
        "overdue_count": sum(1 for row in rows if row.dose.status == DoseStatus.OVERDUE),
    }
    return render(request, "scheduling/worklist.html", context)
