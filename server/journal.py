"""Group commit of learner turns: many sessions' turns share one transaction.

Every turn must be in the database before its reply is sent. Committed one by
one, that costs a transaction per turn, and SQLite (one writer) turns it into a
queue: on this machine 337 single-turn transactions a second at best, with the
event loop busy for each. Turns that arrive while a transaction is in flight
instead wait and go together in the next one, so throughput grows with load and
a quiet server still commits at once. Each caller still returns only after its
own turn is committed.

A batch that fails (say one turn collides with a write from another process) is
retried turn by turn, so only the offending turn's caller sees the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dialog.engine import SessionState
from server.db.models import PlaySession, Turn
from serving.batching import MicroBatcher

__all__ = ["TurnJournal"]


@dataclass(frozen=True, slots=True)
class _Entry:
    turn: Turn | None
    values: dict[str, Any]  # the session row's new columns, "id" included


class TurnJournal:
    """Writes (turn, new session state) pairs in shared transactions."""

    def __init__(self, db: async_sessionmaker[AsyncSession], concurrent: int = 1,
                 max_batch: int = 256) -> None:
        self.db = db
        # SQLite: one transaction at a time; PostgreSQL: a few, from its pool.
        self._batcher: MicroBatcher[_Entry, BaseException | None] = MicroBatcher(
            self._write_many, None, max_batch=max_batch, wait_s=0, max_inflight=concurrent)

    @property
    def batch_sizes(self) -> list[int]:
        return list(self._batcher.sizes)

    async def record(self, state: SessionState, turn: Turn | None = None,
                     ended: bool = False) -> None:
        """Commit ``turn`` (if any) and ``state`` onto the session row; returns once durable."""
        now = datetime.now(UTC)
        values = {"id": state.session_id, "state": state.state, "attempts": state.attempts,
                  "turn_count": state.turn, "status": state.status, "updated_at": now}
        if ended or state.status != "active":
            values["ended_at"] = now
        error = await self._batcher.submit(_Entry(turn, values))
        if error is not None:
            raise error

    async def _write_many(self, entries: list[_Entry]) -> list[BaseException | None]:
        if len(entries) > 1:
            try:
                await self._write(entries)
                return [None] * len(entries)
            except Exception:  # noqa: S110 - isolated below, entry by entry
                pass
        results: list[BaseException | None] = []
        for entry in entries:
            try:
                await self._write([entry])
                results.append(None)
            except Exception as exc:
                results.append(exc)
        return results

    async def _write(self, entries: list[_Entry]) -> None:
        async with self.db() as s:
            s.add_all([e.turn for e in entries if e.turn is not None])
            await s.flush()
            for values in _by_columns(entries):
                await s.exec(update(PlaySession), params=values)  # ORM bulk UPDATE by primary key
            await s.commit()


def _by_columns(entries: list[_Entry]) -> list[list[dict[str, Any]]]:
    """Bulk UPDATE wants the same columns in every row: group by column set, keep order."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault(tuple(sorted(e.values)), []).append(e.values)
    return list(groups.values())
