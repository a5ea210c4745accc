"""Chairside's records as FHIR R4 resources (plain dicts, JSON-ready), and the ids the API mints.

One builder per resource; they read only what they are handed (the selectors load it), so a
search page costs a fixed number of queries. Times go out in UTC with a `Z`; dates as the
clinic's local day where FHIR means a day (a patient's birth date).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from clinic.models import Chair, Clinic, Regimen
from patients.models import Patient
from scheduling.models import Appointment

FHIR_VERSION = "4.0.1"
MEDIA_TYPE = "application/fhir+json"
# A clinic's MRNs are unique within the clinic only, so each clinic is its own identifier system.
MRN_SYSTEM = "urn:chairside:clinic:{clinic_id}:mrn"
REGIMEN_SYSTEM = "urn:chairside:regimen"
SERIES_EXTENSION = "urn:chairside:fhir:extension:series"

# Chairside's visit statuses as FHIR's Appointment.status.
APPOINTMENT_STATUS = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.ARRIVED: "arrived",
    Appointment.Status.IN_CHAIR: "checked-in",
    Appointment.Status.INFUSING: "checked-in",
    Appointment.Status.OBSERVATION: "checked-in",
    Appointment.Status.COMPLETED: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
}
# And back, for a search by status: one FHIR status may stand for several of ours.
STATUS_FROM_FHIR: dict[str, list[str]] = {}
for _ours, _theirs in APPOINTMENT_STATUS.items():
    STATUS_FROM_FHIR.setdefault(_theirs, []).append(_ours)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reference(kind: str, pk, display: str | None = None) -> dict:
    found = {"reference": f"{kind}/{pk}"}
    if display:
        found["display"] = display
    return found


# --- Slot ids -----------------------------------------------------------------------------------

_SLOT_ID = re.compile(r"^(course|series|regimen)(\d{1,12})-dose(\d{1,4})-chair(\d{1,12})-(\d{12})Z$")


@dataclass(frozen=True)
class SlotId:
    """What a Slot's id says: whose dose (a course, a series from a course, or a regimen's), which chair, when.

    Slots are not stored: they are the availability search's answer, and the id carries what
    booking one needs. Booking checks every rule again, so a made-up id books nothing that the
    rules refuse.
    """

    kind: str  # course, series or regimen
    owner_id: int  # the course's id, or the regimen's
    dose_number: int
    chair_id: int
    starts_at: datetime

    def __str__(self) -> str:
        return (
            f"{self.kind}{self.owner_id}-dose{self.dose_number}-chair{self.chair_id}-"
            f"{self.starts_at.astimezone(UTC):%Y%m%d%H%M}Z"
        )

    @classmethod
    def parse(cls, text: str) -> SlotId | None:
        match = _SLOT_ID.match(text or "")
        if not match:
            return None
        kind, owner, dose, chair, stamp = match.groups()
        try:
            starts_at = datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=UTC)
        except ValueError:
            return None
        return cls(kind, int(owner), int(dose), int(chair), starts_at)


# --- Resources ----------------------------------------------------------------------------------


def patient_resource(patient: Patient) -> dict:
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    resource = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "identifier": [
            {
                "use": "usual",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": MRN_SYSTEM.format(clinic_id=patient.clinic_id),
                "value": patient.mrn,
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": patient.last_name, "given": [patient.first_name]}],
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if telecom:
        resource["telecom"] = telecom
    return resource


def location_resource(clinic: Clinic) -> dict:
    resource = {
        "resourceType": "Location",
        "id": str(clinic.pk),
        "status": "active" if clinic.active else "inactive",
        "name": clinic.name,
        "mode": "instance",
        "type": [{"text": "Infusion clinic"}],
        "description": f"Infusion clinic; times are kept in UTC and the clinic works in {clinic.time_zone}.",
    }
    telecom = []
    if clinic.phone:
        telecom.append({"system": "phone", "value": clinic.phone})
    if clinic.email:
        telecom.append({"system": "email", "value": clinic.email})
    if telecom:
        resource["telecom"] = telecom
    if clinic.address:
        resource["address"] = {"text": clinic.address}
    return resource


def schedule_resource(chair: Chair) -> dict:
    return {
        "resourceType": "Schedule",
        "id": str(chair.pk),
        "active": chair.active,
        "serviceType": [{"text": f"Infusion {chair.get_kind_display().lower()}"}],
        "actor": [reference("Location", chair.clinic_id, chair.clinic.name)],
        "comment": f"{chair.name} at {chair.clinic.name}",
    }


def slot_resource(slot_id: SlotId, *, ends_at: datetime, late: bool = False) -> dict:
    resource = {
        "resourceType": "Slot",
        "id": str(slot_id),
        "schedule": reference("Schedule", slot_id.chair_id),
        "status": "free",
        "start": instant(slot_id.starts_at),
        "end": instant(ends_at),
    }
    if slot_id.kind == "series":
        resource["comment"] = "Booking this slot books the whole series from it."
        resource["extension"] = [{"url": SERIES_EXTENSION, "valueBoolean": True}]
    if late:
        resource["comment"] = "After the end of the dose's recommended window."
    return resource


def appointment_resource(appointment: Appointment) -> dict:
    """The visit as an Appointment: the patient and the clinic as participants, the chair in the description."""
    course = appointment.course
    resource = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "status": APPOINTMENT_STATUS[appointment.status],
        "serviceType": [{"text": f"{course.regimen.name} infusion"}],
        "description": f"Dose {appointment.dose_number} of {course.regimen.name} in {appointment.chair.name}",
        "start": instant(appointment.starts_at),
        "end": instant(appointment.ends_at),
        "minutesDuration": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        "created": instant(appointment.created_at),
        "participant": [
            {
                "actor": reference("Patient", appointment.patient_id, appointment.patient.full_name),
                "required": "required",
                "status": "accepted",
            },
            {
                "actor": reference("Location", appointment.clinic_id, appointment.clinic.name),
                "required": "required",
                "status": "accepted",
            },
        ],
    }
    return resource


def medication_administration_resource(appointment: Appointment) -> dict:
    """A completed visit as the dose given: the infusion's recorded times, or the visit's."""
    course = appointment.course
    drug = course.regimen.drug
    started = appointment.infusion_started_at or appointment.starts_at
    ended = appointment.infusion_ended_at or appointment.completed_at or appointment.ends_at
    if ended < started:
        ended = started
    return {
        "resourceType": "MedicationAdministration",
        "id": str(appointment.pk),
        "status": "completed",
        "medicationCodeableConcept": {"text": f"{drug.brand_name} ({drug.generic_name})"},
        "subject": reference("Patient", appointment.patient_id, appointment.patient.full_name),
        "effectivePeriod": {"start": instant(started), "end": instant(ended)},
        "supportingInformation": [reference("Appointment", appointment.pk)],
        "note": [{"text": f"Dose {appointment.dose_number} of {course.regimen.name}"}],
        "dosage": {"route": {"text": drug.route}},
    }


def activity_definition_resource(regimen: Regimen) -> dict:
    """A regimen as an ActivityDefinition: its drug and each phase's dose."""
    drug = regimen.drug
    resource = {
        "resourceType": "ActivityDefinition",
        "id": str(regimen.pk),
        "identifier": [{"system": REGIMEN_SYSTEM, "value": regimen.code}],
        "title": regimen.name,
        "status": "active" if regimen.active else "retired",
        "kind": "MedicationRequest",
        "productCodeableConcept": {"text": f"{drug.brand_name} ({drug.generic_name}, {drug.route})"},
        "dosage": [
            {"sequence": phase.position, "text": f"{phase.name}: {phase.dose_label}"} for phase in regimen.phases.all()
        ],
    }
    if not resource["dosage"]:
        del resource["dosage"]
    return resource


def operation_outcome(text: str, *, code: str = "processing", severity: str = "error", diagnostics: str = "") -> dict:
    """An error the way FHIR answers one: the sentence a person reads in `details.text`."""
    issue = {"severity": severity, "code": code, "details": {"text": text}}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return {"resourceType": "OperationOutcome", "issue": [issue]}
