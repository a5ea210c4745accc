"""What an API client may read: only its own clinics' records, each with what its resource shows.

Every read of the API goes through here, so the clinic boundary is checked in one place; a
record of another clinic is simply not found.
"""

from __future__ import annotations

import re

from django.db.models import Prefetch, Q, QuerySet

from api.models import ApiClient
from clinic.models import Chair, Clinic, Regimen, RegimenPhase
from patients.models import Patient, TreatmentCourse
from scheduling.models import Appointment

# The identifier system of a clinic's MRNs (api.fhir.MRN_SYSTEM).
MRN_SYSTEM = re.compile(r"^urn:chairside:clinic:(\d{1,12}):mrn$")


def clinics_for_client(client: ApiClient) -> QuerySet[Clinic]:
    return Clinic.objects.filter(active=True, api_clients=client)


def patients_for_client(client: ApiClient) -> QuerySet[Patient]:
    return Patient.objects.filter(clinic__in=clinics_for_client(client)).order_by("last_name", "first_name", "pk")


def patient_search(
    client: ApiClient, *, identifier: str | None, name: str | None, birthdate: tuple[str, object] | None
) -> QuerySet[Patient]:
    """`identifier` is an MRN (`system|value` or the value alone); `name` matches the start of a given or family name."""
    found = patients_for_client(client)
    if identifier:
        system, _, value = identifier.rpartition("|")
        found = found.filter(mrn=value)
        if system:
            match = MRN_SYSTEM.match(system)
            found = found.filter(clinic_id=int(match.group(1))) if match else found.none()
    if name:
        found = found.filter(Q(first_name__istartswith=name) | Q(last_name__istartswith=name))
    if birthdate:
        lookup, day = birthdate
        found = found.filter(**{f"date_of_birth{lookup}": day})
    return found


def courses_for_client(client: ApiClient) -> QuerySet[TreatmentCourse]:
    return TreatmentCourse.objects.select_related("patient__clinic", "regimen__drug").filter(
        patient__clinic__in=clinics_for_client(client)
    )


def appointments_for_client(client: ApiClient) -> QuerySet[Appointment]:
    return (
        Appointment.objects.select_related("clinic", "chair", "patient", "course__regimen__drug")
        .filter(clinic__in=clinics_for_client(client))
        .order_by("starts_at", "pk")
    )


def chairs_for_client(client: ApiClient) -> QuerySet[Chair]:
    return (
        Chair.objects.select_related("clinic")
        .filter(clinic__in=clinics_for_client(client))
        .order_by("clinic__name", "position", "pk")
    )


def regimens() -> QuerySet[Regimen]:
    """The formulary every clinic shares: no clinic's data, so every client reads all of it."""
    return (
        Regimen.objects.select_related("drug")
        .prefetch_related(Prefetch("phases", queryset=RegimenPhase.objects.order_by("position")))
        .order_by("name", "pk")
    )
