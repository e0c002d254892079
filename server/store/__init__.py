"""Live session state: one ``SessionStore`` interface, in-process or Redis.

``create_store(settings.redis_url)`` picks the implementation; the server maps
``StoreError.status`` / ``.code`` to its JSON error responses.
"""

from __future__ import annotations

from server.store.base import (
    LockTimeout,
    SessionStore,
    StoreError,
    StoreUnavailable,
    Subscription,
)
from server.store.memory import MemoryStore


def create_store(redis_url: str | None, prefix: str = "parley:") -> SessionStore:
    """``MemoryStore`` when no URL (or ``memory://``) is given, else ``RedisStore``."""
    if not redis_url or redis_url.startswith("memory:"):
        return MemoryStore()
    from server.store.redis import RedisStore

    return RedisStore(redis_url, prefix=prefix)


__all__ = [
    "LockTimeout",
    "MemoryStore",
    "SessionStore",
    "StoreError",
    "StoreUnavailable",
    "Subscription",
    "create_store",
]
