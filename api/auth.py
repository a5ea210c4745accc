"""Who is calling: the bearer token of an API client, its scope, and its rate limit.

A request without a valid token answers 401; a token without the operation's scope 403; a
client over its rate limit 429. The client is then the actor of every change and record view
in the request's audit trail.
"""

from __future__ import annotations

from django.http.multipartparser import MultiPartParserError
from ninja.errors import HttpError
from ninja.security import HttpBearer
from oauth2_provider.oauth2_backends import get_oauthlib_core

from api import ratelimit
from api.models import ApiClient
from audit.middleware import VIA_API, request_actor_set


class ScopeMissing(Exception):
    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


class RateLimited(Exception):
    pass


class ClientToken(HttpBearer):
    """A django-oauth-toolkit access token of a live client that carries `scope`."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request):
        # Not HttpBearer's own: it logs a malformed Authorization header, secret and all.
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.authenticate(request, token.strip())

    def authenticate(self, request, token: str) -> ApiClient | None:
        try:
            valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
        except MultiPartParserError:
            # oauthlib reads a form body too; a form that cannot be read is the sender's mistake.
            raise HttpError(400, "The request's body cannot be read. Send FHIR JSON (application/fhir+json).") from None
        access_token = getattr(oauth_request, "access_token", None)
        if not valid or access_token is None:
            return None
        try:
            client = ApiClient.objects.select_related("user").get(application_id=access_token.application_id)
        except ApiClient.DoesNotExist:
            return None
        if client.is_revoked:
            return None
        request_actor_set(client.user, via=VIA_API, api_client=client.name)
        if ratelimit.too_many(client.pk):
            raise RateLimited()
        if not access_token.allow_scopes([self.scope]):
            raise ScopeMissing(self.scope)
        request.api_client = client
        return client


READ = ClientToken(ApiClient.Scope.READ)
BOOK = ClientToken(ApiClient.Scope.BOOK)
