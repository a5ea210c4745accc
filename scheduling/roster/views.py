"""The nurses' daily roster (`scheduling:roster`): chairs by hours, visits and their status.

The clinic and the day are GET parameters (`?clinic=<id>&day=YYYY-MM-DD`); every change is
a POST that answers htmx with the refreshed roster body and a plain browser with a redirect.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from clinic.access import clinics_for_user, default_clinic_for_user, get_clinic_for_user
from clinic.inputs import EARLIEST_DAY, InputError, latest_day, parse_day, parse_id
from clinic.models import Chair, RegimenCheck
from scheduling.doses import clinic_today
from scheduling.roster import rendering
from scheduling.roster.access import get_appointment_for_user
from scheduling.roster.forms import ReactionForm
from scheduling.roster.printing import clinic_country, print_sheet
from scheduling.roster.reactions import reaction_record
from scheduling.roster.selectors import roster_for_day
from scheduling.roster.services import (
    ARRIVAL_PERMISSION,
    ASSIGN_PERMISSIONS,
    OVERRIDE_AUTHORIZATION_PERMISSION,
    OVERRIDE_STATUSES,
    REACTION_STATUSES,
    STATUS_PERMISSION,
    TICK_STATUSES,
    VisitError,
    VisitPermissionError,
    nurse_assign,
    undo_offer,
    visit_authorization_override,
    visit_check_tick,
    visit_check_untick,
    visit_move,
    visit_moves_for,
    visit_undo,
)


def _parse_day(value: str | None, clinic) -> date | None:
    """The roster's day from a URL or a form, or None when it cannot be read or lies outside the days Chairside shows."""
    try:
        return parse_day(value, low=EARLIEST_DAY, high=latest_day(clinic_today(clinic)), name="day")
    except InputError:
        return None


def roster_url(clinic, day: date) -> str:
    return f"{reverse('scheduling:roster')}?{urlencode({'clinic': clinic.pk, 'day': day.isoformat()})}"


def _url_pattern(name: str) -> str:
    """A visit URL with `{}` where the id goes: one reverse() for the whole roster, not one per visit."""
    return reverse(name, args=[987654321]).replace("987654321", "{}")


def _roster_context(
    request, clinic, day, *, reaction_forms=None, override_forms=None, notice=None, notice_level="danger"
):
    user = request.user
    can_assign = all(user.has_perm(permission) for permission in ASSIGN_PERMISSIONS)
    data = roster_for_day(clinic=clinic, day=day, with_nurse_choices=can_assign)
    can_react = user.has_perm(STATUS_PERMISSION)
    can_override = user.has_perm(OVERRIDE_AUTHORIZATION_PERMISSION)
    reaction_forms = reaction_forms or {}
    override_forms = override_forms or {}
    status_url, reaction_url, undo_url, checks_url, override_url = (
        _url_pattern("scheduling:roster_visit_status"),
        _url_pattern("scheduling:roster_visit_reaction"),
        _url_pattern("scheduling:roster_visit_undo"),
        _url_pattern("scheduling:roster_visit_check"),
        _url_pattern("scheduling:roster_visit_authorization_override"),
    )
    csrf_input = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
    for visit in data.visits:
        appointment = visit.appointment
        visit.status_url = status_url.format(visit.pk)
        visit.moves_html = rendering.moves_html(
            visit, visit_moves_for(appointment=appointment, user=user, now=data.now), csrf_input
        )
        visit.undo_url = undo_url.format(visit.pk)
        visit.undo_html = rendering.undo_html(
            visit, undo_offer(appointment=appointment, last_event=visit.last_event, user=user, now=data.now), csrf_input
        )
        visit.flags_html = rendering.flags_html(visit.flags)
        visit.checks_url = checks_url.format(visit.pk)
        visit.override_url = override_url.format(visit.pk)
        visit.checklist_html = rendering.checklist_html(
            visit,
            csrf_input=csrf_input,
            can_tick=can_react and visit.status in TICK_STATUSES,
            can_override=can_override and visit.status in OVERRIDE_STATUSES,
            before_infusion=visit.status in OVERRIDE_STATUSES,
            override_form=override_forms.get(visit.pk),
        )
        visit.flags_short_html = rendering.flags_short_html(visit.flags)
        visit.bar_html = rendering.bar_html(visit)
        visit.can_react = can_react and visit.status in REACTION_STATUSES
        if visit.can_react:
            visit.reaction_url = reaction_url.format(visit.pk)
            form = reaction_forms.get(visit.pk)
            # What the nurse typed comes back, each field with the sentence that says what is wrong.
            visit.reaction_open = form is not None
            visit.reaction_form = form
    for load in data.nurse_loads:
        load.cells_html = rendering.load_cells_html(load)
    for row in data.chairs:
        row.nurse_pk = row.nurse.pk if row.nurse else None
    return {
        "roster": data,
        "clinic": clinic,
        "day": day,
        "clinics": list(clinics_for_user(user)),
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "today": clinic_today(clinic, data.now),
        "can_assign": can_assign,
        "can_view_load": user.has_perm("scheduling.view_nurseassignment"),
        "nurse_choices": [(nurse.pk, nurse.get_full_name() or nurse.get_username()) for nurse in data.nurse_choices],
        "refresh_url": roster_url(clinic, day),
        "notice": notice,
        "notice_level": notice_level,
    }


def _render_roster(request, clinic, day, *, status=200, **extra):
    context = _roster_context(request, clinic, day, **extra)
    template = "scheduling/roster/_body.html" if request.htmx else "scheduling/roster.html"
    return render(request, template, context, status=status)


@permission_required("scheduling.view_appointment", raise_exception=True)
def roster(request):
    clinic_id = request.GET.get("clinic")
    clinic = get_clinic_for_user(request.user, clinic_id) if clinic_id else default_clinic_for_user(request.user)
    if clinic is None:
        return render(request, "scheduling/roster_no_clinic.html")
    day = _parse_day(request.GET.get("day"), clinic)
    if request.GET.get("day") and day is None:
        messages.error(request, "That date could not be read. Pick a day from the calendar.")
    return _render_roster(request, clinic, day or clinic_today(clinic))


def _after_change(request, appointment, *, notice=None, status=200, reaction_forms=None, override_forms=None):
    clinic = appointment.clinic
    day = appointment.starts_at.astimezone(clinic.tz).date()
    if request.htmx:
        return _render_roster(
            request,
            clinic,
            day,
            notice=notice,
            notice_level="danger" if status >= 400 else "success",
            status=200,  # htmx swaps only successful answers; the notice says what went wrong
            reaction_forms=reaction_forms,
            override_forms=override_forms,
        )
    if notice:
        (messages.error if status >= 400 else messages.success)(request, notice)
    return redirect(f"{roster_url(clinic, day)}#visit-{appointment.pk}")


def _status_change(request, pk: int, change, done: str):
    """Run one status change on a visit and answer as the roster does (the notice says what happened)."""
    user = request.user
    if not (user.has_perm(STATUS_PERMISSION) or user.has_perm(ARRIVAL_PERMISSION)):
        raise PermissionDenied("Your role cannot change a visit's status.")
    appointment = get_appointment_for_user(user, pk)
    try:
        appointment = change(appointment, user)
    except VisitPermissionError as error:
        if request.htmx:
            return _after_change(request, appointment, notice=str(error), status=403)
        raise PermissionDenied(str(error)) from error
    except VisitError as error:
        return _after_change(request, appointment, notice=str(error), status=409)
    name = appointment.patient.full_name if request.htmx else "The patient"
    return _after_change(
        request, appointment, notice=done.format(name=name, status=appointment.get_status_display().lower())
    )


@require_POST
def visit_status(request, pk: int):
    to_status = request.POST.get("status", "")
    return _status_change(
        request,
        pk,
        lambda appointment, user: visit_move(appointment=appointment, to_status=to_status, by=user),
        "{name} is now {status}.",
    )


@require_POST
def visit_undo_status(request, pk: int):
    """Take back the last status pressed on a visit, within five minutes."""
    return _status_change(
        request,
        pk,
        lambda appointment, user: visit_undo(appointment=appointment, by=user),
        "Undone: {name} is {status} again.",
    )


@require_POST
@permission_required(STATUS_PERMISSION, raise_exception=True)
def visit_check(request, pk: int):
    """Tick one of the checks before the needle (`ticked=1`), or take a tick back (`ticked` empty)."""
    appointment = get_appointment_for_user(request.user, pk)
    regimen_check = RegimenCheck.objects.filter(pk=_posted_id(request.POST.get("check"))).first()
    if regimen_check is None:
        return _after_change(
            request, appointment, notice="That check could not be found. Reload the roster and try again.", status=400
        )
    tick = bool(request.POST.get("ticked"))
    service = visit_check_tick if tick else visit_check_untick
    try:
        service(appointment=appointment, regimen_check=regimen_check, by=request.user)
    except VisitError as error:
        return _after_change(request, appointment, notice=str(error), status=409)
    label = regimen_check.label[:1].upper() + regimen_check.label[1:]
    return _after_change(request, appointment, notice=f"{label}: {'ticked' if tick else 'tick taken back'}.")


def _posted_id(value) -> int | None:
    try:
        return parse_id(value, name="check")
    except InputError:
        return None


@require_POST
@permission_required(OVERRIDE_AUTHORIZATION_PERMISSION, raise_exception=True)
def visit_authorization_override_view(request, pk: int):
    """A clinic manager lets the infusion start on an expired authorization, with a reason that is kept."""
    appointment = get_appointment_for_user(request.user, pk)
    reason = request.POST.get("reason", "")
    try:
        visit_authorization_override(appointment=appointment, reason=reason, by=request.user)
    except VisitError as error:
        # The reason typed comes back in the open form with the sentence that says what is wrong.
        return _after_change(
            request,
            appointment,
            notice=str(error),
            status=409,
            override_forms={appointment.pk: {"reason": reason, "error": str(error)}},
        )
    return _after_change(request, appointment, notice="The override was recorded; the infusion may start once ticked.")


@require_http_methods(["GET", "POST"])
@permission_required(STATUS_PERMISSION, raise_exception=True)
def visit_reaction(request, pk: int):
    """The reaction form (fetched when a nurse opens it, so the roster stays light) and its answer."""
    appointment = get_appointment_for_user(request.user, pk)
    if request.method == "GET":
        return _reaction_form(request, appointment)
    form = ReactionForm(request.POST, visit_pk=appointment.pk)
    if not form.is_valid():
        return _reaction_refused(request, appointment, form, f"The reaction was not recorded: {form.error_sentence}")
    clinic = appointment.clinic
    data = form.cleaned_data
    try:
        reaction = reaction_record(
            appointment=appointment,
            onset_at=form.onset_at(appointment.starts_at.astimezone(clinic.tz).date(), clinic.tz),
            grade=data["grade"],
            symptoms=data["symptoms"],
            other_symptom=data["other_symptom"],
            actions=data["actions"],
            outcome=data["outcome"],
            serious=data["serious"],
            hypersensitivity=data["hypersensitivity"],
            notes=data["notes"],
            by=request.user,
        )
    except VisitPermissionError as error:
        raise PermissionDenied(str(error)) from error
    except VisitError as error:
        return _reaction_refused(request, appointment, form, f"The reaction was not recorded: {error}")
    kind = "A serious" if reaction.serious else "An"
    notice = f"{kind} infusion reaction ({reaction.grade_text.lower()}) was recorded."
    if reaction.review_required:
        notice += " The course is held for the prescriber: its next dose cannot be booked until the hold is cleared."
    return _after_change(request, appointment, notice=notice)


def _reaction_refused(request, appointment, form, notice: str):
    """The roster again with the nurse's form open, what they typed kept; a plain browser gets the form page."""
    if request.htmx:
        return _after_change(request, appointment, notice=notice, status=400, reaction_forms={appointment.pk: form})
    return _reaction_form(request, appointment, form=form, notice=notice, status=400)


def _reaction_form(request, appointment, *, form=None, notice="", status=200):
    if appointment.status not in REACTION_STATUSES:
        raise Http404("This visit has no reaction to record now.")
    clinic = appointment.clinic
    day = appointment.starts_at.astimezone(clinic.tz).date()
    if form is None:
        now = timezone.now().astimezone(clinic.tz)
        form = ReactionForm(visit_pk=appointment.pk, initial={"onset": now.strftime("%H:%M")})
    visit = SimpleNamespace(
        pk=appointment.pk,
        patient_name=appointment.patient.full_name,
        mrn=appointment.patient.mrn,
        starts=f"{appointment.starts_at.astimezone(clinic.tz):%H:%M}",
        chair_name=appointment.chair.name,
        reaction_url=reverse("scheduling:roster_visit_reaction", args=[appointment.pk]),
        reaction_form=form,
    )
    if request.htmx:
        return render(request, "scheduling/roster/_reaction_form.html", {"visit": visit})
    context = {"visit": visit, "notice": notice, "back_url": f"{roster_url(clinic, day)}#visit-{visit.pk}"}
    return render(request, "scheduling/roster_reaction.html", context, status=status)


@require_POST
@permission_required(ASSIGN_PERMISSIONS, raise_exception=True)
def nurse_assignments(request):
    clinic = get_clinic_for_user(request.user, request.POST.get("clinic"))
    day = _parse_day(request.POST.get("day"), clinic)
    if day is None:
        raise Http404("No such day.")
    chairs = {chair.pk: chair for chair in Chair.objects.filter(clinic=clinic, active=True)}
    # One select per chair, named chair-<id>, its value a nurse's id (blank: leave as it is).
    wanted = {}
    errors = []
    for key, value in request.POST.items():
        if not key.startswith("chair-"):
            continue
        try:
            chair_id, nurse_id = parse_id(key.removeprefix("chair-"), name="chair"), parse_id(value, name="nurse")
        except InputError:
            errors.append("A chair or nurse in the form could not be read. Reload the roster and try again.")
            continue
        if chair_id and nurse_id:
            wanted[chair_id] = nurse_id
    nurses = get_user_model().objects.in_bulk(set(wanted.values()))
    for chair_id, nurse_id in wanted.items():
        chair, nurse = chairs.get(chair_id), nurses.get(nurse_id)
        if chair is None or nurse is None:
            errors.append("A chair or nurse in the form no longer exists. Reload the roster and try again.")
            continue
        try:
            nurse_assign(clinic=clinic, day=day, chair=chair, nurse=nurse, by=request.user)
        except VisitError as error:
            errors.append(str(error))
    notice = " ".join(dict.fromkeys(errors)) if errors else "Nurse assignments saved."
    if request.htmx:
        return _render_roster(request, clinic, day, notice=notice, notice_level="danger" if errors else "success")
    (messages.error if errors else messages.success)(request, notice)
    return redirect(roster_url(clinic, day))


@permission_required("scheduling.view_appointment", raise_exception=True)
def roster_print(request):
    """The day's roster on paper: the visit list and the timeline on one landscape sheet, printed on load."""
    clinic_id = request.GET.get("clinic")
    clinic = get_clinic_for_user(request.user, clinic_id) if clinic_id else default_clinic_for_user(request.user)
    if clinic is None:
        raise Http404("You work at no clinic yet.")
    day = _parse_day(request.GET.get("day"), clinic) if request.GET.get("day") else clinic_today(clinic)
    if day is None:
        raise Http404("That date could not be read.")
    data = roster_for_day(clinic=clinic, day=day)
    sheet = print_sheet(roster=data, country=clinic_country(clinic))
    context = {"sheet": sheet, "clinic": clinic, "day": day, "roster_url": roster_url(clinic, day)}
    return render(request, "scheduling/roster/print.html", context)
