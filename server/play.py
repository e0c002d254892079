"""Play sessions: the one path every transport's learner turn takes.

A turn holds the session's lock (shared through Redis when configured), runs
the dialog engine, and writes the turn and the new session state to the
database *before* the reply is returned, so no acknowledged turn is ever lost
(``server.journal`` lets concurrent turns share one transaction). The live
state then goes to the session store, which is what the next turn reads.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from dialog.engine import DialogEngine, SessionState, TurnResult
from server.auth import Principal, hash_secret
from server.db.models import PlaySession, Turn
from server.errors import ApiError, NotFound, RateLimited
from server.journal import TurnJournal
from server.lessons import LessonService
from server.observability import Metrics
from server.schemas import Progress, SessionCreate, SessionDetail, SessionOut, TurnOut
from server.settings import Settings
from server.store.base import SessionStore

if TYPE_CHECKING:
    from dialog.machine import CompiledLesson

log = logging.getLogger("parley.play")


class PlayService:
    def __init__(self, db: async_sessionmaker[AsyncSession], store: SessionStore,
                 lessons: LessonService, engine: DialogEngine, settings: Settings,
                 metrics: Metrics) -> None:
        self.db, self.store, self.lessons, self.engine = db, store, lessons, engine
        self.settings, self.metrics = settings, metrics
        sqlite = db.kw["bind"].dialect.name == "sqlite"
        self.journal = TurnJournal(db, concurrent=1 if sqlite else 4)
        self._warming: set[asyncio.Task] = set()

    async def create(self, who: Principal, body: SessionCreate) -> SessionOut:
        version = await self.lessons.playable(who, body.lesson_id, body.version)
        compiled = await self.lessons.compiled(body.lesson_id, version)
        task = asyncio.get_running_loop().create_task(self._warm(compiled))
        self._warming.add(task)  # the learner's first words come seconds after this
        task.add_done_callback(self._warming.discard)
        session_id = uuid.uuid4().hex
        state, lines = self.engine.start(compiled, session_id)
        token = "st_" + secrets.token_urlsafe(24)
        row = PlaySession(id=session_id, tenant_id=who.tenant_id, lesson_id=body.lesson_id,
                          lesson_version=version, learner_id=body.learner_id,
                          token_hash=hash_secret(token), state=state.state, attempts=0,
                          turn_count=0, status=state.status)
        async with self.db() as s:
            s.add(row)
            await s.commit()
        await self._remember(state, lines)
        out = await self._out(row, lines, [])
        return out.model_copy(update={"token": token})

    async def _warm(self, compiled: CompiledLesson) -> None:
        try:
            await self.engine.warm(compiled)
        except Exception as exc:  # noqa: BLE001 - the first turn computes it instead
            log.info("could not prepare lesson %s for matching: %s", compiled.lesson_id, exc)

    async def authorize(self, who: Principal, session_id: str, token: str | None) -> PlaySession:
        """The caller's tenant owns the session, or the caller holds its session token."""
        async with self.db() as s:
            row = await s.get(PlaySession, session_id)
        if row is None:
            raise NotFound(f"no session {session_id!r}")
        if who.tenant_id is not None and row.tenant_id == who.tenant_id:
            return row
        if token and hmac.compare_digest(hash_secret(token), row.token_hash):
            return row
        raise NotFound(f"no session {session_id!r}")  # 404, not 403: don't confirm it exists

    async def turn(self, row: PlaySession, text: str, transport: str,
                   assessing: asyncio.Task | None = None) -> TurnOut:
        """Play one learner turn. ``assessing`` is a spoken turn's pronunciation assessment
        in flight: awaited only when the state checks a key phrase's pronunciation."""
        started = time.perf_counter()
        window = await self.store.incr_window(f"rate:turn:{row.id}", 60)
        if window > self.settings.turn_rate_per_min:
            raise RateLimited(f"more than {self.settings.turn_rate_per_min} turns a minute")
        async with self.store.lock(row.id):
            state = await self.live(row.id)
            compiled = await self.lessons.compiled(state.lesson_id, state.version)
            assessment = None
            if assessing is not None and any(
                    e.pronunciation for e in compiled.state(state.state).expects):
                found = await asyncio.shield(assessing)
                assessment = found.model_dump(mode="json") if found is not None else None
            new_state, result = await self.engine.turn(compiled, state, text, assessment)
            turn = _turn_row(row.id, new_state.turn, text, result)
            await self.journal.record(new_state, turn)
            await self._remember(new_state, result.bot_lines)
        out = _turn_out(turn)
        self.metrics.turns.labels(transport, result.outcome).observe(
            time.perf_counter() - started)
        return out

    async def end(self, row: PlaySession) -> SessionOut:
        async with self.store.lock(row.id):
            state = await self.live(row.id)
            if state.status == "active":
                state.status = "ended"
                await self.journal.record(state, ended=True)
            await self.store.delete(row.id)
        return await self.detail(row.id)

    async def detail(self, session_id: str) -> SessionDetail:
        async with self.db() as s:
            row = await s.get(PlaySession, session_id)
            if row is None:
                raise NotFound(f"no session {session_id!r}")
            query = select(Turn).where(Turn.session_id == session_id).order_by(Turn.index)
            turns = (await s.exec(query)).all()
        live = await self.store.get(session_id)
        prompt = live.get("prompt", []) if live else []
        if not prompt:
            prompt = await self._prompt(row, turns)
        out = await self._out(row, prompt, turns)
        return SessionDetail(**out.model_dump(), transcript=[_turn_out(t) for t in turns])

    # --- helpers ------------------------------------------------------------------

    async def live(self, session_id: str) -> SessionState:
        """The session's state from the store, or restored from the database."""
        live = await self.store.get(session_id)
        if live is not None:
            return SessionState.from_dict(live["state"])
        async with self.db() as s:
            row = await s.get(PlaySession, session_id)
        if row is None:
            raise NotFound(f"no session {session_id!r}")
        return SessionState(session_id=row.id, lesson_id=row.lesson_id,
                            version=row.lesson_version, state=row.state,
                            attempts=row.attempts, turn=row.turn_count, status=row.status)

    async def _remember(self, state: SessionState, prompt: list[str]) -> None:
        await self.store.set(state.session_id, {"state": state.to_dict(), "prompt": prompt},
                             ttl_s=self.settings.session_ttl_s)

    async def _prompt(self, row: PlaySession, turns: list[Turn]) -> list[str]:
        if turns:
            return list(turns[-1].bot_lines)
        compiled = await self.lessons.compiled(row.lesson_id, row.lesson_version)
        return self.engine.start(compiled, row.id)[1]

    async def _out(self, row: PlaySession, prompt: list[str], turns: list[Turn]) -> SessionOut:
        compiled = await self.lessons.compiled(row.lesson_id, row.lesson_version)
        lesson = compiled.lesson
        visited = {lesson.initial} | {t.state_after for t in turns}
        advanced = sum(1 for t in turns if t.outcome in ("advanced", "fallback"))
        return SessionOut(
            id=row.id, lesson_id=row.lesson_id, version=row.lesson_version,
            learner_id=row.learner_id, state=row.state, state_name=lesson.state(row.state).name,
            status=row.status, mission=lesson.mission, prompt=prompt,
            progress=Progress(turns=len(turns), advanced=advanced,
                              misses=sum(1 for t in turns if t.outcome not in
                                         ("advanced", "fallback")),
                              states_visited=len(visited), states_total=len(lesson.states),
                              goal_reached=row.status == "completed"),
            created_at=row.created_at,
        )


def _turn_row(session_id: str, index: int, text: str, r: TurnResult) -> Turn:
    return Turn(session_id=session_id, index=index, text=text, outcome=r.outcome,
                expectation_id=r.expectation_id, intent=r.intent, score=float(r.score),
                state_before=r.state_before, state_after=r.state_after,
                bot_lines=list(r.bot_lines), entities=dict(r.entities), status=r.status,
                emotion=r.emotion)


def _turn_out(t: Turn) -> TurnOut:
    return TurnOut(index=t.index, text=t.text, outcome=t.outcome, expectation_id=t.expectation_id,
                   intent=t.intent, score=t.score, entities=t.entities or {},
                   state_before=t.state_before, state_after=t.state_after,
                   bot_lines=list(t.bot_lines or []), status=t.status, emotion=t.emotion,
                   created_at=t.created_at)


def check_text(text: str) -> str:
    if not text.strip():
        raise ApiError("say something: the text is empty", code="empty_utterance")
    return text
