from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self) -> None:
        from clinic.models import Clinic, ClinicRegimenSetting, Regimen, RegimenPhase
        from clinic.signals import (
            clinic_schedule_changed,
            clinic_schedule_preview,
            regimen_change_applied,
            regimen_change_preview,
        )
        from patients.models import TreatmentCourse
        from scheduling import receivers, regimen_review
        from scheduling.models import Appointment, AppointmentEvent

        post_save.connect(receivers.appointment_saved, sender=Appointment, dispatch_uid="dose_state_appointment")
        post_save.connect(receivers.appointment_event_saved, sender=AppointmentEvent, dispatch_uid="offers_chair_freed")
        post_save.connect(receivers.course_saved, sender=TreatmentCourse, dispatch_uid="dose_state_course")
        post_save.connect(receivers.clinic_saved, sender=Clinic, dispatch_uid="dose_state_clinic")
        post_save.connect(receivers.regimen_saved, sender=Regimen, dispatch_uid="dose_state_regimen")
        post_save.connect(receivers.clinic_saved, sender=Clinic, dispatch_uid="dose_state_clinic")
        post_save.connect(receivers.regimen_saved, sender=RegimenPhase, dispatch_uid="dose_state_regimen_phase")
        post_save.connect(
            receivers.clinic_chair_time_saved, sender=ClinicRegimenSetting, dispatch_uid="dose_state_chair_time"
        )
        post_delete.connect(
            receivers.clinic_chair_time_saved, sender=ClinicRegimenSetting, dispatch_uid="dose_state_chair_time_gone"
        )
        regimen_change_preview.connect(regimen_review.regimen_change_preview, dispatch_uid="regimen_change_preview")
        regimen_change_applied.connect(regimen_review.regimen_change_applied, dispatch_uid="regimen_change_applied")
        post_migrate.connect(receivers.states_after_migrate, sender=self, dispatch_uid="dose_state_migrate")
        clinic_schedule_preview.connect(receivers.clinic_schedule_preview, dispatch_uid="clinic_schedule_preview")
        clinic_schedule_changed.connect(receivers.clinic_schedule_changed, dispatch_uid="clinic_schedule_reminders")
        self._register_audit_trail()

    def _register_audit_trail(self) -> None:
        from auditlog.registry import auditlog

        from scheduling.models import (
            AnswerLink,
            Appointment,
            CalendarFeed,
            ChairOpening,
            DataTransfer,
            NurseAssignment,
            PatientAnswer,
            SlotOffer,
            VisitCheck,
        )

        # Bookings, reschedules, cancellations, visit statuses and nurse assignments: who, when,
        # from where, old and new values. Changes made with QuerySet.update() are not logged, so
        # the services change these rows with save().
        auditlog.register(Appointment, exclude_fields=["created_at"])
        auditlog.register(NurseAssignment, exclude_fields=["assigned_at"])
        auditlog.register(VisitCheck)
        # A patient's answer links: each opening (an access entry, with the address) and its use;
        # the answers themselves, and the front desk dealing with them. The token is the link's
        # credential, so the log never keeps it.
        auditlog.register(AnswerLink, mask_fields=["token"], mask_callable="audit.history.hide")
        auditlog.register(PatientAnswer)
        # Calendar feeds made and revoked (the token's hash is no one's business), and every import
        # and export of a clinic's data. A feed's fetch counter is left out: calendars poll it.
        auditlog.register(
            CalendarFeed,
            exclude_fields=["created_at", "last_fetched_at", "fetch_count"],
            mask_fields=["token_hash"],
            mask_callable="audit.history.hide",
        )
        auditlog.register(DataTransfer, exclude_fields=["at"])
        # Freed chair time and each earlier-time offer: made, answered, taken, ended.
        auditlog.register(ChairOpening)
        auditlog.register(SlotOffer)
