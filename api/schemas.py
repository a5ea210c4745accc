"""The OpenAPI description's shapes: slim models of the FHIR resources the API sends and takes.

They name the elements Chairside fills and let any other element through (FHIR resources
are open); the tests check every resource sent against the full R4 models of fhir.resources.
"""

from __future__ import annotations

from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field


class Open(Schema):
    model_config = ConfigDict(extra="allow")


class Reference(Open):
    reference: str
    display: str | None = None


class CodeableConcept(Open):
    text: str | None = None


class Issue(Open):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str
    details: CodeableConcept | None = None
    diagnostics: str | None = None


class OperationOutcome(Open):
    resourceType: Literal["OperationOutcome"]
    issue: list[Issue]


class Identifier(Open):
    system: str | None = None
    value: str


class HumanName(Open):
    family: str | None = None
    given: list[str] | None = None


class Patient(Open):
    resourceType: Literal["Patient"]
    id: str
    identifier: list[Identifier]
    name: list[HumanName]
    birthDate: str


class Participant(Open):
    actor: Reference
    status: str | None = None


class Appointment(Open):
    resourceType: Literal["Appointment"]
    id: str
    status: str
    start: str
    end: str
    participant: list[Participant]


class Location(Open):
    resourceType: Literal["Location"]
    id: str
    name: str
    status: str


class Schedule(Open):
    resourceType: Literal["Schedule"]
    id: str
    active: bool
    actor: list[Reference]


class Slot(Open):
    resourceType: Literal["Slot"]
    id: str
    schedule: Reference
    status: Literal["free"]
    start: str
    end: str


class ActivityDefinition(Open):
    resourceType: Literal["ActivityDefinition"]
    id: str
    status: str
    title: str


class Period(Open):
    start: str
    end: str | None = None


class MedicationAdministration(Open):
    resourceType: Literal["MedicationAdministration"]
    id: str
    status: str
    subject: Reference
    effectivePeriod: Period


class BundleLink(Schema):
    relation: str
    url: str


class BundleEntry(Open):
    fullUrl: str
    resource: dict[str, Any]


class Bundle(Open):
    resourceType: Literal["Bundle"]
    type: Literal["searchset"]
    total: int
    link: list[BundleLink]
    entry: list[BundleEntry] = Field(default_factory=list)


class BundleEntryResponse(Open):
    status: str
    location: str | None = None


class TransactionResponseEntry(Open):
    fullUrl: str
    resource: dict[str, Any]
    response: BundleEntryResponse


class TransactionResponse(Open):
    """What a booking of a whole series answers: one entry per appointment booked, as a FHIR transaction does."""

    resourceType: Literal["Bundle"]
    type: Literal["transaction-response"]
    entry: list[TransactionResponseEntry]


class CapabilityStatement(Open):
    resourceType: Literal["CapabilityStatement"]
    status: str
    kind: str
    fhirVersion: str
    format: list[str]
    rest: list[dict[str, Any]]


# --- What a client sends -------------------------------------------------------------------------


class AppointmentParticipantIn(Open):
    actor: Reference


class AppointmentIn(Open):
    """A booking: one Slot (from a Slot search) and the patient whose dose it is."""

    resourceType: Literal["Appointment"]
    status: Literal["booked", "proposed", "pending"] = "booked"
    slot: list[Reference] = Field(min_length=1, max_length=1)
    participant: list[AppointmentParticipantIn] = Field(min_length=1)


class AppointmentChange(Open):
    """A change of an appointment: the API cancels (status `cancelled`, with `cancelationReason.text`)."""

    resourceType: Literal["Appointment"] | None = None
    status: str
    cancelationReason: CodeableConcept | None = None
