"""Patient pages: list and search, a patient's page, and the forms that register patients and start courses.

Every record is fetched through the user's clinics, so staff of one clinic get a 404 for
another clinic's patient. Searches are POSTed: names and MRNs never reach a URL or a log.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from audit.history import record_viewed
from clinic.access import clinics_for_user
from patients import services
from patients.forms import CourseForm, PatientForm, PatientSearchForm, ReviewClearForm, apply_errors
from patients.history import course_history, patient_history, patient_record_views, sees_record_views
from patients.models import Patient, TreatmentCourse

# The patient page reads the dose module through the documented seam: pages may read
# another app's selectors (clinic <- patients <- scheduling stays one-way below the pages).
from scheduling.dose_summaries import course_dosing_summaries
from scheduling.reaction_summaries import course_reactions
from scheduling.reminders.selectors import patient_reminders

PATIENTS_PER_PAGE = 25


def _get_patient_for_user(user, patient_id) -> Patient:
    try:
        return Patient.objects.select_related("clinic").get(pk=patient_id, clinic__in=clinics_for_user(user))
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None


def _get_course_for_user(user, patient: Patient, course_id) -> TreatmentCourse:
    try:
        return patient.courses.select_related("regimen__drug").get(pk=course_id)
    except (TreatmentCourse.DoesNotExist, ValueError, TypeError):
        raise Http404("No such course.") from None


def _search(queryset, text: str):
    """Every word must match the start of a first name, a last name or an MRN."""
    for word in text.split():
        queryset = queryset.filter(
            Q(first_name__istartswith=word) | Q(last_name__istartswith=word) | Q(mrn__istartswith=word)
        )
    return queryset


@permission_required("patients.view_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_list(request):
    clinics = clinics_for_user(request.user)
    patients = (
        Patient.objects.filter(clinic__in=clinics)
        .select_related("clinic")
        .annotate(active_courses=Count("courses", filter=Q(courses__status=TreatmentCourse.Status.ACTIVE)))
        .order_by("last_name", "first_name", "pk")
    )
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    query = ""
    page_number = request.GET.get("page")
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"].strip()
        page_number = form.cleaned_data["page"] or 1
        if query:
            patients = _search(patients, query)
    elif form.is_bound:
        # A search that cannot run finds nobody: listing everyone would read as if all matched.
        patients = patients.none()
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(page_number)
    context = {
        "form": form if form.is_bound else PatientSearchForm(),
        "page": page,
        "query": query,
        "searched": form.is_bound,
        "search_problem": " ".join(message for name in form.errors for message in form.errors[name]),
        "several_clinics": clinics.count() > 1,
    }
    if request.htmx:
        return render(request, "patients/_patient_results.html", context)
    return render(request, "patients/patient_list.html", context)


@permission_required("patients.add_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_create(request):
    clinics = clinics_for_user(request.user)
    form = PatientForm(request.POST or None, clinics=clinics)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(**form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Patient registered.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": None})


@permission_required("patients.change_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_edit(request, patient_id: int):
    patient = _get_patient_for_user(request.user, patient_id)
    # A separate copy for the form, so a rejected edit never shows half-changed details elsewhere.
    form = PatientForm(request.POST or None, instance=Patient.objects.get(pk=patient.pk), clinics=None)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(patient=patient, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Patient details saved.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient})


@permission_required("patients.view_patient", raise_exception=True)
def patient_detail(request, patient_id: int):
    patient = _get_patient_for_user(request.user, patient_id)
    today = timezone.localdate(timezone=patient.clinic.tz)
    courses = list(
        patient.courses.select_related("regimen__drug")
        .prefetch_related("regimen__programme_names")
        .order_by("-start_date", "-pk")
    )
    summaries = course_dosing_summaries(patient.courses.all(), today)
    reactions = course_reactions([course.pk for course in courses])
    appointments = patient.appointments.select_related("chair", "course__regimen").order_by("starts_at")
    now = timezone.now()
    # Coming visits that will happen; those called off are listed apart, never as "upcoming".
    upcoming = [a for a in appointments if a.ends_at >= now and a.is_upcoming]
    called_off = [a for a in appointments if a.ends_at >= now and not a.is_active]
    past = [a for a in appointments if a.ends_at < now or (a.is_active and not a.is_upcoming)]
    past.reverse()
    reminders = None
    if request.user.has_perm("scheduling.view_reminder"):
        reminders = patient_reminders(patient)
    # Every opening of a patient's record is logged (who, when, from where), as the law asks.
    record_viewed(patient)
    record_views = patient_record_views(patient) if sees_record_views(request.user) else None
    return render(
        request,
        "patients/patient_detail.html",
        {
            "patient": patient,
            "courses": [(course, summaries[course.pk], reactions[course.pk]) for course in courses],
            "review_form": ReviewClearForm(),
            "upcoming": upcoming,
            "called_off": called_off,
            "past": past,
            "today": today,
            "reminders": reminders,
            "time_zone": patient.clinic.time_zone,
            "history": patient_history(patient, appointments=appointments),
            "record_views": record_views,
        },
    )


def _course_refused(form: CourseForm, error: ValidationError) -> TreatmentCourse | None:
    """Show the service's refusal on the form; the course in the way, when another course is."""
    apply_errors(form, error)
    if isinstance(error, services.CourseConflict):
        if error.can_override:
            form.override_offered = True
        return error.existing
    return None


@permission_required("patients.add_treatmentcourse", raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_create(request, patient_id: int):
    patient = _get_patient_for_user(request.user, patient_id)
    form = CourseForm(
        request.POST or None,
        initial={"start_date": timezone.localdate(timezone=patient.clinic.tz)},
        can_override=request.user.has_perm(services.EXCLUSION_OVERRIDE_PERMISSION),
    )
    in_the_way = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.course_create(patient=patient, created_by=request.user, **data)
        except ValidationError as error:
            in_the_way = _course_refused(form, error)
        else:
            messages.success(request, "Course started.")
            return redirect("patients:detail", patient_id=patient.pk)
    return render(
        request,
        "patients/course_form.html",
        {"form": form, "patient": patient, "course": None, "in_the_way": in_the_way},
    )


@permission_required("patients.change_treatmentcourse", raise_exception=True)
@require_http_methods(["GET", "POST"])
def course_edit(request, patient_id: int, course_id: int):
    patient = _get_patient_for_user(request.user, patient_id)
    course = _get_course_for_user(request.user, patient, course_id)
    form = CourseForm(
        request.POST or None,
        instance=TreatmentCourse.objects.get(pk=course.pk),
        can_override=request.user.has_perm(services.EXCLUSION_OVERRIDE_PERMISSION),
    )
    in_the_way = None
    if request.method == "POST" and form.is_valid():
        try:
            services.course_update(course=course, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            in_the_way = _course_refused(form, error)
        else:
            messages.success(request, "Course saved.")
            return redirect("patients:detail", patient_id=patient.pk)
    history = course_history(course, appointments=course.appointments.all())
    return render(
        request,
        "patients/course_form.html",
        {
            "form": form,
            "patient": patient,
            "course": course,
            "history": history,
            "in_the_way": in_the_way,
            "reactions": course_reactions([course.pk])[course.pk],
            "review_form": ReviewClearForm(),
        },
    )


@permission_required("patients.add_treatmentcourse", raise_exception=True)
@require_POST
def course_options(request):
    """The option checkboxes for the regimen chosen in the course form (htmx swaps them in)."""
    data = request.POST.copy()
    form = CourseForm(data)
    # Keep the ticks the newly chosen regimen also offers; drop the others silently.
    offered = {key for key, _label in form.fields["options"].choices}
    data.setlist("options", [key for key in data.getlist("options") if key in offered])
    return render(request, "patients/_course_options.html", {"form": form})
