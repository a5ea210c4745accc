from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self) -> None:
        from clinic.models import Clinic, Regimen, RegimenPhase
        from patients.models import TreatmentCourse
        from scheduling import receivers
        from scheduling.models import Appointment

        post_save.connect(receivers.appointment_saved, sender=Appointment, dispatch_uid="dose_state_appointment")
        post_save.connect(receivers.course_saved, sender=TreatmentCourse, dispatch_uid="dose_state_course")
        post_save.connect(receivers.clinic_saved, sender=Clinic, dispatch_uid="dose_state_clinic")
        post_save.connect(receivers.regimen_saved, sender=Regimen, dispatch_uid="dose_state_regimen")
        post_save.connect(receivers.clinic_saved, sender=Clinic, dispatch_uid="dose_state_clinic")
        post_save.connect(receivers.regimen_saved, sender=RegimenPhase, dispatch_uid="dose_state_regimen_phase")
        post_migrate.connect(receivers.states_after_migrate, sender=self, dispatch_uid="dose_state_migrate")
