"""Async engine construction for SQLite (embedded default) and PostgreSQL (production).

Both dialects are reached through the same SQLModel code; this module is the one
place that knows the driver names and the per-connection SQLite settings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.pool import StaticPool
from sqlmodel.ext.asyncio.session import AsyncSession

# Plain scheme -> async driver; URLs that already name a driver are left alone.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
SQLITE_BUSY_TIMEOUT_MS = 5000


def async_url(url: str | URL) -> URL:
    """Return ``url`` with its driver rewritten to the async one (aiosqlite or asyncpg)."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def _is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the writer; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def create_engine(url: str | URL, **kwargs: Any) -> AsyncEngine:
    """Create an async engine for a SQLite or PostgreSQL URL (sync-style URLs accepted).

    Extra keyword arguments go to SQLAlchemy's ``create_async_engine``.
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        if _is_sqlite_memory(parsed):
            # One shared connection, or every checkout would see a new empty database.
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        else:
            # SQLite has one writer at a time. Several pooled connections of one
            # process only fight over its lock ("database is locked" under load);
            # one connection queues the statements in order instead, and WAL
            # keeps them fast. Other processes still wait on busy_timeout.
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 60)
        engine = _create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return _create_async_engine(parsed, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """SQLModel sessions (with ``exec``) whose objects stay readable after commit.

    Expiring on commit would make the next attribute access a lazy load, which
    raises in async code.
    """
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Round-trip ``SELECT 1``; raises the driver's error when the database is unreachable."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
