"""Every table round-trips through a real SQLite and a real PostgreSQL database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db import ApiKey, Learner, Lesson, LessonVersion, PlaySession, Tenant, Turn

Sessions = async_sessionmaker[AsyncSession]
DOC = {
    "id": "cafe",
    "title": "Order at a café",
    "states": {"start": {"say": ["Hi! ☕"]}},
    "z_last": [1, 2.5, None, True],
}


async def _add(sessions: Sessions, *rows: SQLModel) -> None:
    async with sessions() as s:
        s.add_all(rows)
        await s.commit()


async def _get(sessions: Sessions, model: type[SQLModel], *key: object) -> SQLModel | None:
    """Read in a fresh session, so values come from the database, not the identity map."""
    async with sessions() as s:
        return await s.get(model, key[0] if len(key) == 1 else key)


async def _tenant(sessions: Sessions, name: str = "acme") -> Tenant:
    tenant = Tenant(name=name)
    await _add(sessions, tenant)
    return tenant


async def _session(sessions: Sessions, **kw: object) -> PlaySession:
    row = PlaySession(lesson_id="cafe", lesson_version=1, token_hash="t" * 64, state="start", **kw)
    await _add(sessions, row)
    return row


async def test_tenant_and_api_key(sessions: Sessions) -> None:
    tenant = await _tenant(sessions)
    key = "pk_live_0123456789abcdef"
    api_key = ApiKey(
        tenant_id=tenant.id,
        prefix=key[:8],
        name="ci",
        key_hash=hashlib.sha256(key.encode()).hexdigest(),
    )
    await _add(sessions, api_key)

    got = await _get(sessions, ApiKey, api_key.id)
    assert got.prefix == "pk_live_" and got.tenant_id == tenant.id and got.revoked_at is None
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert len(tenant.id) == 32

    revoked = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    async with sessions() as s:
        row = await s.get(ApiKey, api_key.id)
        row.revoked_at = revoked
        await s.commit()
    got = await _get(sessions, ApiKey, api_key.id)
    assert got.revoked_at == revoked and got.revoked_at.tzinfo == UTC

    with pytest.raises(IntegrityError):  # key_hash is unique
        await _add(
            sessions, ApiKey(tenant_id=tenant.id, prefix="x", name="dup", key_hash=api_key.key_hash)
        )
    with pytest.raises(IntegrityError):  # tenant name is unique
        await _tenant(sessions, "acme")
    with pytest.raises(IntegrityError):  # foreign keys are enforced (SQLite too)
        await _add(sessions, ApiKey(tenant_id="nope", prefix="x", name="x", key_hash="h2"))

    async with sessions() as s:  # deleting a tenant deletes its keys
        await s.delete(await s.get(Tenant, tenant.id))
        await s.commit()
    assert await _get(sessions, ApiKey, api_key.id) is None


async def test_naive_datetime_is_refused(sessions: Sessions) -> None:
    with pytest.raises(StatementError, match="timezone-aware"):
        await _add(sessions, Tenant(name="naive", created_at=datetime(2030, 1, 1)))


async def test_lesson_draft_and_versions(sessions: Sessions) -> None:
    tenant = await _tenant(sessions)
    builtin = Lesson(id="airport", title="Immigration", public=True)
    lesson = Lesson(
        id="cafe",
        tenant_id=tenant.id,
        title="Café",
        draft={"broken": True, "states": []},
        draft_updated_at=datetime.now(UTC),
    )
    await _add(sessions, builtin, lesson)
    got = await _get(sessions, Lesson, "airport")
    assert got.tenant_id is None and got.public and got.draft is None
    assert got.latest_version == 0 and got.published_version is None

    versions = [
        LessonVersion(lesson_id="cafe", version=v, document={**DOC, "v": v}, content_hash=f"h{v}")
        for v in (1, 2)
    ]
    await _add(sessions, *versions)
    before = (await _get(sessions, Lesson, "cafe")).updated_at
    async with sessions() as s:
        row = await s.get(Lesson, "cafe")
        row.latest_version, row.published_version, row.draft = 2, 1, None
        await s.commit()

    got = await _get(sessions, Lesson, "cafe")
    assert (got.latest_version, got.published_version, got.draft) == (2, 1, None)
    assert got.updated_at > before  # bumped on update
    v2 = await _get(sessions, LessonVersion, "cafe", 2)
    assert v2.document == {**DOC, "v": 2}
    assert list(v2.document) == list(DOC) + ["v"]  # key order kept (JSON, not JSONB)
    with pytest.raises(IntegrityError):  # (lesson_id, version) is the primary key
        await _add(
            sessions, LessonVersion(lesson_id="cafe", version=2, document={}, content_hash="x")
        )


async def test_learner_uniqueness(sessions: Sessions) -> None:
    acme, other = await _tenant(sessions, "acme"), await _tenant(sessions, "other")
    await _add(
        sessions,
        Learner(tenant_id=acme.id, external_id="u1"),
        Learner(tenant_id=other.id, external_id="u1"),
        Learner(external_id="u1"),
    )
    async with sessions() as s:
        rows = (await s.exec(select(Learner).where(Learner.external_id == "u1"))).all()
    assert {r.tenant_id for r in rows} == {acme.id, other.id, None}

    with pytest.raises(IntegrityError):  # unique within a tenant
        await _add(sessions, Learner(tenant_id=acme.id, external_id="u1"))
    with pytest.raises(IntegrityError):  # and among learners without a tenant
        await _add(sessions, Learner(external_id="u1"))


async def test_session_and_turns(sessions: Sessions) -> None:
    play = await _session(sessions, learner_id="L1", tenant_id=None)
    got = await _get(sessions, PlaySession, play.id)
    assert (got.status, got.attempts, got.turn_count, got.ended_at) == ("active", 0, 0, None)

    turn = Turn(
        session_id=play.id,
        index=0,
        text="a coffee please",
        outcome="matched",
        expectation_id="order",
        intent="order_drink",
        score=0.87,
        state_before="start",
        state_after="pay",
        bot_lines=["Sure!", "Anything else?"],
        entities={"drink": "coffee", "size": None, "count": 1},
    )
    await _add(
        sessions,
        turn,
        Turn(
            session_id=play.id,
            index=1,
            text="no",
            outcome="no_match",
            intent="deny",
            score=0.1,
            state_before="pay",
            state_after="pay",
        ),
    )
    assert isinstance(turn.id, int)

    async with sessions() as s:
        turns = (
            await s.exec(select(Turn).where(Turn.session_id == play.id).order_by(Turn.index))
        ).all()
    assert [t.index for t in turns] == [0, 1]
    assert turns[0].bot_lines == ["Sure!", "Anything else?"]
    assert turns[0].entities == {"drink": "coffee", "size": None, "count": 1}
    assert turns[0].score == pytest.approx(0.87) and turns[1].expectation_id is None
    assert turns[1].bot_lines == [] and turns[1].entities == {}

    with pytest.raises(IntegrityError):  # one turn per (session, index)
        await _add(
            sessions,
            Turn(
                session_id=play.id,
                index=1,
                text="again",
                outcome="x",
                intent="x",
                score=0,
                state_before="pay",
                state_after="pay",
            ),
        )

    async with sessions() as s:
        row = await s.get(PlaySession, play.id)
        row.status, row.turn_count, row.ended_at = "completed", 2, datetime.now(UTC)
        await s.commit()
    got = await _get(sessions, PlaySession, play.id)
    assert got.status == "completed" and got.turn_count == 2 and got.ended_at.tzinfo is not None

    async with sessions() as s:  # deleting a session deletes its turns
        await s.delete(await s.get(PlaySession, play.id))
        await s.commit()
    assert await _get(sessions, Turn, turn.id) is None


async def test_session_status_is_checked(sessions: Sessions) -> None:
    with pytest.raises(IntegrityError):
        await _session(sessions, status="paused")
