"""Group commit of turns (server.journal) against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import func, select

from dialog.engine import SessionState
from server.db.models import PlaySession, Turn
from server.journal import TurnJournal


def _session(i: int) -> PlaySession:
    return PlaySession(id=f"s{i:03d}", tenant_id=None, lesson_id="immigration", lesson_version=1,
                       token_hash="x", state="greeting", attempts=0, turn_count=0,
                       status="active")


def _turn(session_id: str, index: int) -> Turn:
    return Turn(session_id=session_id, index=index, text=f"turn {index}", outcome="advanced",
                intent="yes", score=1.0, state_before="a", state_after="b", bot_lines=["ok"])


def _state(session_id: str, turn: int, status: str = "active") -> SessionState:
    return SessionState(session_id=session_id, lesson_id="immigration", version=1,
                        state=f"state{turn}", attempts=0, turn=turn, status=status)


@pytest.fixture
async def seeded(sessions):
    async with sessions() as s:
        s.add_all([_session(i) for i in range(40)])
        await s.commit()
    return sessions


async def test_concurrent_turns_share_transactions_and_all_land(seeded):
    journal = TurnJournal(seeded)
    ids = [f"s{i:03d}" for i in range(40)]
    for index in range(1, 4):
        await asyncio.gather(*(journal.record(_state(sid, index), _turn(sid, index))
                               for sid in ids))
    assert max(journal.batch_sizes) > 1, journal.batch_sizes
    assert sum(journal.batch_sizes) == 120
    async with seeded() as s:
        count = (await s.exec(select(func.count()).select_from(Turn))).one()
        rows = (await s.exec(select(PlaySession))).all()
    assert count == 120
    assert {(r.turn_count, r.state, r.ended_at) for r in rows} == {(3, "state3", None)}


async def test_a_failing_turn_fails_alone(seeded):
    journal = TurnJournal(seeded)
    await journal.record(_state("s000", 1), _turn("s000", 1))
    results = await asyncio.gather(
        journal.record(_state("s000", 1), _turn("s000", 1)),  # the same (session, index) again
        *(journal.record(_state(f"s{i:03d}", 1), _turn(f"s{i:03d}", 1)) for i in range(1, 10)),
        return_exceptions=True)
    assert isinstance(results[0], IntegrityError)
    assert results[1:] == [None] * 9
    async with seeded() as s:
        count = (await s.exec(select(func.count()).select_from(Turn))).one()
    assert count == 10


async def test_ending_a_session_stamps_ended_at(seeded):
    journal = TurnJournal(seeded)
    await journal.record(_state("s001", 2, status="ended"), ended=True)
    async with seeded() as s:
        row = await s.get(PlaySession, "s001")
    assert (row.status, row.turn_count, row.ended_at is not None) == ("ended", 2, True)
