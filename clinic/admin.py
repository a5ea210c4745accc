"""Clinic settings and the formulary in the Django admin ("Clinic settings" in the app's menu).

Admin users (is_staff) are clinic managers and formulary managers (clinic.roles). A manager
sees and edits only the clinics they work at: every list, form, dropdown and filter holds their
clinics' rows alone, and another clinic's row answers 404. The formulary (drugs and regimens)
is shared by every clinic, so only the formulary role changes it; managers read it.
"""

from __future__ import annotations

from collections import deque
from functools import cache, update_wrapper
from zoneinfo import ZoneInfo

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import AdminSite
from django.contrib.admin.utils import flatten_fieldsets, get_fields_from_path, unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.forms.formsets import all_valid
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django_otp import user_has_device

from audit.history import about, changes_to, history
from clinic import dates
from clinic.mfa import mfa_required
from clinic.models import (
    Chair,
    Clinic,
    ClinicRegimenSetting,
    Closure,
    Drug,
    MonitoringRule,
    NurseStaffing,
    OpeningHours,
    ProgrammeName,
    RateStep,
    Regimen,
    RegimenChange,
    RegimenCheck,
    RegimenPhase,
    StaffProfile,
)
from clinic.regimen_changes import (
    change_message,
    effect_sentences,
    organisation_today,
    regimen_change_effects,
    regimen_change_propose,
    value_changes,
)
from clinic.signals import (
    SCHEDULE_FIELDS,
    SchedulePreview,
    clinic_schedule_changed,
    clinic_schedule_preview,
    combined,
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
        if request.user.is_authenticated and not _passed_two_step(request):
            # The app's middleware sends such a user to the code page first; the admin holds
            # the same line on its own, so no change to the middleware can open it.
            raise PermissionDenied
        return wrapped(request, *args, **kwargs)

    return update_wrapper(inner, wrapped)


def _passed_two_step(request) -> bool:
    """Whether this session may use the admin as far as two-step sign-in goes.

    A user with an authenticator app must have typed a code this session; a user whose clinic
    requires one (clinic.mfa) must have one and have typed its code.
    """
    user = request.user
    if user.is_verified():
        return True
    return not (user_has_device(user) or mfa_required(user))


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


@cache
def clinic_path(model) -> str | None:
    """The lookup from a row of `model` to the clinics it belongs to, or None for data every clinic shares.

    A clinic belongs to itself; any other row to the clinic it reaches first through its
    foreign keys (a course through its patient's clinic). A user belongs to the clinics of their
    staff profile, a path taken only when no clinic is reached otherwise (an appointment's
    history belongs to the appointment's clinic, not to the clinics of whoever booked it). The
    formulary reaches no clinic: shared.
    """
    if model is Clinic:
        return "pk"
    user_model = get_user_model()
    through_user = None
    queue = deque([(model, "")])
    seen = {model}
    while queue:
        current, path = queue.popleft()
        if current is user_model:
            through_user = through_user or f"{path}__staff_profile__clinics".removeprefix("__")
            continue
        for field in current._meta.get_fields():
            if not (field.is_relation and field.concrete):
                continue
            step = f"{path}__{field.name}".removeprefix("__")
            if field.related_model is Clinic:
                return step
            if field.related_model not in seen:
                seen.add(field.related_model)
                queue.append((field.related_model, step))
    return through_user


def admin_scoped(queryset, user):
    """The rows of `queryset` this user may see in the admin: their clinics' rows, and shared rows whole."""
    path = clinic_path(queryset.model)
    if path is None or user.is_superuser:
        return queryset
    # A subquery, so that a path through a many-to-many relation lists each row once.
    own = queryset.model._default_manager.filter(**{f"{path}__in": admin_clinics(user)})
    return queryset.filter(pk__in=own.values("pk"))


# --- The audit trail --------------------------------------------------------------------------
#
# An object's "History" page shows the audit trail (audit.history): every change, from the app,
# the admin or a shell, with the old and new values. It opens only for an object the manager
# may see here, so a manager reads the history of their own clinics' configuration only. The
# trail itself (auditlog's LogEntry) is for superusers, and nobody changes or deletes it.


class AuditHistoryMixin:
    """The admin's History page from the audit trail, for an object this admin would show."""

    def history_parts(self, obj):
        """The entries the page lists: the object's own; a clinic or a regimen adds the rows it owns."""
        return [about(self.model._default_manager.filter(pk=obj.pk))]

    def history_labels(self, obj) -> dict:
        """Names for the rows the page lists, where the kind alone would not say which (a regimen's phases)."""
        return {}

    def history_time_zone(self, obj):
        clinic = getattr(obj, "clinic", None)
        return clinic.tz if isinstance(clinic, Clinic) else ZoneInfo(settings.TIME_ZONE)

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No such {self.opts.verbose_name}.")
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        zone = self.history_time_zone(obj)
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "history": history(changes_to(*self.history_parts(obj)), time_zone=zone, labels=self.history_labels(obj)),
            "time_zone_name": str(zone),
            "show_addresses": True,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "audit/admin_history.html", context)


class ClinicChoicesMixin:
    """Every dropdown of a form or inline (clinic, chair, patient, course, nurse) offers the manager's clinics' rows only.

    Django fills a related field's choices from the whole table; a choice outside the manager's
    clinics is neither shown nor accepted when posted.
    """

    def get_field_queryset(self, db, db_field, request):
        queryset = super().get_field_queryset(db, db_field, request)
        if queryset is None:
            queryset = db_field.remote_field.model._default_manager.using(db).all()
        return admin_scoped(queryset, request.user)


class ChairsideAdmin(ClinicChoicesMixin, AuditHistoryMixin, admin.ModelAdmin):
    """What every Chairside admin does at the clinic boundary.

    A row the list would not show answers 404 on its change, history and delete pages, as it does
    in the app (Django's own answer is a redirect naming the id as missing); a related list
    filter offers only the values of the rows listed, not every clinic's chairs or patients.
    """

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No such {self.opts.verbose_name}.")
        return obj

    def get_list_filter(self, request):
        return [self._list_filter_in_scope(item) for item in super().get_list_filter(request)]

    def _list_filter_in_scope(self, item):
        if not isinstance(item, str):
            return item
        field = get_fields_from_path(self.model, item)[-1]
        if field.is_relation and clinic_path(field.related_model) is not None:
            return (item, admin.RelatedOnlyFieldListFilter)
        return item


class ClinicScopedAdmin(ChairsideAdmin):
    """Rows that belong to a clinic: a manager sees and assigns only their own clinics."""

    clinic_field = "clinic"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{f"{self.clinic_field}__in": admin_clinics(request.user)})


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


class ChairInline(ClinicChoicesMixin, admin.TabularInline):
    model = Chair
    extra = 0
    fields = ["name", "kind", "position", "active"]


class OpeningHoursInline(ClinicChoicesMixin, admin.TabularInline):
    """One row per weekday; OpeningHours.clean refuses a closing time that is not after the opening time."""

    model = OpeningHours
    form = OpeningHoursForm
    extra = 0


class ClosureInline(ClinicChoicesMixin, admin.TabularInline):
    model = Closure
    form = ClosureForm
    extra = 0


class NurseStaffingInline(ClinicChoicesMixin, admin.TabularInline):
    model = NurseStaffing
    extra = 0


# Visits listed one by one when a time-zone change is previewed; the rest are counted.
PREVIEW_VISITS = 20
# How the admin's messages name the fields that move reminders.
_FIELD_WORDS = {
    "time_zone": "time zone",
    "reminder_local_time": "reminder hour",
    "reminder_days_before": "reminder days",
}


def _visits(count: int) -> str:
    return f"{count} booked visit{'s' if count != 1 else ''}"


def _day_and_time(moment) -> str:
    return dates.weekday_moment(moment)


class ClinicForm(forms.ModelForm):
    """The clinic's settings. A new time zone with visits booked is saved only once its effect was shown and confirmed.

    A visit keeps its moment when the time zone changes, so its local time moves: the form
    first lists what would move and what would fall outside the opening hours, and refuses
    until the confirm box is ticked.
    """

    confirm_time_zone_change = forms.BooleanField(
        required=False,
        label="Change the time zone of booked visits",
        help_text=(
            "Needed only when the time zone changes while visits are booked. Save once to see what the change "
            "would do; tick this box and save again to make it."
        ),
    )

    class Meta:
        model = Clinic
        fields = [
            "name",
            "time_zone",
            "address",
            "phone",
            "email",
            "active",
            "slot_minutes",
            "patients_per_nurse",
            "starts_per_nurse",
            "reminder_days_before",
            "reminder_local_time",
            "due_soon_days",
            "require_mfa_for_managers",
            "require_mfa_for_everyone",
        ]

    def clean(self):
        data = super().clean()
        self.schedule_preview = SchedulePreview()
        new_zone = data.get("time_zone")
        if self.instance.pk is None or "time_zone" not in self.changed_data or not new_zone:
            return data
        # The instance is still as saved here: the form copies its values onto it after clean().
        preview = combined(clinic_schedule_preview.send(sender=Clinic, clinic=self.instance, time_zone=new_zone))
        self.schedule_preview = preview
        if preview.visits and not data.get("confirm_time_zone_change"):
            self.add_error(
                "confirm_time_zone_change",
                f"Tick this box to change the time zone of {_visits(len(preview.visits))}, or put the old time "
                "zone back.",
            )
            raise ValidationError(self._time_zone_sentences(preview, new_zone))
        return data

    def _time_zone_sentences(self, preview: SchedulePreview, new_zone: str) -> list[str]:
        visits = preview.visits
        first = visits[0]
        sentences = [
            f"Changing the time zone from {self.instance.time_zone} to {new_zone} moves the local time of "
            f"{_visits(len(visits))} from {dates.weekday_day(first.after)} on: each stays at the same moment, so "
            f"{first.before:%H:%M} becomes {first.after:%H:%M}, and patients' reminders will give the new times.",
        ]
        sentences += [
            f"{_day_and_time(visit.before)} becomes "
            + (f"{visit.after:%H:%M}" if visit.after.date() == visit.before.date() else _day_and_time(visit.after))
            + f" ({visit.chair})"
            + (", outside the opening hours" if visit.outside_hours else "")
            for visit in visits[:PREVIEW_VISITS]
        ]
        if len(visits) > PREVIEW_VISITS:
            sentences.append(f"… and {_visits(len(visits) - PREVIEW_VISITS)} more.")
        outside = preview.outside_hours
        if outside:
            sentences.append(
                f"{_visits(len(outside))} would fall outside the opening hours: "
                + "; ".join(visit.label() for visit in outside)
                + ". Move them once the change is saved."
            )
        sentences.append(
            "Tick “Change the time zone of booked visits” and save again to make the change; the reminders "
            "of these visits are then re-planned for the clinic's reminder hour in the new time zone."
        )
        return sentences


@admin.register(Clinic)
class ClinicAdmin(ChairsideAdmin):
    form = ClinicForm
    list_display = ["name", "time_zone", "country", "phone", "active"]
    inlines = [ChairInline, OpeningHoursInline, NurseStaffingInline, ClosureInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "time_zone",
                    "confirm_time_zone_change",
                    "country",
                    "address",
                    "phone",
                    "email",
                    "active",
                ]
            },
        ),
        ("Booking and nurse rules", {"fields": ["slot_minutes", "patients_per_nurse", "starts_per_nurse"]}),
        ("Reminders", {"fields": ["reminder_days_before", "reminder_local_time", "due_soon_days", "language"]}),
        ("Signing in", {"fields": ["require_mfa_for_managers", "require_mfa_for_everyone"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=admin_clinics(request.user))

    def history_parts(self, obj):
        return [
            about(Clinic.objects.filter(pk=obj.pk)),
            *(
                about(model.objects.filter(clinic=obj), owner="clinic", owner_id=obj.pk)
                for model in (Chair, OpeningHours, Closure, NurseStaffing, ClinicRegimenSetting)
            ),
        ]

    def history_time_zone(self, obj):
        return obj.tz

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        # A new clinic has no visits to move.
        first, *rest = self.fieldsets
        fields = [name for name in first[1]["fields"] if name != "confirm_time_zone_change"]
        return [(first[0], {**first[1], "fields": fields}), *rest]

    def save_related(self, request, form, formsets, change):
        """After the clinic and its hours are saved: re-plan the reminders if its clock changed, name misplaced visits."""
        super().save_related(request, form, formsets, change)
        changed = [name for name in SCHEDULE_FIELDS if name in form.changed_data]
        if not change or not changed:
            return
        now = combined(
            clinic_schedule_changed.send(
                sender=Clinic, clinic=form.instance, changed=changed, previous_time_zone=form.initial.get("time_zone")
            )
        )
        if now.visits:
            self.message_user(
                request,
                f"The reminders of {_visits(len(now.visits))} were re-planned for the new "
                + " and ".join(_FIELD_WORDS[name] for name in changed)
                + ".",
                messages.INFO,
            )
        if now.outside_hours:
            self.message_user(
                request,
                f"Outside the opening hours now ({_visits(len(now.outside_hours))}); move or cancel them: "
                + "; ".join(visit.label() for visit in now.outside_hours)
                + ".",
                messages.WARNING,
            )


@admin.register(Chair)
class ChairAdmin(ClinicScopedAdmin):
    list_display = ["name", "clinic", "kind", "active"]
    list_filter = ["clinic", "kind", "active"]


# --- The formulary ---------------------------------------------------------------------------


class RegimenPhaseInline(ClinicChoicesMixin, admin.StackedInline):
    model = RegimenPhase
    extra = 0


class MonitoringRuleInline(ClinicChoicesMixin, admin.TabularInline):
    model = MonitoringRule
    extra = 0


class ProgrammeNameInline(ClinicChoicesMixin, admin.TabularInline):
    model = ProgrammeName
    extra = 0
    verbose_name = "programme name in a country"
    verbose_name_plural = "programme names by country (elsewhere the programme above)"


class RegimenCheckInline(ClinicChoicesMixin, admin.TabularInline):
    """The checks a nurse ticks before the infusion starts; retired with `active`, never deleted."""

    model = RegimenCheck
    extra = 0
    fields = ["position", "label", "when", "kind", "active", "verified", "source"]


class FormularyAdmin(ChairsideAdmin):
    """The shared formulary: every admin user reads it, the formulary role (clinic.roles) adds and changes it.

    The model permissions decide, so a clinic manager's page is read-only and a post of theirs
    is refused with 403. Nothing here is deleted: courses and their history refer to a drug or
    a regimen, which is made inactive instead.
    """

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Drug)
class DrugAdmin(FormularyAdmin):
    list_display = ["brand_name", "generic_name", "route", "active"]


class RegimenChangeReviewForm(forms.Form):
    """The second step of a regimen edit: the day it takes effect, and why."""

    effective_from = forms.DateField(
        label="Effective from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Today or a later day. Until then every clinic keeps the regimen's current values.",
    )
    reason = forms.CharField(
        label="Reason for the change",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Kept with the change, e.g. the label version it follows.",
    )

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["effective_from"].initial = today
        self.fields["effective_from"].widget.attrs["min"] = today.isoformat()

    def clean_effective_from(self):
        day = self.cleaned_data["effective_from"]
        if day < self.today:
            raise ValidationError("Choose today or a later day: a change cannot take effect in the past.")
        return day


# The button of the review page that confirms the change; the edited values come back as hidden fields.
CONFIRM_REGIMEN_CHANGE = "_confirm_regimen_change"
REVIEW_PREFIX = "review"
# Fields of an inline row that are not values of the phase.
_ROW_FIELDS = {"id", "regimen", "DELETE"}


def _plain(value):
    return value.pk if isinstance(value, models.Model) else value


@admin.register(Regimen)
class RegimenAdmin(FormularyAdmin):
    """A regimen, edited in two steps: the change form shows what the edit does, then it is confirmed with a date.

    Every clinic doses from the regimen, so a change to its values or its phases' values is not
    saved on the first post: the page that follows lists the values old and new and what they
    would change (courses and booked appointments, counted per clinic), with the day the change
    takes effect and a reason. Confirming records a RegimenChange (clinic.regimen_changes);
    one for today is applied at once.
    """

    list_display = ["name", "code", "drug", "active", "programme", "therapy_class", "washout_days_after"]
    list_filter = ["active", "drug", "therapy_class"]
    inlines = [RegimenPhaseInline, MonitoringRuleInline, RegimenCheckInline, ProgrammeNameInline]

    def history_parts(self, obj):
        return [
            about(Regimen.objects.filter(pk=obj.pk)),
            *(
                about(model.objects.filter(regimen=obj), owner="regimen", owner_id=obj.pk)
                for model in (RegimenPhase, MonitoringRule, RegimenCheck, ProgrammeName)
            ),
            about(RegimenChange.objects.filter(regimen=obj)),
        ]

    def history_labels(self, obj) -> dict:
        labels = {(RegimenPhase, phase.pk): f"{phase.name.capitalize()} phase" for phase in obj.phases.all()}
        for change in RegimenChange.objects.filter(regimen=obj):
            values = "; ".join(
                row.sentence() if row.where == "Regimen" else f"{row.where}: {row.sentence()}"
                for row in value_changes(obj, change.changes)
            )
            labels[RegimenChange, change.pk] = f"Change from {dates.day(change.effective_from)} ({values})"
        return labels

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST" or object_id is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        obj = self.get_object(request, unquote(object_id))
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        proposal = self._proposal(request, obj)
        if proposal is None:
            # Errors to show, or nothing to review (no value changed; only rows added): Django's own save.
            return super().changeform_view(request, object_id, form_url, extra_context)
        changes, structural = proposal
        saved = Regimen.objects.get(pk=obj.pk)
        today = organisation_today()
        confirming = CONFIRM_REGIMEN_CHANGE in request.POST
        review = RegimenChangeReviewForm(request.POST if confirming else None, prefix=REVIEW_PREFIX, today=today)
        if structural:
            refusal = (
                "This edit both changes values and adds phases or changes monitoring rules. Save the new phases "
                "and the monitoring rules on their own first, then change the values: a reviewed change holds "
                "values of the regimen and its existing phases only. Go back to the form to keep what you typed."
            )
            return self._review_page(request, saved, changes, review, refusal=refusal)
        if confirming and review.is_valid():
            try:
                change = regimen_change_propose(
                    regimen=saved,
                    changes=changes,
                    effective_from=review.cleaned_data["effective_from"],
                    reason=review.cleaned_data["reason"],
                    proposed_by=request.user,
                )
            except ValidationError as error:
                review.add_error(None, error)
            else:
                self.log_change(request, saved, change_message(saved, changes, effective_from=change.effective_from))
                if change.applied_at:
                    text = f"The change to {saved} is saved and holds from today for every clinic."
                else:
                    text = (
                        f"The change to {saved} will take effect on {dates.day(change.effective_from)}; until then "
                        "every clinic keeps the values as they are."
                    )
                self.message_user(request, text, messages.SUCCESS)
                return redirect("admin:clinic_regimen_change", saved.pk)
        return self._review_page(request, saved, changes, review)

    def _proposal(self, request, obj):
        """The posted values that differ from the saved ones, and whether rows were added too; None when
        the post has errors or changes no value."""
        saved = Regimen.objects.get(pk=obj.pk)
        form_class = self.get_form(
            request, obj, change=True, fields=flatten_fieldsets(self.get_fieldsets(request, obj))
        )
        form = form_class(request.POST, request.FILES, instance=obj)
        form_valid = form.is_valid()
        formsets, _inlines = self._create_formsets(request, form.instance, change=True)
        if not (form_valid and all_valid(formsets)):
            return None
        changes = {"regimen": self._changed_values(form, saved), "phases": {}}
        structural = False
        for formset in formsets:
            for row in formset.forms:
                if not row.has_changed():
                    continue
                if formset.model is not RegimenPhase or row.instance.pk is None:
                    structural = True
                    continue
                values = self._changed_values(row, RegimenPhase.objects.get(pk=row.instance.pk))
                if values:
                    changes["phases"][str(row.instance.pk)] = values
        if not changes["regimen"] and not changes["phases"]:
            return None
        return changes, structural

    @staticmethod
    def _changed_values(form, saved) -> dict:
        values = {}
        for name in form.changed_data:
            if name in _ROW_FIELDS:
                continue
            field = saved._meta.get_field(name)
            old, new = getattr(saved, field.attname), _plain(form.cleaned_data.get(name))
            if old != new:
                values[field.attname] = [old, new]
        return values

    def _review_page(self, request, regimen, changes, review, *, refusal=""):
        skip = {"csrfmiddlewaretoken", CONFIRM_REGIMEN_CHANGE}
        posted = [
            (key, value)
            for key in request.POST
            if key not in skip and not key.startswith(f"{REVIEW_PREFIX}-")
            for value in request.POST.getlist(key)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Review the change to {regimen}",
            "subtitle": None,
            "opts": self.opts,
            "original": regimen,
            "rows": value_changes(regimen, changes),
            "sentences": [] if refusal else effect_sentences(regimen_change_effects(regimen, changes)),
            "refusal": refusal,
            "review": review,
            "posted": posted,
            "confirm_name": CONFIRM_REGIMEN_CHANGE,
            "pending": RegimenChange.objects.pending().filter(regimen=regimen).order_by("effective_from"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/clinic/regimen/review_change.html", context)


@admin.register(RegimenChange)
class RegimenChangeAdmin(FormularyAdmin):
    """Changes to the regimens, pending and applied: read here, proposed on the regimen's own change form."""

    list_display = ["regimen", "effective_from", "applied_at", "proposed_by"]
    list_filter = ["regimen"]
    fields = [
        "regimen",
        "values",
        "effective_from",
        "reason",
        "proposed_by",
        "proposed_at",
        "what_it_does",
        "applied_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Values, old → new")
    def values(self, obj):
        return format_html_join(
            "", "<div>{}: {}</div>", ((row.where, row.sentence()) for row in value_changes(obj.regimen, obj.changes))
        )

    @admin.display(description="What it does (as reviewed)")
    def what_it_does(self, obj):
        return format_html_join("", "<p>{}</p>", ((sentence,) for sentence in obj.preview))


class ClinicRegimenSettingForm(forms.ModelForm):
    class Meta:
        model = ClinicRegimenSetting
        fields = ["clinic", "phase", "premed_minutes", "observation_minutes"]


@admin.register(ClinicRegimenSetting)
class ClinicRegimenSettingAdmin(ClinicScopedAdmin):
    """A clinic's own premedication and observation minutes for a regimen phase, for its courses alone.

    The shared regimen is left as it is; the clinic's manager sets these for their own clinics.
    """

    form = ClinicRegimenSettingForm
    list_display = ["phase", "clinic", "premed_minutes", "observation_minutes"]
    list_filter = ["clinic"]


@admin.register(RegimenCheck)
class RegimenCheckAdmin(FormularyAdmin):
    """Every regimen's checks in one list, to review what is still unverified."""

    list_display = ["label", "regimen", "when", "kind", "position", "active", "verified"]
    list_filter = ["verified", "active", "kind", "when", "regimen"]
    search_fields = ["label", "source"]


@admin.register(RateStep)
class RateStepAdmin(FormularyAdmin):
    """A phase's infusion rate steps, shown on the roster while the infusion runs (unverified ones marked)."""

    list_display = ["phase", "applies_to", "after_minutes", "rate", "unit", "verified"]
    list_filter = ["phase__regimen", "applies_to", "verified"]
    list_select_related = ["phase__regimen"]
    ordering = ["phase__regimen__name", "phase__position", "applies_to", "after_minutes"]


@admin.register(StaffProfile)
class StaffProfileAdmin(ChairsideAdmin):
    """Who works where. A manager given access here would see only the staff of their own clinics.

    That is the staff whose clinics are all the manager's own (as on the staff page): saving
    the profile of someone who also works elsewhere would drop the clinic the manager cannot see.
    """

    list_display = ["user"]
    filter_horizontal = ["clinics"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        own = admin_clinics(request.user)
        return queryset.filter(clinics__in=own).exclude(clinics__in=Clinic.objects.exclude(pk__in=own)).distinct()

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj is not None else []


# auditlog registers its own LogEntry admin, which a user given its view permission could read
# whole, every clinic's entries at once: replaced by one for superusers only.
admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class AuditTrailAdmin(LogEntryAdmin):
    """The whole audit trail: superusers read it; nobody adds, changes or deletes an entry."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
