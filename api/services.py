"""Writes of the API: making and revoking clients."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_application_model

from api.models import ApiClient


class ApiClientError(Exception):
    """A client change refused, with a sentence saying what to do instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NewClient:
    client: ApiClient
    client_secret: str  # shown once, stored only as a hash


def _username(name: str) -> str:
    return f"api-client-{ApiClient.objects.count() + 1}-{name}"[:150]


@transaction.atomic
def api_client_create(*, name: str, clinics, scope: str) -> NewClient:
    """A new client for `clinics` with `scope` (read, or book, which reads too); its secret is returned once."""
    name = name.strip()
    clinics = list(clinics)
    if not name:
        raise ApiClientError("Give the client a name, e.g. the system that will use it.")
    if ApiClient.objects.filter(name=name).exists():
        raise ApiClientError(f"There is already an API client called {name}. Choose another name.")
    if not clinics:
        raise ApiClientError("Name at least one clinic whose records the client may see.")
    if scope not in ApiClient.Scope.values:
        raise ApiClientError(f"The scope is read or book, not {scope}.")
    user = get_user_model().objects.create(username=_username(name), first_name="API client", last_name=name[:150])
    user.set_unusable_password()
    user.save(update_fields=["password"])
    secret = generate_client_secret()
    Application = get_application_model()
    application = Application.objects.create(
        name=name,
        user=user,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=True,
        redirect_uris="",
    )
    client = ApiClient.objects.create(name=name, application=application, user=user, scope=scope)
    client.clinics.set(clinics)
    return NewClient(client=client, client_secret=secret)


@transaction.atomic
def api_client_revoke(*, client: ApiClient) -> ApiClient:
    """Stop the client at once: its tokens are revoked and it gets no new one. The row and its history stay."""
    if client.is_revoked:
        raise ApiClientError(f"The API client {client.name} is already revoked.")
    client.revoked_at = timezone.now()
    client.save(update_fields=["revoked_at"])
    for token in get_access_token_model().objects.filter(application=client.application):
        token.revoke()
    return client
