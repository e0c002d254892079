"""Fixtures shared by every suite: the real sentence encoder, app factories, test data."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from tests.helpers import ADMIN_KEY, RECORDED, new_tenant


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory):
    """One in-process model backend for the whole run (loading MiniLM takes seconds);
    trained classifiers go to a temporary artefact root, never into the checkout."""
    from serving.config import load_config
    from serving.local import LocalModels

    root = tmp_path_factory.mktemp("artefacts")
    backend = LocalModels(load_config(overrides={"artefact_root": str(root)}, environ={}))
    asyncio.run(backend.start())
    yield backend
    asyncio.run(backend.close())


@pytest.fixture(scope="session")
def immigration_script() -> list[str]:
    """The learner's lines of a recorded conversation that reaches the Immigration goal."""
    data = json.loads(RECORDED.read_text())
    turns = data["turns"] if isinstance(data, dict) else data
    return [t["text"] for t in turns]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., object]:
    from server.settings import Settings

    def make(**overrides: object) -> Settings:
        # lesson classifiers train in the background at start-up: off unless a test asks
        # (tests/server/test_lesson_classifier.py), so short tests don't pay for them
        values = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}",
                  "admin_key": ADMIN_KEY, "redis_url": None, "serving": "local",
                  "lesson_classifier": False}
        values.update(overrides)
        return Settings.model_validate(values)

    return make


@pytest.fixture
def make_client(make_settings, models) -> Iterator[Callable[..., object]]:
    """Start the real app (lifespan included) in-process; close every client at the end."""
    from starlette.testclient import TestClient

    from server.app import create_app

    opened: list[TestClient] = []

    def make(**overrides: object) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides), models=models))
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def tenant(client) -> dict:
    """A fresh tenant and its key."""
    return new_tenant(client, "acme")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    from tests.storage.conftest import PG_ADMIN_URL, _pg_admin

    name = f"parley_t_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await _pg_admin()
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    yield f"{base}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_prefix_sync() -> Iterator[str]:
    """A Redis key prefix of this test's own, cleaned up afterwards."""
    from tests.storage.conftest import _redis_namespace

    manager = _redis_namespace()
    prefix = asyncio.run(manager.__aenter__())
    yield prefix
    asyncio.run(manager.__aexit__(None, None, None))
