from django.contrib import admin

from scheduling.models import Appointment, AppointmentEvent, NurseAssignment, Reminder


class AppointmentEventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "by", "action", "from_status", "to_status", "reason", "details"]


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "chair", "patient", "dose_number", "status"]
    list_filter = ["clinic", "status"]
    inlines = [AppointmentEventInline]

    def has_delete_permission(self, request, obj=None):
        return False  # nothing is deleted: cancel instead, and the history keeps why


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["due_at", "kind", "status", "attempts", "clinic"]
    list_filter = ["clinic", "status", "kind"]

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(NurseAssignment)
