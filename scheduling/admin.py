"""Appointments, reminders and nurse assignments in the admin: read-only, the manager's clinics only.

The booking, roster and reminder services own every write to these rows (the history, the
nurse rules and the reminder outbox are kept in step there), so the admin only shows them.
An appointment's page links to its page in Chairside, where it is rescheduled or cancelled.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from clinic.admin import ClinicChoicesMixin, ClinicScopedAdmin
from scheduling.models import Appointment, AppointmentEvent, NurseAssignment, Reminder


class ReadOnlyAdminMixin:
    """Nothing is added, changed or deleted here; a user with the view permission may look."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # nothing is deleted: cancel instead, and the history keeps why


class AppointmentEventInline(ReadOnlyAdminMixin, ClinicChoicesMixin, admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    fields = ["at", "by", "action", "from_status", "to_status", "reason", "details"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        # The history is part of the appointment: whoever may view the appointment reads it.
        return request.user.has_perm("scheduling.view_appointment")


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdminMixin, ClinicScopedAdmin):
    list_display = ["starts_at", "chair", "patient", "dose_number", "status"]
    list_filter = ["clinic", "status"]
    list_select_related = ["chair", "patient"]
    readonly_fields = ["page_in_chairside"]
    inlines = [AppointmentEventInline]

    def get_fields(self, request, obj=None):
        fields = [name for name in super().get_fields(request, obj) if name != "page_in_chairside"]
        return ["page_in_chairside", *fields]

    @admin.display(description="Changes")
    def page_in_chairside(self, obj):
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">Reschedule, cancel or follow this appointment on its page in Chairside</a>',
            reverse("scheduling:appointment", args=[obj.pk]),
        )


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdminMixin, ClinicScopedAdmin):
    list_display = ["due_at", "kind", "status", "attempts", "clinic"]
    list_filter = ["clinic", "status", "kind"]
    list_select_related = ["clinic"]


@admin.register(NurseAssignment)
class NurseAssignmentAdmin(ReadOnlyAdminMixin, ClinicScopedAdmin):
    list_display = ["day", "chair", "nurse", "clinic"]
    list_filter = ["clinic", "day"]
    list_select_related = ["chair", "nurse", "clinic"]
