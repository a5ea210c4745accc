"""`manage.py api_client create|list|revoke`: the systems that may use the FHIR API."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from api.models import ApiClient
from api.services import ApiClientError, api_client_create, api_client_revoke
from clinic.models import Clinic


def _clinic(value: str) -> Clinic:
    found = (
        Clinic.objects.filter(pk=int(value))
        if value.isascii() and value.isdigit()
        else Clinic.objects.filter(name=value)
    )
    clinic = found.first()
    if clinic is None:
        names = ", ".join(Clinic.objects.order_by("name").values_list("name", flat=True))
        raise CommandError(f"There is no clinic {value!r}. Give a clinic's name or id: {names}.")
    return clinic


class Command(BaseCommand):
    help = "Create, list or revoke the clients of the FHIR API (OAuth2 client credentials)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="A new client; prints its client_id and client_secret as JSON.")
        create.add_argument("--name", required=True)
        create.add_argument("--clinic", action="append", required=True, help="A clinic's name or id; repeat for more.")
        create.add_argument("--scope", choices=ApiClient.Scope.values, default=ApiClient.Scope.READ)
        actions.add_parser("list", help="Every client with its clinics, scope and whether it is revoked (JSON).")
        revoke = actions.add_parser("revoke", help="Stop a client: its tokens stop working at once.")
        revoke.add_argument("client", help="The client's name or client_id.")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except ApiClientError as refusal:
            raise CommandError(refusal.message) from None

    def _create(self, *, name, clinic, scope, **options):
        created = api_client_create(name=name, clinics=[_clinic(value) for value in clinic], scope=scope)
        self.stdout.write(
            json.dumps(
                {
                    "name": created.client.name,
                    "client_id": created.client.application.client_id,
                    "client_secret": created.client_secret,
                    "scope": " ".join(created.client.scopes),
                    "clinics": [clinic.name for clinic in created.client.clinics.order_by("name")],
                }
            )
        )

    def _list(self, **options):
        rows = [
            {
                "name": client.name,
                "client_id": client.application.client_id,
                "scope": " ".join(client.scopes),
                "clinics": [clinic.name for clinic in client.clinics.all()],
                "created_at": client.created_at.isoformat(),
                "revoked_at": client.revoked_at.isoformat() if client.revoked_at else None,
            }
            for client in ApiClient.objects.select_related("application").prefetch_related("clinics")
        ]
        self.stdout.write(json.dumps(rows, indent=2))

    def _revoke(self, *, client, **options):
        found = (
            ApiClient.objects.filter(name=client).first()
            or ApiClient.objects.filter(application__client_id=client).first()
        )
        if found is None:
            raise CommandError(f"There is no API client {client!r}. `api_client list` shows them.")
        api_client_revoke(client=found)
        self.stdout.write(f"Revoked {found.name}: its tokens no longer work.")
