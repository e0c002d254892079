"""Tenants and their API keys (admin operations)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from server.auth import hash_secret, new_key
from server.db.models import ApiKey, Tenant
from server.errors import Conflict, NotFound
from server.schemas import KeyOut, TenantOut


class TenantService:
    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self.db = db

    async def create(self, name: str) -> TenantOut:
        async with self.db() as s:
            tenant = Tenant(name=name)
            s.add(tenant)
            try:
                await s.flush()
            except IntegrityError as exc:
                raise Conflict(f"a tenant named {name!r} exists") from exc
            key, secret = _make_key(tenant.id, "default")
            s.add(key)
            await s.commit()
            return TenantOut(id=tenant.id, name=tenant.name, created_at=tenant.created_at,
                             key=_key_out(key, secret))

    async def list(self) -> list[TenantOut]:
        async with self.db() as s:
            rows = (await s.exec(select(Tenant).order_by(Tenant.created_at))).all()
            return [TenantOut(id=t.id, name=t.name, created_at=t.created_at) for t in rows]

    async def create_key(self, tenant_id: str, name: str) -> KeyOut:
        async with self.db() as s:
            if await s.get(Tenant, tenant_id) is None:
                raise NotFound(f"no tenant {tenant_id!r}")
            key, secret = _make_key(tenant_id, name)
            s.add(key)
            await s.commit()
            return _key_out(key, secret)

    async def list_keys(self, tenant_id: str) -> list[KeyOut]:
        async with self.db() as s:
            rows = (await s.exec(select(ApiKey).where(ApiKey.tenant_id == tenant_id))).all()
            return [_key_out(k) for k in rows]

    async def revoke_key(self, key_id: str) -> KeyOut:
        async with self.db() as s:
            key = await s.get(ApiKey, key_id)
            if key is None:
                raise NotFound(f"no key {key_id!r}")
            if key.revoked_at is None:
                key.revoked_at = datetime.now(UTC)
                s.add(key)
                await s.commit()
            return _key_out(key)

    async def lookup(self, key_hash: str) -> tuple[str, str] | None:
        """(tenant_id, key_id) of a live key with this hash."""
        async with self.db() as s:
            key = (await s.exec(select(ApiKey).where(ApiKey.key_hash == key_hash))).first()
            if key is None or key.revoked_at is not None:
                return None
            return key.tenant_id, key.id


def _make_key(tenant_id: str, name: str) -> tuple[ApiKey, str]:
    secret = new_key()
    return ApiKey(tenant_id=tenant_id, name=name, prefix=secret[:8],
                  key_hash=hash_secret(secret)), secret


def _key_out(key: ApiKey, secret: str | None = None) -> KeyOut:
    return KeyOut(id=key.id, tenant_id=key.tenant_id, name=key.name, prefix=key.prefix,
                  created_at=key.created_at, revoked_at=key.revoked_at, key=secret)
