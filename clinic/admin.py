from django.contrib import admin

from clinic.models import (
    Chair,
    Clinic,
    Closure,
    Drug,
    MonitoringRule,
    NurseStaffing,
    OpeningHours,
    Regimen,
    RegimenPhase,
    StaffProfile,
)


class ChairInline(admin.TabularInline):
    model = Chair
    extra = 0


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    extra = 0


class NurseStaffingInline(admin.TabularInline):
    model = NurseStaffing
    extra = 0


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "phone", "active"]
    inlines = [ChairInline, OpeningHoursInline, NurseStaffingInline, ClosureInline]


@admin.register(Chair)
class ChairAdmin(admin.ModelAdmin):
    list_display = ["name", "clinic", "kind", "active"]
    list_filter = ["clinic", "kind", "active"]


class RegimenPhaseInline(admin.StackedInline):
    model = RegimenPhase
    extra = 0


class MonitoringRuleInline(admin.TabularInline):
    model = MonitoringRule
    extra = 0


@admin.register(Drug)
class DrugAdmin(admin.ModelAdmin):
    list_display = ["brand_name", "generic_name", "route", "active"]


@admin.register(Regimen)
class RegimenAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "drug", "active", "programme"]
    list_filter = ["active", "drug"]
    inlines = [RegimenPhaseInline, MonitoringRuleInline]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user"]
    filter_horizontal = ["clinics"]
