"""The import page (`scheduling:import_patients`) and its template (`scheduling:import_template`): clinic managers."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from clinic.access import clinics_for_user
from scheduling.capacity.access import require_manager
from scheduling.imports.columns import COLUMNS
from scheduling.imports.forms import ImportForm
from scheduling.imports.reading import FileError, read_file
from scheduling.imports.services import patients_import
from scheduling.imports.template_file import template_csv, template_xlsx
from scheduling.models import DataTransfer

RECENT = 10


def _recent(user):
    return (
        DataTransfer.objects.filter(clinic__in=clinics_for_user(user), kind=DataTransfer.Kind.IMPORT)
        .select_related("clinic", "by")
        .order_by("-at", "-pk")[:RECENT]
    )


@require_http_methods(["GET", "POST"])
def import_patients(request):
    require_manager(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    context = {"form": form, "columns": COLUMNS}
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            dry_run = request.POST.get("action") != "import"
            try:
                rows = read_file(upload.name, upload.read())
            except FileError as error:
                form.add_error("file", str(error))
                status = 400
            else:
                result = patients_import(
                    clinic=form.cleaned_data["clinic"],
                    rows=rows,
                    by=request.user,
                    file_name=upload.name,
                    dry_run=dry_run,
                )
                context.update(result=result, file_name=upload.name)
                status = 400 if result.errors else 200
        else:
            status = 400
    context["recent"] = _recent(request.user)
    return render(request, "scheduling/imports/import.html", context, status=status)


@require_GET
def import_template(request):
    require_manager(request.user)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(
            template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = 'attachment; filename="chairside-import-template.xlsx"'
        return response
    response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chairside-import-template.csv"'
    return response
