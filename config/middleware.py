"""Cache-Control for pages that show patient data or act for a patient.

A signed-in page may name patients, their drugs and their visits; a shared front-desk
terminal, a proxy or the browser's back button must never show it again from a cache. The
unsubscribe pages act for a patient through the token in their URL, so they are kept out of
caches too. Static files (WhiteNoise answers them before this runs) and /health/ (answered
first of all) keep their own headers.
"""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers

UNSUBSCRIBE_VIEW = "scheduling:reminders_unsubscribe"


class PrivatePagesNotCachedMiddleware:
    """`Cache-Control: no-store` on a signed-in user's answers and the unsubscribe pages, unless a view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or (match is not None and match.view_name == UNSUBSCRIBE_VIEW):
            add_never_cache_headers(response)
        return response
