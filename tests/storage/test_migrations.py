"""Migrations build, tear down and rebuild the schema on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from server.db import async_url, create_engine, ping
from server.db.migrate import (
    alembic_config,
    current,
    current_async,
    downgrade,
    downgrade_async,
    upgrade,
    upgrade_async,
)

TABLES = {"tenants", "api_keys", "lessons", "lesson_versions", "learners", "sessions", "turns",
          "assessments"}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return {c["name"] for c in await conn.run_sync(
                lambda c: inspect(c).get_columns(table))}
    finally:
        await engine.dispose()


async def _drift(url: str) -> list:
    """Differences between the migrated database and the SQLModel tables."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), SQLModel.metadata)
            )
    finally:
        await engine.dispose()


async def test_migrations(database_url: str) -> None:
    assert await current_async(database_url) is None
    assert not TABLES & await _tables(database_url)

    await upgrade_async(database_url)
    assert await current_async(database_url) == HEAD
    assert await _tables(database_url) >= TABLES
    assert await _drift(database_url) == []  # migrations describe exactly the models

    await downgrade_async(database_url, "-1")  # one step: 0004 adds the NLU tables
    assert await current_async(database_url) == "0003"
    assert not {"nlu_classifiers", "nlu_jobs", "faqs"} & await _tables(database_url)
    await downgrade_async(database_url, "-1")  # 0003 adds assessments
    assert await current_async(database_url) == "0002"
    assert "assessments" not in await _tables(database_url)
    await downgrade_async(database_url, "-1")  # 0002 adds turns.status
    assert await current_async(database_url) == "0001"
    assert "status" not in await _columns(database_url, "turns")
    await upgrade_async(database_url)
    assert "status" in await _columns(database_url, "turns")
    assert "assessments" in await _tables(database_url)
    assert {"nlu_classifiers", "nlu_samples", "nlu_versions", "nlu_jobs", "faqs",
            "faq_pairs"} <= await _tables(database_url)

    await downgrade_async(database_url, "base")
    assert not TABLES & await _tables(database_url)

    await upgrade_async(database_url)
    assert await current_async(database_url) == HEAD
    assert await _tables(database_url) >= TABLES

    await upgrade_async(database_url)  # at head already: a no-op, not an error
    assert await current_async(database_url) == HEAD


async def test_concurrent_upgrades(database_url: str) -> None:
    """Several processes starting at once must not race to create the tables (PostgreSQL)."""
    if database_url.startswith("sqlite"):
        await upgrade_async(database_url)
    else:
        await asyncio.gather(*(upgrade_async(database_url) for _ in range(3)))
    assert await current_async(database_url) == HEAD


def test_sync_api(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"  # a plain URL, as a user would type it
    upgrade(url)
    assert current(url) == HEAD
    downgrade(url, "base")
    assert current(url) is None


async def test_sync_api_refuses_inside_event_loop(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="upgrade_async|_async"):
        upgrade(f"sqlite:///{tmp_path / 'x.db'}")


def test_async_url_rewrites_plain_schemes() -> None:
    assert async_url("sqlite:///a.db").drivername == "sqlite+aiosqlite"
    assert async_url("postgresql://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgres://u@h/db").drivername == "postgresql+asyncpg"
    assert async_url("postgresql+asyncpg://u@h/db").drivername == "postgresql+asyncpg"
    rewritten = async_url("postgresql://u:p%40ss@h:5433/db")
    assert rewritten.password == "p@ss" and rewritten.port == 5433


async def test_ping(engine: AsyncEngine) -> None:
    await ping(engine)


async def test_sqlite_connection_settings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    # synchronous=NORMAL is 1
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


async def test_sqlite_in_memory_shares_one_database() -> None:
    engine = create_engine("sqlite://")
    try:
        await upgrade_async(engine)
        assert await current_async(engine) == HEAD
    finally:
        await engine.dispose()
