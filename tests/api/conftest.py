"""The API's cast: clients of clinic A and clinic B, read-only or booking, each with a bearer token."""

from __future__ import annotations

import pytest
from django.test import Client

from api.services import api_client_create


def token_for(client, *, name: str, clinics, scope: str) -> str:
    """A new API client's access token, asked for at the token endpoint as a hospital system would."""
    made = api_client_create(name=name, clinics=clinics, scope=scope)
    response = client.post(
        "/fhir/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": made.client.application.client_id,
            "client_secret": made.client_secret,
        },
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


class Fhir:
    """A Django test client speaking FHIR JSON with one bearer token."""

    def __init__(self, token: str | None) -> None:
        self.http = Client()
        self.token = token

    def _headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params=None):
        return self.http.get(path, params or {}, **self._headers())

    def post(self, path: str, body: dict):
        return self.http.post(path, body, content_type="application/fhir+json", **self._headers())

    def put(self, path: str, body: dict):
        return self.http.put(path, body, content_type="application/fhir+json", **self._headers())

    def patch(self, path: str, body: dict):
        return self.http.patch(path, body, content_type="application/fhir+json", **self._headers())


@pytest.fixture(autouse=True)
def _api_rate_limit_of_this_test(settings, request):
    settings.API_RATE_LIMIT_PREFIX = f"test-{id(request.node)}:"


@pytest.fixture
def reader_a(clinic_a, client):
    return Fhir(token_for(client, name="Lab system A", clinics=[clinic_a], scope="read"))


@pytest.fixture
def booker_a(clinic_a, client):
    return Fhir(token_for(client, name="Portal A", clinics=[clinic_a], scope="book"))


@pytest.fixture
def booker_b(clinic_b, client):
    return Fhir(token_for(client, name="Portal B", clinics=[clinic_b], scope="book"))


@pytest.fixture
def anonymous():
    return Fhir(None)
