"""Patients in the admin, for clinic managers: only the patients of their own clinics.

A patient stays at the clinic that registered them, so the clinic is chosen on adding and
read-only afterwards. A course's status is changed on its status page in Chairside, which
also cancels the appointments a pause or a stop leaves without a course.
"""

from django.contrib import admin

from clinic.admin import ClinicChoicesMixin, ClinicScopedAdmin
from patients.models import Patient, TreatmentCourse


class TreatmentCourseInline(ClinicChoicesMixin, admin.TabularInline):
    model = TreatmentCourse
    extra = 0
    fields = ["regimen", "start_date", "status", "authorization_number", "authorization_expires_on"]
    readonly_fields = ["status"]


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    list_display = ["last_name", "first_name", "mrn", "clinic"]
    list_filter = ["clinic"]
    list_select_related = ["clinic"]
    inlines = [TreatmentCourseInline]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly.append("clinic")
        return readonly
