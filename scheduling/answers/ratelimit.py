"""How often the answer pages may be opened: per address and per link, counted in Django's cache.

The "answers" cache is Redis when REDIS_URL is set (shared by every web process) and local
memory on the embedded default (one process). A count is a cache key that lives for the
window; losing it (a restart) only forgets recent tries, which is harmless.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core.cache import caches

# (tries, seconds): enough for a patient who opens the link a few times, too few for guessing.
PER_ADDRESS = (30, 10 * 60)
PER_LINK = (10, 10 * 60)


def address_hash(address: str | None) -> str:
    """A keyed hash of an address: the same address gives the same hash, and the hash gives no address back."""
    return hmac.new(settings.SECRET_KEY.encode(), (address or "").encode(), hashlib.sha256).hexdigest()


def _over(key: str, limit: tuple[int, int]) -> bool:
    cache = caches["answers"]
    tries, seconds = limit
    key = f"{getattr(settings, 'ANSWER_RATE_LIMIT_PREFIX', '')}answers:{key}"
    if cache.add(key, 1, timeout=seconds):
        return tries < 1
    try:
        return cache.incr(key) > tries
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=seconds)
        return False


def too_many(*, address: str | None, token: str) -> bool:
    """Count one try from this address at this link; True once either has had too many in its window."""
    limits = getattr(settings, "ANSWER_RATE_LIMITS", {})
    by_address = _over(f"ip:{address_hash(address)[:32]}", limits.get("address", PER_ADDRESS))
    by_link = _over(f"link:{hashlib.sha256(token.encode()).hexdigest()[:32]}", limits.get("link", PER_LINK))
    return by_address or by_link
