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
