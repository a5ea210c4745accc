from django.contrib.auth.decorators import permission_required
from django.shortcuts import render

from clinic.access import clinics_for_user
from patients.models import Patient


@permission_required("patients.view_patient", raise_exception=True)
def patient_list(request):
    patients = Patient.objects.filter(clinic__in=clinics_for_user(request.user)).select_related("clinic")[:50]
    return render(request, "patients/patient_list.html", {"patients": patients})
