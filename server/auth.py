"""API keys and tenants.

Keys are random 256-bit secrets, so a SHA-256 of the key is a safe stored form
(no slow hash needed: there is nothing to brute-force). Lookups are cached for
a few seconds per process so a hot path does not hit the database per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

KEY_PREFIX = "pk_"
_CACHE_TTL_S = 10.0


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin, a tenant (through one of its keys), or nobody."""

    tenant_id: str | None = None
    key_id: str | None = None
    is_admin: bool = False

    @property
    def anonymous(self) -> bool:
        return self.tenant_id is None and not self.is_admin


ANONYMOUS = Principal()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def presented_key(conn: HTTPConnection) -> str | None:
    """The key from ``Authorization: Bearer``, ``X-API-Key`` or (WebSocket) ``?key=``."""
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return conn.headers.get("x-api-key") or conn.query_params.get("key") or None


class KeyResolver:
    """Maps a presented key to a principal, with a short per-process cache."""

    def __init__(self, admin_key: str | None, lookup) -> None:  # lookup: async hash -> ids
        self._admin_hash = hash_secret(admin_key) if admin_key else None
        self._lookup = lookup
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def resolve(self, key: str) -> Principal | None:
        digest = hash_secret(key)
        if self._admin_hash and hmac.compare_digest(digest, self._admin_hash):
            return Principal(is_admin=True)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit and hit[0] > now:
            return hit[1]
        found = await self._lookup(digest)
        principal = Principal(tenant_id=found[0], key_id=found[1]) if found else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + _CACHE_TTL_S, principal)
        return principal

    def forget(self) -> None:
        """Drop cached lookups (after a key is revoked in this process)."""
        self._cache.clear()


async def authenticate(conn: HTTPConnection, mode: str) -> Principal:
    """Apply an endpoint's auth mode: public, optional, tenant or admin."""
    if mode == "public":
        return ANONYMOUS
    key = presented_key(conn)
    if key is None:
        if mode == "optional":
            return ANONYMOUS
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    principal = await conn.app.state.services.keys.resolve(key)
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    if mode == "admin" and not principal.is_admin:
        raise Forbidden("this route needs the admin key")
    if mode == "tenant" and principal.is_admin:
        raise Forbidden("the admin key manages tenants; use a tenant's key here")
    return principal
