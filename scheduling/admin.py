"""Appointments, reminders and nurse assignments in the admin: read-only, the manager's clinics only.

A clinic's capacity policy (the forecast's overload threshold) is the one row edited here.

The booking, roster and reminder services own every write to these rows (the history, the
nurse rules and the reminder outbox are kept in step there), so the admin only shows them.
An appointment's page links to its page in Chairside, where it is rescheduled or cancelled.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from clinic import dates
from clinic.admin import ClinicChoicesMixin, ClinicScopedAdmin
from scheduling.models import Appointment, AppointmentEvent, CapacityPolicy, NurseAssignment, Reminder


def clinic_time(moment, clinic) -> str:
    """A moment on the clinic's own clock, 24-hour, as the rest of Chairside shows it."""
    if moment is None:
        return "-"
    return f"{dates.weekday_moment(moment.astimezone(clinic.tz))} ({clinic.time_zone})"


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
    list_display = ["starts", "chair", "patient", "dose_number", "status"]
    list_filter = ["clinic", "status"]
    list_select_related = ["chair", "patient", "clinic"]
    readonly_fields = ["page_in_chairside", "starts", "ends"]

    @admin.display(description="Starts (clinic time)", ordering="starts_at")
    def starts(self, obj):
        return clinic_time(obj.starts_at, obj.clinic)

    @admin.display(description="Ends (clinic time)", ordering="ends_at")
    def ends(self, obj):
        return clinic_time(obj.ends_at, obj.clinic)

    inlines = [AppointmentEventInline]

    def get_fields(self, request, obj=None):
        shown = ("page_in_chairside", "starts", "ends")
        fields = [name for name in super().get_fields(request, obj) if name not in shown]
        return [*shown, *fields]

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
    list_display = ["due", "kind", "status", "attempts", "clinic"]
    list_filter = ["clinic", "status", "kind"]
    list_select_related = ["clinic"]
    readonly_fields = ["due", "sent"]

    @admin.display(description="Due (clinic time)", ordering="due_at")
    def due(self, obj):
        return clinic_time(obj.due_at, obj.clinic)

    @admin.display(description="Sent (clinic time)", ordering="sent_at")
    def sent(self, obj):
        return clinic_time(obj.sent_at, obj.clinic)


@admin.register(NurseAssignment)
class NurseAssignmentAdmin(ReadOnlyAdminMixin, ClinicScopedAdmin):
    list_display = ["day", "chair", "nurse", "clinic"]
    list_filter = ["clinic", "day"]
    list_select_related = ["chair", "nurse", "clinic"]


@admin.register(CapacityPolicy)
class CapacityPolicyAdmin(ClinicScopedAdmin):
    """Managers set their clinics' overload threshold; a clinic without a row uses the default."""

    list_display = ["clinic", "overload_percent", "levelling_days"]
    list_select_related = ["clinic"]

    def has_delete_permission(self, request, obj=None):
        return False  # set the threshold back instead; the forecast always reads one
