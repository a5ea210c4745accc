from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from patients.models import Patient, TreatmentCourse

        # Every change to a patient or a course is logged with its old and new values, and
        # every view of a patient's page (patients.views.patient_detail). A course keeps its
        # patient in the entry, so a course removed in the admin still shows on the patient's page.
        auditlog.register(Patient, exclude_fields=["created_at"])
        auditlog.register(
            TreatmentCourse,
            exclude_fields=["created_at"],
            serialize_data=True,
            serialize_kwargs={"fields": ["patient"]},
        )
