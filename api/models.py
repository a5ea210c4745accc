"""API clients: the hospital systems that may use the FHIR API, their scope and their clinics."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from oauth2_provider.settings import oauth2_settings

from clinic.models import Clinic


class ApiClient(models.Model):
    """One system signing in with OAuth2 client credentials (its django-oauth-toolkit Application).

    It sees only the records of `clinics`. Its `user` has no password, no role and no clinic of
    its own: it is the name the histories keep for what the client booked, cancelled or read.
    A revoked client keeps its row (and its history); its tokens stop working at once.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        BOOK = "book", "Read and book"

    name = models.CharField(max_length=80, unique=True)
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.PROTECT, related_name="api_client"
    )
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_client")
    clinics = models.ManyToManyField(Clinic, related_name="api_clients")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scopes(self) -> list[str]:
        """The OAuth2 scopes its tokens may carry: booking includes reading."""
        if self.scope == self.Scope.BOOK:
            return [self.Scope.READ.value, self.Scope.BOOK.value]
        return [self.Scope.READ.value]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
