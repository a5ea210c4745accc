"""The front desk's home page: doses due within a few weeks and not yet booked."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from clinic.access import clinics_for_user
from clinic.inputs import clamp_int
from clinic.models import Drug
from scheduling.answers.selectors import answers_open_for_user
from scheduling.regimen_review import regimen_unfit_visits
from scheduling.worklist.selectors import DEFAULT_WEEKS, STATUS_LABELS, worklist_page


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


MAX_PAGE = 100_000


@permission_required("scheduling.view_appointment", raise_exception=True)
def worklist(request):
    clinics = clinics_for_user(request.user)
    form = WorklistFilterForm(request.GET or None, clinics=clinics)
    filters = {"clinic": None, "drug": None, "status": "", "weeks": None}
    if form.is_bound and form.is_valid():
        filters.update(form.cleaned_data)
    weeks = filters["weeks"] or DEFAULT_WEEKS
    shown = [filters["clinic"]] if filters["clinic"] else list(clinics)
    page, overdue = worklist_page(
        clinics=shown,
        weeks=weeks,
        drug=filters["drug"],
        status=filters["status"] or None,
        # Past the last page shows the last one; anything unreadable, the first.
        page=clamp_int(request.GET.get("page"), low=1, high=MAX_PAGE, default=1),
    )
    clinic_list = list(clinics)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form if form.is_bound else WorklistFilterForm(clinics=clinics),
        "rows": page.object_list,
        "page": page,
        "page_query": query.urlencode(),
        "weeks": weeks,
        "filtered": any(filters[key] for key in ("clinic", "drug", "status")),
        "several_clinics": len(clinic_list) > 1,
        "clinics": clinic_list,
        "overdue_count": overdue,
        # Booked visits a regimen change left outside their window: never moved, listed here to rebook or keep.
        "regimen_unfit": regimen_unfit_visits(shown),
        # Patients who cancelled or asked for another time from a message: the front desk calls them back.
        "patient_answers": answers_open_for_user(request.user),
        "can_handle_answers": request.user.has_perm("scheduling.change_appointment"),
    }
    return render(request, "scheduling/worklist.html", context)
