"""How many requests one API client may make: counted per client in Django's cache, as the answer links are.

The "api" cache is Redis when REDIS_URL is set (shared by every web process) and local memory
on the embedded default (one process). A count is a key that lives for the window; losing it
(a restart) only forgets recent requests.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import caches


def too_many(client_id: int) -> bool:
    """Count one request of this client; True once it has made more than API_RATE_LIMIT allows in the window."""
    tries, seconds = settings.API_RATE_LIMIT
    cache = caches["api"]
    key = f"{getattr(settings, 'API_RATE_LIMIT_PREFIX', '')}api:client:{client_id}"
    if cache.add(key, 1, timeout=seconds):
        return tries < 1
    try:
        return cache.incr(key) > tries
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=seconds)
        return False


def window_seconds() -> int:
    return settings.API_RATE_LIMIT[1]
