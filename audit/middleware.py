"""Every change and record view made during a request carries its user, address and the part of Chairside it came from."""

from __future__ import annotations

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.urls import reverse

# What `additional_data["via"]` says. A change with no request around it (a shell, a
# management command, a background job) has no `via`, no user and no address.
VIA_APP = "app"
VIA_ADMIN = "admin"
VIA_API = "api"


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware, with two differences.

    The address comes from X-Forwarded-For only behind the TLS-terminating proxy (when
    SECURE_PROXY_SSL_HEADER is set): anywhere else a client could write any address it likes
    into that header. And each entry says whether the change came from the app or the admin.
    """

    @staticmethod
    def _get_remote_addr(request):
        if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
            return AuditlogMiddleware._get_remote_addr(request)
        return request.META.get("REMOTE_ADDR")

    @staticmethod
    def _get_remote_port(request):
        if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
            return AuditlogMiddleware._get_remote_port(request)
        return None

    def get_extra_data(self, request):
        data = super().get_extra_data(request)
        via = VIA_ADMIN if request.path.startswith(reverse("admin:index")) else VIA_APP
        data["additional_data"] = {"via": via}
        return data


def request_actor_set(actor, *, via: str, **details) -> None:
    """Name who acts in this request once the view knows it (an API client's bearer token).

    The middleware reads the session's user before any view runs; the API signs its clients
    in inside the view, so it names them here, and every change and record view of the rest
    of the request is written as theirs. Outside a request (no middleware context) nothing
    happens.
    """
    context = auditlog_value.get(None)
    if context is None:
        return
    context["actor"] = actor
    context["additional_data"] = {"via": via, **details}
