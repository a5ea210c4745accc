from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "FHIR API"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from api.models import ApiClient

        # Creating a client, changing its clinics and revoking it are changes like any other.
        auditlog.register(ApiClient, m2m_fields={"clinics"})
