from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic and formulary"

    def ready(self) -> None:
        from clinic.roles import sync_roles

        # Not limited to this app: the roles need the patients and scheduling permissions,
        # which exist only once those apps have migrated too.
        post_migrate.connect(sync_roles, dispatch_uid="chairside_sync_roles")
        self._register_audit_trail()

    def _register_audit_trail(self) -> None:
        """Log every change to a clinic's configuration, the formulary, staff accounts and roles.

        Who, when, from where, and the old and new values (see audit.history). The rows a
        clinic or a regimen owns keep their owner in the entry, so a deleted row (an opening
        hour removed in the admin) still shows in its owner's history.
        """
        from auditlog.registry import auditlog
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from clinic.models import (
            Chair,
            Clinic,
            ClinicRegimenSetting,
            Closure,
            Drug,
            MonitoringRule,
            NurseStaffing,
            OpeningHours,
            ProgrammeName,
            Regimen,
            RegimenChange,
            RegimenCheck,
            RegimenPhase,
            StaffProfile,
        )

        auditlog.register(Clinic)
        for model in (Chair, OpeningHours, Closure, NurseStaffing, ClinicRegimenSetting):
            auditlog.register(model, serialize_data=True, serialize_kwargs={"fields": ["clinic"]})
        auditlog.register(Drug)
        auditlog.register(Regimen)
        for model in (RegimenPhase, MonitoringRule, RegimenCheck, ProgrammeName):
            auditlog.register(model, serialize_data=True, serialize_kwargs={"fields": ["regimen"]})
        # A proposed change is itself an entry of the regimen's history (its values, day and reason).
        # The preview's sentences and the noted visits are the row's own record, not a change anyone made.
        auditlog.register(
            RegimenChange,
            exclude_fields=["preview", "unfit_visits", "proposed_at"],
            serialize_data=True,
            serialize_kwargs={"fields": ["regimen"]},
        )
        auditlog.register(StaffProfile, m2m_fields={"clinics"})
        # last_login changes at every sign-in: noise, not a change anyone made. The password
        # hash is never copied into the log; the entry only says that it changed.
        auditlog.register(
            get_user_model(),
            exclude_fields=["last_login"],
            mask_fields=["password"],
            mask_callable="audit.history.hide",
            m2m_fields={"groups", "user_permissions"},
        )
        auditlog.register(Group, m2m_fields={"permissions"})
