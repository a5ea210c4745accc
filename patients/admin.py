"""Patients in the admin, for clinic managers: only the patients of their own clinics."""

from django.contrib import admin

from clinic.admin import ClinicScopedAdmin
from patients.models import Patient, TreatmentCourse


class TreatmentCourseInline(admin.TabularInline):
    model = TreatmentCourse
    extra = 0
    fields = ["regimen", "start_date", "status", "authorization_number", "authorization_expires_on"]


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    list_display = ["last_name", "first_name", "mrn", "clinic"]
    list_filter = ["clinic"]
    inlines = [TreatmentCourseInline]
