from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic and formulary"

    def ready(self) -> None:
        from clinic.roles import sync_roles

        post_migrate.connect(sync_roles, sender=self, dispatch_uid="chairside_sync_roles")
