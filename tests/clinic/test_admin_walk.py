"""A manager of clinic A walks every admin page and sees nothing of clinic B, nor changes it.

The walk reads the admin's registry, so a model registered later is walked too: its list,
every list filter's choices, a search, the add page, and the change, history and delete pages
of clinic A's row and of clinic B's. Every response is searched for the strings only clinic
B's rows carry and for links to B's rows; every dropdown of every form is read; posts aimed
at B's rows, or at A's rows with B's chair or patient chosen, leave the database as it was.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from html.parser import HTMLParser

import pytest
from auditlog.models import LogEntry
from axes.models import AccessLog
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.forms.models import model_to_dict
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import Clinic, ClinicRegimenSetting, Closure, OpeningHours, Regimen, StaffProfile
from clinic.roles import MANAGER, NURSE
from scheduling.models import Appointment, NurseAssignment, Reminder
from tests.accounts.support import log_in_with_two_steps
from tests.factories import ChairFactory, PatientFactory, TreatmentCourseFactory
from tests.helpers import admin_form_data, book_directly, local, make_clinic, make_staff

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)

# Every one of these is found in clinic B's rows and nowhere else.
B_STRINGS = (
    "Harbour Infusion Suite",
    "7 Quayside Lane",
    "frontdesk@harbour.example.org",
    "Quayside Recliner",
    "Ottoline",
    "Zebadiah",
    "HB-777001",
    "AUTH-HARBOUR-9",
    "Harbour regatta day",
    "harbour-harriet",
    "Quillfeather",
    "harbour-hugo",
    "Brinebottom",
    "Harbour phone",
)
A_STRINGS = ("Northside Infusion Centre", "Northside Recliner", "Agatha", "NS-100001")


def _clinic_rows(clinic, *, chair, nurse, manager, phone, patient, authorization, closure):
    """A chair, a nurse, a patient with a course, an appointment, a reminder and a nurse assignment at `clinic`."""
    chair = ChairFactory(clinic=clinic, name=chair)
    patient = PatientFactory(clinic=clinic, **patient)
    course = TreatmentCourseFactory(patient=patient, start_date=MONDAY, authorization_number=authorization)
    appointment = book_directly(course=course, chair=chair, starts_at=local(clinic, MONDAY, 9))
    reminder = Reminder.objects.create(
        clinic=clinic,
        patient=patient,
        appointment=appointment,
        course=course,
        kind=Reminder.Kind.APPOINTMENT_UPCOMING,
        key=f"walk:{appointment.pk}",
        due_at=timezone.now() + timedelta(days=20),
    )
    assignment = NurseAssignment.objects.create(clinic=clinic, day=MONDAY, chair=chair, nurse=nurse)
    Closure.objects.create(clinic=clinic, starts_on=date(2027, 8, 2), ends_on=date(2027, 8, 3), reason=closure)
    OpeningHours.objects.filter(clinic=clinic, weekday=5).delete()
    OpeningHours.objects.create(clinic=clinic, weekday=5, opens=time(9), closes=time(13))
    maintenance = Regimen.objects.get(code="ocrevus").phases.get(name="maintenance")
    return {
        Clinic: clinic,
        ClinicRegimenSetting: ClinicRegimenSetting.objects.create(clinic=clinic, phase=maintenance, premed_minutes=45),
        type(chair): chair,
        type(patient): patient,
        Appointment: appointment,
        Reminder: reminder,
        NurseAssignment: assignment,
        StaffProfile: nurse.staff_profile,
        get_user_model(): nurse,
        TOTPDevice: TOTPDevice.objects.create(user=manager, name=phone, confirmed=True),
        AccessLog: AccessLog.objects.create(username=manager.username, ip_address="10.0.0.9", user_agent="walk"),
        LogEntry: LogEntry.objects.get_for_object(patient).first(),
    }


@pytest.fixture
def walk(db):
    """Clinics A and B, each with one of everything, and A's manager signed in with two steps."""
    clinic_a = make_clinic("Northside Infusion Centre", require_mfa_for_managers=True)
    clinic_b = make_clinic(
        "Harbour Infusion Suite",
        time_zone="America/New_York",
        address="7 Quayside Lane",
        email="frontdesk@harbour.example.org",
    )
    manager = make_staff("max", MANAGER, clinic_a, first_name="Max", is_staff=True)
    ours = _clinic_rows(
        clinic_a,
        chair="Northside Recliner",
        nurse=make_staff("nina", NURSE, clinic_a, first_name="Nina"),
        manager=manager,
        phone="Northside phone",
        patient={"first_name": "Agatha", "last_name": "Northwood", "mrn": "NS-100001"},
        authorization="AUTH-NORTH-1",
        closure="Northside training day",
    )
    theirs = _clinic_rows(
        clinic_b,
        chair="Quayside Recliner",
        nurse=make_staff("harbour-harriet", NURSE, clinic_b, first_name="Harriet", last_name="Quillfeather"),
        manager=make_staff("harbour-hugo", MANAGER, clinic_b, last_name="Brinebottom", is_staff=True),
        phone="Harbour phone",
        patient={"first_name": "Ottoline", "last_name": "Zebadiah", "mrn": "HB-777001"},
        authorization="AUTH-HARBOUR-9",
        closure="Harbour regatta day",
    )
    return {"manager": manager, "ours": ours, "theirs": theirs}


# --- Reading the pages ----------------------------------------------------------------------------


class _Options(HTMLParser):
    """The text of every <option> on a page."""

    def __init__(self):
        super().__init__()
        self.options: list[str] = []
        self._inside = False

    def handle_starttag(self, tag, attrs):
        if tag == "option":
            self._inside = True
            self.options.append("")

    def handle_data(self, data):
        if self._inside:
            self.options[-1] += data

    def handle_endtag(self, tag):
        if tag == "option":
            self._inside = False


def _options(html: str) -> list[str]:
    parser = _Options()
    parser.feed(html)
    return parser.options


def _admin_url(name: str, obj=None, model=None) -> str | None:
    opts = (model or type(obj))._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=[] if obj is None else [obj.pk])
    except NoReverseMatch:
        return None


class Walk:
    """The signed-in client, with every response checked for clinic B."""

    def __init__(self, client, theirs):
        self.client = client
        self.theirs = theirs
        self.pages = 0
        self.b_links = [url for obj in theirs.values() if obj for url in [_admin_url("change", obj)] if url]

    def check(self, response, where, *, echoed: str = ""):
        self.pages += 1
        html = response.content.decode(errors="replace")
        if echoed:
            # The search box and the links that keep the search repeat the term: one word, so
            # that its encodings in those links are the word itself.
            html = html.replace(echoed, "")
        for text in B_STRINGS:
            assert text not in html, f"{where} shows clinic B's {text!r}"
        for link in self.b_links:
            assert f'href="{link}"' not in html, f"{where} links to clinic B's {link}"
        self.check_choices(response, where)
        return html

    def check_choices(self, response, where):
        """No form field on the page offers one of B's rows, whether or not its widget shows it."""
        context = getattr(response, "context", None)
        if not context or "adminform" not in context:
            return
        forms_on_page = [(context["adminform"].form, None)]
        for inline in context.get("inline_admin_formsets", []):
            # An inline row's hidden id names the row it edits; the formset looks a posted id
            # up among the parent's own rows only, so it is no dropdown.
            row_id = inline.formset.model._meta.pk.name
            forms_on_page.extend((form, row_id) for form in [*inline.formset.forms, inline.formset.empty_form])
        for form, row_id in forms_on_page:
            for name, field in form.fields.items():
                if isinstance(field, forms.ModelChoiceField) and name != row_id:
                    theirs = self.theirs.get(field.queryset.model)
                    assert theirs is None or not field.queryset.filter(pk=theirs.pk).exists(), (
                        f"{where}: the {name} field offers clinic B's {theirs}"
                    )
        html = response.content.decode(errors="replace")
        for text in _options(html):
            for their_text in B_STRINGS:
                assert their_text not in text, f"{where}: a dropdown offers clinic B's {text!r}"

    def get(self, url, where, *, allowed=(200,), **params):
        response = self.client.get(url, params)
        assert response.status_code in allowed, (where, url, params, response.status_code)
        self.check(response, where, echoed=params.get("q", ""))
        return response

    def post(self, url, data, where, *, allowed):
        response = self.client.post(url, data)
        assert response.status_code in allowed, (where, url, response.status_code)
        self.check(response, where)
        return response


def _snapshot():
    """Every row of every registered model, as stored."""
    return {
        model: sorted(map(repr, model._default_manager.order_by("pk").values()))
        for model in [*admin.site._registry, OpeningHours, Closure, Group]
    }


def _choice_fields(response) -> dict[str, type]:
    form = response.context["adminform"].form
    return {
        name: field.queryset.model for name, field in form.fields.items() if isinstance(field, forms.ModelChoiceField)
    }


# --- The walk -------------------------------------------------------------------------------------


def test_a_manager_of_clinic_a_walks_every_admin_page_and_meets_nothing_of_clinic_b(client, walk):
    ours, theirs = walk["ours"], walk["theirs"]
    log_in_with_two_steps(client, walk["manager"])
    walker = Walk(client, theirs)
    before = _snapshot()

    walker.get(reverse("admin:index"), "the admin index")
    apps = {model._meta.app_label for model in admin.site._registry}
    for app_label in sorted(apps):
        walker.get(reverse("admin:app_list", args=[app_label]), app_label, allowed=(200, 403, 404))

    listed = set()
    for model, model_admin in admin.site._registry.items():
        name = model._meta.label
        mine, their = ours.get(model), theirs.get(model)
        changelist = _admin_url("changelist", model=model)
        listing = walker.get(changelist, f"{name} list", allowed=(200, 403))
        visible = listing.status_code == 200
        if visible:
            listed.add(model)
            rows = {row.pk for row in listing.context["cl"].result_list}
            assert their is None or their.pk not in rows, f"{name} lists clinic B's row"
            assert mine is None or mine.pk in rows, f"{name} does not list clinic A's row: the walk sees nothing"
            _walk_filters(walker, listing, name, theirs, their)
            for term in ("Quayside", "HB-777001", "Zebadiah", "harbour-hugo"):
                found = walker.get(changelist, f"{name} searched for {term}", q=term)
                assert their is None or their.pk not in {row.pk for row in found.context["cl"].result_list}
            if their is not None:
                _walk_actions(walker, changelist, model_admin, listing, name, their)

        add = walker.get(_admin_url("add", model=model), f"{name} add page", allowed=(200, 403))
        if add.status_code == 200 and mine is not None:
            _post_with_their_choices(walker, _admin_url("add", model=model), add, mine, theirs, f"{name} add")

        if mine is not None:
            change = walker.get(_admin_url("change", mine), f"{name} change page of A", allowed=(200, 403, 404))
            if change.status_code == 200 and not visible:
                raise AssertionError(f"{name}: a row opens that the list does not show")
            walker.get(_admin_url("history", mine), f"{name} history of A", allowed=(200, 403, 404))
            walker.get(_admin_url("delete", mine), f"{name} delete page of A", allowed=(200, 403, 404))
            if change.status_code == 200 and model_admin.has_change_permission(change.wsgi_request, mine):
                _post_with_their_choices(walker, _admin_url("change", mine), change, mine, theirs, f"{name} change")

        if their is not None:
            # A list that answers 403 shows nothing of the model; then its rows may answer 403 too.
            missing = (404,) if visible else (403, 404)
            for view in ("change", "history", "delete"):
                walker.get(_admin_url(view, their), f"{name} {view} page of B", allowed=missing)
            walker.post(_admin_url("change", their), {"_save": "Save"}, f"{name} change of B", allowed=missing)
            walker.post(_admin_url("delete", their), {"post": "yes"}, f"{name} delete of B", allowed=missing)
            shortcut = reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(model).pk, their.pk])
            walker.get(shortcut, f"{name} view on site of B", allowed=(404,))

        _walk_autocomplete(walker, model, name, theirs)

    assert _snapshot() == before, "a page changed the database"
    # The walk did see the manager's own clinic, so an empty page cannot pass for a clean one.
    assert {Clinic, Appointment, Reminder, NurseAssignment} <= listed
    assert walker.pages > 100


def _walk_filters(walker, listing, name, theirs, their):
    changelist = listing.wsgi_request.path
    cl = listing.context["cl"]
    for spec in cl.filter_specs:
        for choice in spec.choices(cl):
            walker.get(changelist + choice["query_string"], f"{name} filtered: {spec.title} {choice['display']}")
        # The filter's own parameter given one of B's rows by hand lists nothing of B.
        field = getattr(spec, "field", None)
        related = theirs.get(getattr(field, "related_model", None))
        if related is not None and hasattr(spec, "lookup_kwarg"):
            found = walker.get(changelist, f"{name} filtered on B's {related}", **{spec.lookup_kwarg: related.pk})
            assert their is None or their.pk not in {row.pk for row in found.context["cl"].result_list}


def _walk_actions(walker, changelist, model_admin, listing, name, their):
    request = listing.wsgi_request
    for action in model_admin.get_actions(request):
        data = {"action": action, admin.helpers.ACTION_CHECKBOX_NAME: [str(their.pk)], "index": "0"}
        walker.post(changelist, data, f"{name} action {action} on B", allowed=(200, 302))
        walker.post(changelist, {**data, "post": "yes"}, f"{name} action {action} confirmed on B", allowed=(200, 302))


def _post_with_their_choices(walker, url, page, mine, theirs, where):
    """Send the form back filled from A's row, with B's row chosen in every dropdown that offers a clinic's rows."""
    data = admin_form_data(page)
    fields = _choice_fields(page)
    for name, value in model_to_dict(mine, fields=list(page.context["adminform"].form.fields)).items():
        if name not in data and value not in (None, "", [], False):
            data[name] = str(value.pk if hasattr(value, "pk") else value)
    swapped = {name: theirs[model] for name, model in fields.items() if theirs.get(model) is not None}
    if not swapped:
        return
    data.update({name: str(obj.pk) for name, obj in swapped.items()})
    data["_save"] = "Save"
    response = walker.post(url, data, f"{where} choosing B's rows", allowed=(200, 403))
    if response.status_code == 200:
        errors = response.context["adminform"].form.errors
        assert set(swapped) & set(errors), f"{where}: B's rows were accepted in {sorted(swapped)}"


def _walk_autocomplete(walker, model, name, theirs):
    for field in model._meta.get_fields():
        if not (field.is_relation and field.concrete):
            continue
        params = {
            "app_label": model._meta.app_label,
            "model_name": model._meta.model_name,
            "field_name": field.name,
            "term": "",
        }
        response = walker.get(
            reverse("admin:autocomplete"), f"{name}.{field.name} autocomplete", allowed=(200, 403, 404), **params
        )
        if response.status_code == 200:
            their = theirs.get(field.related_model)
            ids = {result["id"] for result in response.json()["results"]}
            assert their is None or str(their.pk) not in ids, f"{name}.{field.name} autocomplete offers B's row"
