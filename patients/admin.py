from django.contrib import admin

from patients.models import Patient, TreatmentCourse


class TreatmentCourseInline(admin.TabularInline):
    model = TreatmentCourse
    extra = 0


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "mrn", "clinic"]
    list_filter = ["clinic"]
    search_fields = ["last_name", "first_name", "mrn"]
    inlines = [TreatmentCourseInline]
