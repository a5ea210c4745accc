"""The export page (`scheduling:exports`) and its CSV (`scheduling:export_csv`): clinic managers, their clinics only."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clinic.access import default_clinic_for_user
from scheduling.capacity.access import require_manager
from scheduling.csv_cells import SafeWriter
from scheduling.doses import clinic_today
from scheduling.exports import selectors
from scheduling.exports.forms import ExportForm
from scheduling.exports.services import export_record


@require_GET
def exports(request):
    require_manager(request.user)
    clinic = default_clinic_for_user(request.user)
    initial = {}
    if clinic is not None:
        today = clinic_today(clinic)
        initial = {"clinic": clinic, "subject": "appointments", "start": today - timedelta(days=30), "end": today}
    form = ExportForm(user=request.user, initial=initial)
    return render(request, "scheduling/exports/exports.html", {"form": form})


@require_GET
def export_csv(request):
    require_manager(request.user)
    form = ExportForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "scheduling/exports/exports.html", {"form": form}, status=400)
    clinic, subject = form.cleaned_data["clinic"], form.cleaned_data["subject"]
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    if subject == "appointments":
        header, rows = selectors.APPOINTMENT_HEADER, list(selectors.appointment_rows(clinic, start, end))
    elif subject == "utilisation":
        header, rows = selectors.utilisation_rows(clinic, start, end)
    else:
        header, rows = selectors.AUDIT_HEADER, list(selectors.audit_rows(clinic, start, end))
    file_name = f"{subject}-{clinic.pk}-{start.isoformat()}-{end.isoformat()}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    writer = SafeWriter(response)
    writer.writerow(header)
    writer.writerows(rows)
    export_record(
        clinic=clinic, subject=subject, by=request.user, start=start, end=end, rows=len(rows), file_name=file_name
    )
    return response
