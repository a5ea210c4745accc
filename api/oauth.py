"""django-oauth-toolkit, fitted to Chairside's clients: each client's own scopes, and revoked clients refused."""

from __future__ import annotations

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes

from api.models import ApiClient


def _client_of(application) -> ApiClient | None:
    if application is None:
        return None
    try:
        return application.api_client
    except ApiClient.DoesNotExist:
        return None


class ClientScopes(SettingsScopes):
    """A client may ask for its own scopes only, and gets all of them when it names none."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        client = _client_of(application)
        return client.scopes if client and not client.is_revoked else []

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request, *args, **kwargs)


class ClientValidator(OAuth2Validator):
    """An application without a live Chairside client (revoked, or made by hand) gets no token."""

    def _load_application(self, client_id, request):
        application = super()._load_application(client_id, request)
        client = _client_of(application)
        if client is None or client.is_revoked:
            request.client = None
            return None
        return application
