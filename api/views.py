"""The FHIR R4 API under /fhir/: thin views over the selectors and the booking services.

Each operation names the scope it needs (`auth=READ` or `auth=BOOK`), reads through
`api.selectors` (only the client's clinics), calls one service for a write and answers a FHIR
resource, a search Bundle, or an OperationOutcome carrying the sentence the pages show.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from ninja import NinjaAPI, Path, Query
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer

from api import fhir, ratelimit, schemas, selectors
from api.auth import BOOK, READ, RateLimited, ScopeMissing
from audit.history import record_viewed
from clinic.dosing import dose_plan
from scheduling.availability.search import find_slots
from scheduling.booking.selectors import slot_suggestions
from scheduling.booking.services import BookingError, booking_cancel, booking_create, booking_create_series
from scheduling.doses import RegimenSpecs, clinic_today

# The longest window a Slot search may cover, in days: the search reads every day of it.
MAX_SLOT_DAYS = 62


class FhirRenderer(BaseRenderer):
    media_type = fhir.MEDIA_TYPE

    def render(self, request, data, *, response_status):
        return json.dumps(data)


class FhirParser(Parser):
    """JSON bodies (application/fhir+json or application/json); anything unreadable is a 400, not an error page."""

    def parse_body(self, request):
        try:
            return json.loads(request.body)
        except ValueError:
            raise HttpError(
                400, "The request's body is not JSON. Send a FHIR resource as application/fhir+json."
            ) from None


api = NinjaAPI(
    title="Chairside FHIR API",
    version="1",
    description=(
        "FHIR R4 (JSON) for the hospital's systems: patients, appointments, free slots, chairs, clinics, "
        "regimens and given doses of the clinics an API client may see. Sign in with OAuth2 client "
        "credentials at /fhir/oauth/token/ and send the token as `Authorization: Bearer …`."
    ),
    urls_namespace="fhir",
    docs_url=None,  # the interactive page loads its scripts from a CDN; clinics run on closed networks
    openapi_url="/openapi.json",
    renderer=FhirRenderer(),
    parser=FhirParser(),
)

ERRORS = {code: schemas.OperationOutcome for code in (400, 401, 403, 404, 429)}
WRITE_ERRORS = {**ERRORS, 422: schemas.OperationOutcome}


def respond(data: dict, status: int = 200, **headers) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type=fhir.MEDIA_TYPE)
    # Patients' records: no proxy or client cache may keep them (the pages say the same).
    add_never_cache_headers(response)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def outcome(status: int, text: str, *, code: str, diagnostics: str = "", **headers) -> HttpResponse:
    return respond(fhir.operation_outcome(text, code=code, diagnostics=diagnostics), status, **headers)


# --- Errors, as OperationOutcomes ----------------------------------------------------------------


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return outcome(
        401,
        "Send a valid access token: ask /fhir/oauth/token/ for one with your client id and secret.",
        code="login",
        WWW_Authenticate='Bearer realm="chairside"',
    )


@api.exception_handler(ScopeMissing)
def _forbidden(request, exc):
    return outcome(
        403,
        f"This client's token does not carry the {exc.scope} scope, which this request needs. "
        "Ask the clinic's administrator for a client that may do it.",
        code="forbidden",
    )


@api.exception_handler(RateLimited)
def _rate_limited(request, exc):
    seconds = ratelimit.window_seconds()
    return outcome(
        429,
        f"Too many requests from this client. Wait up to {seconds} seconds, then try again.",
        code="throttled",
        Retry_After=str(seconds),
    )


@api.exception_handler(Http404)
def _not_found(request, exc):
    return outcome(404, str(exc) or "Not found.", code="not-found")


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    parts = []
    for error in exc.errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body", "path"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return outcome(400, "The request is not valid. Correct it and send it again. " + "; ".join(parts), code="invalid")


@api.exception_handler(HttpError)
def _http_error(request, exc):
    return outcome(exc.status_code, str(exc), code="invalid" if exc.status_code < 500 else "exception")


def method_not_allowed(view):
    """An operation's URL asked with a method it does not take: a 405 OperationOutcome naming the ones it does."""

    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.has_header("Allow"):
            allowed = response["Allow"]
            return outcome(405, f"This URL takes {allowed} only.", code="not-supported", Allow=allowed)
        return response

    answer.csrf_exempt = True
    answer.login_required = False
    return answer


def unknown(request, path: str):
    """Django's view for a path under /fhir/ that no operation serves."""
    return outcome(
        404, "This server has no such resource type or operation. GET /fhir/metadata lists them.", code="not-supported"
    )


# --- Search parameters and paging ----------------------------------------------------------------

_PREFIXED = re.compile(r"^(eq|ne|gt|lt|ge|le)?(\d{4}-\d{2}-\d{2})(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2}))?$", re.ASCII)
# A database id as the API takes it: ASCII digits only (str.isdigit also says yes to "²").
_ID = re.compile(r"[0-9]{1,12}")
_LOOKUPS = {"eq": "", "gt": "__gt", "lt": "__lt", "ge": "__gte", "le": "__lte"}


def _bad(text: str):
    raise HttpError(400, text)


def _date_param(value: str, name: str) -> tuple[str, date | datetime]:
    """A FHIR date search value (`ge2027-01-04`, `2027-01-04T09:00:00Z`) as (prefix, day or moment)."""
    match = _PREFIXED.match(value.strip())
    if not match:
        _bad(f"{name} must be a date such as 2027-01-04, with an optional prefix ge, le, gt, lt or eq.")
    prefix, day, clock = match.group(1) or "eq", match.group(2), match.group(3)
    if prefix == "ne":
        _bad(f"{name} does not support the prefix ne. Use ge, le, gt, lt or eq.")
    try:
        parsed_day = date.fromisoformat(day)
        if clock:
            return prefix, datetime.fromisoformat(day + clock.replace("Z", "+00:00"))
    except ValueError:
        _bad(f"{name} {value!r} is not a real date. Send one such as 2027-01-04.")
    return prefix, parsed_day


def _reference_id(value: str | None, kind: str) -> int | None:
    """`Patient/12` or `12` as 12; anything else matches nothing (-1)."""
    if not value:
        return None
    text = value.strip()
    if text.startswith(f"{kind}/"):
        text = text[len(kind) + 1 :]
    return int(text) if _ID.fullmatch(text) else -1


def _pk(value: str, what: str) -> int:
    if not _ID.fullmatch(value):
        raise Http404(f"No such {what}.")
    return int(value)


def _page_size(count: int | None) -> int:
    if count is None:
        return settings.API_PAGE_SIZE
    return max(0, min(count, settings.API_MAX_PAGE_SIZE))


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path)


def bundle(
    request, rows, build, *, kind: str, count: int | None, offset: int | None, total: int | None = None, full_url=None
) -> HttpResponse:
    """One page of a search as a `searchset` Bundle with `self` and, when more follow, `next` links."""
    size, start = _page_size(count), max(0, offset or 0)
    listed = list(rows[start : start + size + 1])
    more = len(listed) > size
    listed = listed[:size]
    if total is None:
        total = rows.count() if hasattr(rows, "count") and not isinstance(rows, list) else len(rows)
    query = [
        (key, value) for key, values in request.GET.lists() if key not in ("_count", "_offset") for value in values
    ]
    links = [{"relation": "self", "url": _page_url(request, query, size, start)}]
    if more:
        links.append({"relation": "next", "url": _page_url(request, query, size, start + size)})
    entries = []
    for row in listed:
        resource = build(row)
        url = full_url(row) if full_url else f"{kind}/{resource['id']}"
        entries.append(
            {"fullUrl": _absolute(request, f"/fhir/{url}"), "resource": resource, "search": {"mode": "match"}}
        )
    found = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if entries:
        found["entry"] = entries
    return respond(found)


def _page_url(request, query, size: int, offset: int) -> str:
    return _absolute(request, request.path) + "?" + urlencode([*query, ("_count", size), ("_offset", offset)])


# A resource's id in a path; the example names a record that a freshly seeded database holds.
ID = Path(..., max_length=64, example="1", description="The resource's id.")
COUNT = Query(None, alias="_count", ge=0, le=100000, description="Entries per page (at most 500).")
OFFSET = Query(None, alias="_offset", ge=0, le=10**9, description="Entries to skip: follow the Bundle's next link.")


# --- metadata ------------------------------------------------------------------------------------


SEARCHES = {
    "Patient": [("identifier", "token"), ("name", "string"), ("birthdate", "date")],
    "Appointment": [("patient", "reference"), ("date", "date"), ("status", "token"), ("location", "reference")],
    "Slot": [
        ("course", "number"),
        ("regimen", "token"),
        ("location", "reference"),
        ("dose", "number"),
        ("start", "date"),
        ("series", "token"),
    ],
    "Schedule": [("actor", "reference"), ("active", "token")],
    "Location": [("name", "string")],
    "ActivityDefinition": [("status", "token")],
    "MedicationAdministration": [("patient", "reference")],
}
INTERACTIONS = {
    "Patient": ["read", "search-type"],
    "Appointment": ["read", "search-type", "create", "update", "patch"],
    "Slot": ["search-type"],
    "Schedule": ["read", "search-type"],
    "Location": ["read", "search-type"],
    "ActivityDefinition": ["read", "search-type"],
    "MedicationAdministration": ["read", "search-type"],
}


@api.get("/metadata", response={200: schemas.CapabilityStatement}, url_name="metadata", tags=["metadata"])
def metadata(request):
    """The CapabilityStatement: what this server supports. Open without a token, as FHIR asks."""
    token_url = _absolute(request, reverse("fhir:token"))
    resources = [
        {
            "type": kind,
            "interaction": [{"code": code} for code in INTERACTIONS[kind]],
            "searchParam": [{"name": name, "type": kind_} for name, kind_ in [*SEARCHES[kind], ("_count", "number")]],
        }
        for kind in INTERACTIONS
    ]
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().date().isoformat(),
        "publisher": "Chairside",
        "kind": "instance",
        "software": {"name": "Chairside"},
        "implementation": {"description": "Chairside infusion scheduling", "url": _absolute(request, "/fhir/")},
        "fhirVersion": fhir.FHIR_VERSION,
        "format": [fhir.MEDIA_TYPE, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "OAuth2 client credentials; scopes read and book. OpenAPI at /fhir/openapi.json.",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                    "description": f"Ask {token_url} for a token (grant_type=client_credentials).",
                },
                "resource": resources,
            }
        ],
    }
    return respond(statement)


# --- Patient -------------------------------------------------------------------------------------


def _patient_seen(patient):
    record_viewed(patient)
    return fhir.patient_resource(patient)


@api.get(
    "/Patient/{id}", response={200: schemas.Patient, **ERRORS}, auth=READ, url_name="patient_read", tags=["Patient"]
)
def patient_read(request, id: str = ID):
    patient = selectors.patients_for_client(request.auth).filter(pk=_pk(id, "patient")).first()
    if patient is None:
        raise Http404("No such patient.")
    return respond(_patient_seen(patient))


@api.get("/Patient", response={200: schemas.Bundle, **ERRORS}, auth=READ, url_name="patient_search", tags=["Patient"])
def patient_search(
    request,
    identifier: str | None = Query(None, max_length=200, description="The MRN: `system|value` or the value alone."),
    name: str | None = Query(None, max_length=80, description="The start of a given or family name."),
    birthdate: str | None = Query(None, max_length=40, description="A date, with an optional prefix ge, le, gt, lt."),
    count: int | None = COUNT,
    offset: int | None = OFFSET,
):
    born = None
    if birthdate:
        prefix, day = _date_param(birthdate, "birthdate")
        born = (_LOOKUPS[prefix], day.date() if isinstance(day, datetime) else day)
    found = selectors.patient_search(request.auth, identifier=identifier, name=name, birthdate=born)
    # Every patient sent is a record view, as opening the patient's page is.
    return bundle(request, found, _patient_seen, kind="Patient", count=count, offset=offset)


# --- Appointment ---------------------------------------------------------------------------------


def _appointment(request, id: str):
    appointment = selectors.appointments_for_client(request.auth).filter(pk=_pk(id, "appointment")).first()
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment


@api.get(
    "/Appointment/{id}",
    response={200: schemas.Appointment, **ERRORS},
    auth=READ,
    url_name="appointment_read",
    tags=["Appointment"],
)
def appointment_read(request, id: str = ID):
    return respond(fhir.appointment_resource(_appointment(request, id)))


def _moment_bounds(when: date | datetime, tz) -> tuple[datetime, datetime]:
    """A moment as its second; a bare date as that local day in `tz` (a day may last 23 or 25 hours)."""
    if isinstance(when, datetime):
        return when, when + timedelta(seconds=1)
    return datetime.combine(when, time.min, tzinfo=tz), datetime.combine(when + timedelta(days=1), time.min, tzinfo=tz)


def _moment_filter(values: list[str], name: str, field: str, clinics) -> Q:
    """Date search values as a filter on a moment field of rows with a `clinic`.

    A bare date is that day in each clinic's own time zone: an appointment at 20:00 in Los
    Angeles is on its local day, though it starts on the next one in UTC.
    """
    found = Q()
    for value in values:
        prefix, when = _date_param(value, name)
        matches = Q(pk__in=[])
        for clinic in clinics:
            start, end = _moment_bounds(when, clinic.tz)
            matches |= (
                Q(clinic_id=clinic.pk)
                & {
                    "eq": Q(**{f"{field}__gte": start, f"{field}__lt": end}),
                    "ge": Q(**{f"{field}__gte": start}),
                    "gt": Q(**{f"{field}__gte": end}),
                    "le": Q(**{f"{field}__lt": end}),
                    "lt": Q(**{f"{field}__lt": start}),
                }[prefix]
            )
        found &= matches
    return found


@api.get(
    "/Appointment",
    response={200: schemas.Bundle, **ERRORS},
    auth=READ,
    url_name="appointment_search",
    tags=["Appointment"],
)
def appointment_search(
    request,
    patient: str | None = Query(None, max_length=40, description="Patient/12 or 12."),
    date: list[str] = Query(
        None,
        max_length=4,
        description="The start: a date or moment with a prefix (ge, le, …); a date is the clinic's local day.",
    ),
    status: str | None = Query(None, max_length=200, description="FHIR statuses, comma-separated: booked, arrived, …"),
    location: str | None = Query(None, max_length=40, description="Location/3 or 3: a clinic."),
    count: int | None = COUNT,
    offset: int | None = OFFSET,
):
    found = selectors.appointments_for_client(request.auth)
    patient_id = _reference_id(patient, "Patient")
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    location_id = _reference_id(location, "Location")
    if location_id is not None:
        found = found.filter(clinic_id=location_id)
    if status:
        ours = [value for code in status.split(",") for value in fhir.STATUS_FROM_FHIR.get(code.strip(), [])]
        found = found.filter(status__in=ours)
    if date:
        clinics = list(selectors.clinics_for_client(request.auth))
        found = found.filter(_moment_filter(date, "date", "starts_at", clinics))
    return bundle(request, found, fhir.appointment_resource, kind="Appointment", count=count, offset=offset)


def _course_and_slot(request, body: schemas.AppointmentIn):
    slot_id = fhir.SlotId.parse(_reference_id_text(body.slot[0].reference, "Slot"))
    if slot_id is None:
        raise HttpError(
            422, "The slot is not one this server gave. Search Slot for the course's dose and book one of those."
        )
    if slot_id.kind == "regimen":
        raise HttpError(
            422,
            "A regimen's slot names no patient. Search Slot with the patient's course (course=…) and book one of those.",
        )
    course = selectors.courses_for_client(request.auth).filter(pk=slot_id.owner_id).first()
    if course is None:
        raise Http404("No such slot.")
    patients = {_reference_id(part.actor.reference, "Patient") for part in body.participant} - {None, -1}
    if patients != {course.patient_id}:
        raise HttpError(422, "Name the patient of the slot's course as the appointment's participant (Patient/…).")
    chair = course.patient.clinic.chairs.filter(pk=slot_id.chair_id).first()
    if chair is None:
        raise HttpError(422, f"The slot's chair is not one of {course.patient.clinic.name}'s. Search Slot again.")
    return course, chair, slot_id


def _reference_id_text(value: str, kind: str) -> str:
    text = (value or "").strip()
    return text[len(kind) + 1 :] if text.startswith(f"{kind}/") else ""


@api.post(
    "/Appointment",
    response={201: schemas.Appointment | schemas.TransactionResponse, **WRITE_ERRORS},
    auth=BOOK,
    url_name="appointment_create",
    tags=["Appointment"],
)
def appointment_create(request, body: schemas.AppointmentIn):
    """Book a Slot for its course's dose through the booking rules; a series slot books the whole series.

    One dose answers the Appointment. A series answers a `transaction-response` Bundle with
    every Appointment booked, first dose first, each entry's `response.location` naming it;
    the `Location` header names the first.
    """
    course, chair, slot_id = _course_and_slot(request, body)
    booking = {"course": course, "chair": chair, "starts_at": slot_id.starts_at, "booked_by": request.auth.user}
    try:
        if slot_id.kind == "series":
            made = booking_create_series(**booking)
        else:
            made = [booking_create(**booking, dose_number=slot_id.dose_number)]
    except BookingError as refusal:
        return outcome(422, refusal.message, code="business-rule", diagnostics=refusal.code)
    booked = list(selectors.appointments_for_client(request.auth).filter(pk__in=[one.pk for one in made]))
    location = _absolute(request, f"/fhir/Appointment/{booked[0].pk}")
    if slot_id.kind != "series":
        return respond(fhir.appointment_resource(booked[0]), 201, Location=location)
    entries = [
        {
            "fullUrl": _absolute(request, f"/fhir/Appointment/{appointment.pk}"),
            "resource": fhir.appointment_resource(appointment),
            "response": {"status": "201 Created", "location": f"Appointment/{appointment.pk}"},
        }
        for appointment in booked
    ]
    return respond({"resourceType": "Bundle", "type": "transaction-response", "entry": entries}, 201, Location=location)


def _change(request, id: str, body: schemas.AppointmentChange):
    appointment = _appointment(request, id)
    if body.status == fhir.APPOINTMENT_STATUS[appointment.status]:
        return respond(fhir.appointment_resource(appointment))
    if body.status != "cancelled":
        return outcome(
            422,
            "The API only cancels appointments: send status cancelled with a cancelationReason. "
            "To move one, cancel it and book a new slot.",
            code="business-rule",
        )
    reason = body.cancelationReason.text if body.cancelationReason and body.cancelationReason.text else ""
    try:
        booking_cancel(appointment=appointment, by=request.auth.user, reason=reason)
    except BookingError as refusal:
        return outcome(422, refusal.message, code="business-rule", diagnostics=refusal.code)
    return respond(fhir.appointment_resource(_appointment(request, id)))


@api.put(
    "/Appointment/{id}",
    response={200: schemas.Appointment, **WRITE_ERRORS},
    auth=BOOK,
    url_name="appointment_update",
    tags=["Appointment"],
)
def appointment_update(request, body: schemas.AppointmentChange, id: str = ID):
    """Cancel an appointment: status `cancelled` and the reason in `cancelationReason.text`."""
    return _change(request, id, body)


@api.patch(
    "/Appointment/{id}",
    response={200: schemas.Appointment, **WRITE_ERRORS},
    auth=BOOK,
    url_name="appointment_patch",
    tags=["Appointment"],
)
def appointment_patch(request, body: schemas.AppointmentChange, id: str = ID):
    """The same as PUT, with only the changed elements (a JSON merge patch)."""
    return _change(request, id, body)


# --- Slot ----------------------------------------------------------------------------------------


def _window(values: list[str] | None, today: date) -> tuple[date | None, date | None]:
    start = end = None
    for value in values or []:
        prefix, when = _date_param(value, "start")
        day = when.date() if isinstance(when, datetime) else when
        if prefix in ("ge", "gt"):
            start = day + timedelta(days=1) if prefix == "gt" else day
        elif prefix in ("le", "lt"):
            end = day - timedelta(days=1) if prefix == "lt" else day
        else:
            start = end = day
    if start and end and end < start:
        _bad("The window ends before it starts. Send start=ge… before start=le….")
    if start and end and (end - start).days + 1 > MAX_SLOT_DAYS:
        _bad(f"Search at most {MAX_SLOT_DAYS} days at once.")
    return start, end


def _slot_bundle(request, search, make_id, count, offset):
    slots = search.slots if search else []
    return bundle(
        request,
        slots,
        lambda slot: fhir.slot_resource(make_id(slot), ends_at=slot.ends_at, late=slot.late),
        kind="Slot",
        count=count,
        offset=offset,
    )


@api.get("/Slot", response={200: schemas.Bundle, **ERRORS}, auth=READ, url_name="slot_search", tags=["Slot"])
def slot_search(
    request,
    course: int | None = Query(
        None, ge=1, le=10**12, example=1, description="A treatment course: its next dose's free slots."
    ),
    regimen: str | None = Query(None, max_length=60, description="A regimen's id or code, with location."),
    location: str | None = Query(None, max_length=40, description="Location/3 or 3: the clinic, with regimen."),
    dose: int | None = Query(None, ge=1, le=500, description="Which dose (default: the course's next)."),
    start: list[str] = Query(
        None, max_length=2, description="The window: start=ge2027-01-04&start=le2027-01-18 (clinic days)."
    ),
    series: bool = Query(False, description="With course: slots from which the whole series is booked."),
    count: int | None = COUNT,
    offset: int | None = OFFSET,
):
    """Free slots: a course's next dose (or `dose`), or a regimen's dose at a clinic, over a window of days."""
    if course is not None:
        found = selectors.courses_for_client(request.auth).filter(pk=course).first()
        if found is None:
            return bundle(request, [], fhir.slot_resource, kind="Slot", count=count, offset=offset)
        first, last = _window(start, clinic_today(found.patient.clinic))
        suggestions = slot_suggestions(found, dose_number=dose, start=first, end=last)
        search = suggestions.search
        kind = "series" if series and suggestions.series else "course"
        number = search.dose.dose_number if search and search.dose else (dose or 1)
        return _slot_bundle(
            request,
            search,
            lambda slot: fhir.SlotId(kind, found.pk, number, slot.chair_id, slot.starts_at),
            count,
            offset,
        )
    if regimen is None:
        _bad("Name a course (course=…), or a regimen and a clinic (regimen=…&location=…).")
    clinic_id = _reference_id(location, "Location")
    clinic = selectors.clinics_for_client(request.auth).filter(pk=clinic_id).first() if clinic_id else None
    if clinic is None:
        _bad("With a regimen, name one of this client's clinics: location=Location/….")
    by = {"pk": int(regimen)} if _ID.fullmatch(regimen) else {"code": regimen}
    found_regimen = selectors.regimens().filter(**by).first()
    if found_regimen is None:
        return bundle(request, [], fhir.slot_resource, kind="Slot", count=count, offset=offset)
    today = clinic_today(clinic)
    first, last = _window(start, today)
    first = max(first or today, today)
    last = last or first + timedelta(days=13)
    number = dose or 1
    spec = RegimenSpecs.for_regimens([found_regimen.pk]).for_clinic(found_regimen.pk, clinic.pk)
    plan = dose_plan(spec, start_date=today, given=[], today=today, count=number)
    if len(plan) < number:
        return bundle(request, [], fhir.slot_resource, kind="Slot", count=count, offset=offset)
    search = find_slots(clinic=clinic, chair_time=plan[number - 1].chair_time, start=first, end=max(last, first))
    return _slot_bundle(
        request,
        search,
        lambda slot: fhir.SlotId("regimen", found_regimen.pk, number, slot.chair_id, slot.starts_at),
        count,
        offset,
    )


# --- Schedule, Location, ActivityDefinition ------------------------------------------------------


@api.get(
    "/Schedule/{id}", response={200: schemas.Schedule, **ERRORS}, auth=READ, url_name="schedule_read", tags=["Schedule"]
)
def schedule_read(request, id: str = ID):
    chair = selectors.chairs_for_client(request.auth).filter(pk=_pk(id, "schedule")).first()
    if chair is None:
        raise Http404("No such schedule.")
    return respond(fhir.schedule_resource(chair))


@api.get(
    "/Schedule", response={200: schemas.Bundle, **ERRORS}, auth=READ, url_name="schedule_search", tags=["Schedule"]
)
def schedule_search(
    request,
    actor: str | None = Query(None, max_length=40, description="Location/3 or 3: a clinic's chairs."),
    active: bool | None = Query(None),
    count: int | None = COUNT,
    offset: int | None = OFFSET,
):
    found = selectors.chairs_for_client(request.auth)
    clinic_id = _reference_id(actor, "Location")
    if clinic_id is not None:
        found = found.filter(clinic_id=clinic_id)
    if active is not None:
        found = found.filter(active=active)
    return bundle(request, found, fhir.schedule_resource, kind="Schedule", count=count, offset=offset)


@api.get(
    "/Location/{id}", response={200: schemas.Location, **ERRORS}, auth=READ, url_name="location_read", tags=["Location"]
)
def location_read(request, id: str = ID):
    clinic = selectors.clinics_for_client(request.auth).filter(pk=_pk(id, "location")).first()
    if clinic is None:
        raise Http404("No such location.")
    return respond(fhir.location_resource(clinic))


@api.get(
    "/Location", response={200: schemas.Bundle, **ERRORS}, auth=READ, url_name="location_search", tags=["Location"]
)
def location_search(
    request,
    name: str | None = Query(None, max_length=120),
    count: int | None = COUNT,
    offset: int | None = OFFSET,
):
    found = selectors.clinics_for_client(request.auth).order_by("name", "pk")
    if name:
        found = found.filter(name__icontains=name)
    return bundle(request, found, fhir.location_resource, kind="Location", count=count, offset=offset)


@api.get(
    "/ActivityDefinition/{id}",
    response={200: schemas.ActivityDefinition, **ERRORS},
    auth=READ,
    url_name="activity_definition_read",
    tags=["ActivityDefinition"],
)
def activity_definition_read(request, id: str = ID):
    regimen = selectors.regimens().filter(pk=_pk(id, "activity definition")).first()
    if regimen is None:
        raise Http404("No such activity definition.")
    return respond(fhir.activity_definition_resource(regimen))


@api.get(
    "/ActivityDefinition",
    response={200: schemas.Bundle, **ERRORS},
    auth=READ,
    url_name="activity_definition_search",
    tags=["ActivityDefinition"],
)
def activity_definition_search(
    request,
    status: str | None = Query(None, max_length=20, description="active or retired"),
    count: int | None = COUNT,
    offset: int | None = OFFSET,
):
    found = selectors.regimens()
    if status:
        found = found.filter(active=status == "active") if status in ("active", "retired") else found.none()
    return bundle(
        request, found, fhir.activity_definition_resource, kind="ActivityDefinition", count=count, offset=offset
    )


# --- MedicationAdministration --------------------------------------------------------------------


def _given(request):
    return selectors.appointments_for_client(request.auth).completed()


@api.get(
    "/MedicationAdministration/{id}",
    response={200: schemas.MedicationAdministration, **ERRORS},
    auth=READ,
    url_name="medication_administration_read",
    tags=["MedicationAdministration"],
)
def medication_administration_read(request, id: str = ID):
    given = _given(request).filter(pk=_pk(id, "medication administration")).first()
    if given is None:
        raise Http404("No such medication administration.")
    return respond(fhir.medication_administration_resource(given))


@api.get(
    "/MedicationAdministration",
    response={200: schemas.Bundle, **ERRORS},
    auth=READ,
    url_name="medication_administration_search",
    tags=["MedicationAdministration"],
)
def medication_administration_search(
    request,
    patient: str | None = Query(None, max_length=40, description="Patient/12 or 12."),
    count: int | None = COUNT,
    offset: int | None = OFFSET,
):
    found = _given(request)
    patient_id = _reference_id(patient, "Patient")
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    return bundle(
        request,
        found,
        fhir.medication_administration_resource,
        kind="MedicationAdministration",
        count=count,
        offset=offset,
    )
