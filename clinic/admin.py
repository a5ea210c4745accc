"""Clinic settings and the formulary in the Django admin ("Clinic settings" in the app's menu).

Only clinic managers are admin users (is_staff). A manager sees and edits only the clinics
they work at; the formulary (drugs and regimens) is shared by every clinic.
"""

from __future__ import annotations

from functools import update_wrapper

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

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

# --- Who may open the admin ------------------------------------------------------------------
#
# Django's admin answers a signed-in user who is not an admin user (front desk, nurses) with
# its own login form. Chairside has one login page, so such a user gets a plain 403 instead,
# and an anonymous visitor is sent on to the app's login page.


def _staff_only_admin_view(view, cacheable=False):
    wrapped = AdminSite.admin_view(admin.site, view, cacheable)

    def inner(request, *args, **kwargs):
        if request.user.is_authenticated and not admin.site.has_permission(request):
            raise PermissionDenied
        return wrapped(request, *args, **kwargs)

    return update_wrapper(inner, wrapped)


@login_not_required
def _admin_login(request, extra_context=None):
    """The admin's login URL: anonymous visitors go to Chairside's login page, admin users on
    to the admin, and anyone else signed in gets 403."""
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    if not request.user.is_authenticated:
        return redirect_to_login(target or reverse("admin:index"), settings.LOGIN_URL)
    if not admin.site.has_permission(request):
        raise PermissionDenied
    return redirect(target or "admin:index")


admin.site.admin_view = _staff_only_admin_view
admin.site.login = _admin_login


def admin_clinics(user):
    """The clinics a user may configure: their own, including inactive ones (all for a superuser)."""
    if user.is_superuser:
        return Clinic.objects.all()
    return Clinic.objects.filter(staff__user=user)


class ClinicScopedAdmin(admin.ModelAdmin):
    """Rows that belong to a clinic: a manager sees and assigns only their own clinics.

    Another clinic's row answers 404, as it does in the app, and the clinic list filter
    offers only the manager's own clinics.
    """

    clinic_field = "clinic"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{f"{self.clinic_field}__in": admin_clinics(request.user)})

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No such {self.opts.verbose_name}.")
        return obj

    def get_list_filter(self, request):
        # Django's related filter lists every clinic in the database; this one only those
        # the manager's own rows belong to.
        return [
            (name, admin.RelatedOnlyFieldListFilter) if name == self.clinic_field else name
            for name in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "clinic":
            kwargs["queryset"] = admin_clinics(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- The clinic as configured ----------------------------------------------------------------


class OpeningHoursForm(forms.ModelForm):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]
        widgets = {
            "opens": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


class ClosureForm(forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["starts_on", "ends_on", "reason"]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class ChairInline(admin.TabularInline):
    model = Chair
    extra = 0
    fields = ["name", "kind", "position", "active"]


class OpeningHoursInline(admin.TabularInline):
    """One row per weekday; OpeningHours.clean refuses a closing time that is not after the opening time."""

    model = OpeningHours
    form = OpeningHoursForm
    extra = 0


class ClosureInline(admin.TabularInline):
    model = Closure
    form = ClosureForm
    extra = 0


class NurseStaffingInline(admin.TabularInline):
    model = NurseStaffing
    extra = 0


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "phone", "active"]
    inlines = [ChairInline, OpeningHoursInline, NurseStaffingInline, ClosureInline]
    fieldsets = [
        (None, {"fields": ["name", "time_zone", "address", "phone", "email", "active"]}),
        ("Booking and nurse rules", {"fields": ["slot_minutes", "patients_per_nurse", "starts_per_nurse"]}),
        ("Reminders", {"fields": ["reminder_days_before", "reminder_local_time", "due_soon_days"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=admin_clinics(request.user))


@admin.register(Chair)
class ChairAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "kind", "active"]
    list_filter = ["clinic", "kind", "active"]


# --- The formulary ---------------------------------------------------------------------------


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
