"""The dialog engine: evaluate one learner turn and move the conversation on.

The engine is stateless between calls: everything about a live session is in a
small ``SessionState`` the server stores (memory, Redis, the database), and the
lesson graph is a shared ``CompiledLesson``. ``turn`` returns a new state
object rather than mutating its argument, so a failed store write never leaves
a half-updated session behind.

Miss policy (the learner said something that matches no expectation well
enough): 1st miss the hint, 2nd the rephrase, at ``max_attempts`` the state's
fallback (its line, then the fallback state's line). Without a fallback the bot
keeps repeating the rephrase, so the learner is never stuck without a way on.
Line variants are chosen by hashing (session, turn, state), so a replay of the
same session says the same words.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from dialog.encouragement import ENCOURAGEMENT, FRUSTRATED, RETRY_OUTCOMES, EmotionSensor
from dialog.errors import EmptyUtterance, SessionFinished, StaleSession
from dialog.lesson import PronunciationCheck, State
from dialog.machine import CompiledLesson
from dialog.matching.base import DEFAULT_THRESHOLD, MISSING_ENTITY_CAP, Matcher

__all__ = ["DialogEngine", "SessionState", "TurnResult", "choose_line"]

ACTIVE, COMPLETED, FAILED, ENDED = "active", "completed", "failed", "ended"


@dataclass
class SessionState:
    """Everything the engine needs to continue a session; small and JSON-friendly."""

    session_id: str
    lesson_id: str
    version: int
    state: str
    attempts: int = 0
    turn: int = 0
    status: str = ACTIVE  # active | completed (goal) | failed (failure state) | ended (learner)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionState:
        """Build from ``to_dict`` output; unknown keys (added by the server) are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class TurnResult:
    """What happened on one turn; the server records it and sends ``bot_lines``."""

    outcome: str  # advanced | hint | rephrase | fallback | repeat | pronounce
    expectation_id: str | None
    intent: str
    score: float
    entities: dict[str, list[str]]
    state_before: str
    state_after: str
    bot_lines: list[str]
    status: str
    attempts: int = 0  # misses so far in state_after (0 after a transition)
    emotion: str | None = None  # asked only after a retry outcome (dialog.encouragement)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_line(variants: list[str], session_id: str, turn: int, state_id: str) -> str:
    """A deterministic pick among non-empty variants, stable across processes and replays."""
    options = [v for v in variants if v.strip()]
    if not options:
        return ""
    if len(options) == 1:
        return options[0]
    digest = hashlib.blake2b(f"{session_id}|{turn}|{state_id}".encode(), digest_size=8).digest()
    return options[int.from_bytes(digest, "big") % len(options)]


def pronunciation_retry(check: PronunciationCheck | None,
                        assessment: Mapping[str, Any] | None) -> str | None:
    """The bot's "say it again" line when the key phrase scored below the check, else None."""
    if check is None or not assessment:
        return None
    wanted = [w.strip(".,!?;:\"").lower() for w in check.phrase.split()]
    words = [w for w in assessment.get("words", ()) if w.get("word") in wanted]
    if len(words) < len([w for w in wanted if w]):
        words += [{"accuracy": 0.0, "phones": []}] * (len(wanted) - len(words))
    score = sum(float(w.get("accuracy", 0.0)) for w in words) / max(1, len(words))
    if score >= check.min_score:
        return None
    phones = [p for w in words for p in w.get("phones", ())]
    line = check.line.strip() or f"Let's say \u201c{check.phrase}\u201d again."
    if phones:
        worst = min(phones, key=lambda p: float(p.get("score", 100.0)))
        if worst.get("tip"):
            line += f" Tip for {worst['phone']}: {worst['tip']}"
    return line


def _status_of(state: State) -> str:
    return {"goal": COMPLETED, "failure": FAILED}.get(state.kind, ACTIVE)


class DialogEngine:
    """Evaluates turns with a ``Matcher`` and a score threshold."""

    def __init__(self, matcher: Matcher, threshold: float = DEFAULT_THRESHOLD,
                 emotion: EmotionSensor | None = None) -> None:
        if not MISSING_ENTITY_CAP < threshold <= 1.0:
            raise ValueError(f"threshold must be in ({MISSING_ENTITY_CAP}, 1], got {threshold}")
        self.matcher = matcher
        self.threshold = threshold
        self.emotion = emotion

    def start(self, compiled: CompiledLesson, session_id: str) -> tuple[SessionState, list[str]]:
        """A new session at the lesson's initial state, and the bot's opening lines."""
        initial = compiled.state(compiled.lesson.initial)
        state = SessionState(
            session_id=session_id,
            lesson_id=compiled.lesson.id,
            version=compiled.version,
            state=initial.id,
            status=_status_of(initial),
        )
        return state, [choose_line(initial.lines, session_id, 0, initial.id)]

    async def warm(self, compiled: CompiledLesson) -> None:
        """Prepare what the matcher computes once per lesson version (when it has such)."""
        warm = getattr(self.matcher, "warm", None)
        if warm is not None:
            await warm(compiled)

    def end(self, state: SessionState) -> SessionState:
        """The learner stopped: the session is closed without reaching an outcome."""
        if state.status != ACTIVE:
            raise SessionFinished(state.session_id)
        return replace(state, status=ENDED)

    async def turn(
        self, compiled: CompiledLesson, state: SessionState, text: str,
        assessment: Mapping[str, Any] | None = None,
    ) -> tuple[SessionState, TurnResult]:
        """Evaluate one utterance; returns the next session state and what happened.

        ``assessment`` is the spoken turn's pronunciation assessment (the API's
        shape); with it, an expectation's ``pronunciation`` check can hold the
        learner in the state (outcome ``pronounce``). After a retry outcome the
        emotion sensor (if any) is asked; a frustrated learner gets an encouraging
        line before the retry.
        """
        new_state, result = await self._evaluate(compiled, state, text, assessment)
        if self.emotion is not None and result.outcome in RETRY_OUTCOMES:
            result.emotion = await self.emotion.emotion(text)
            if result.emotion == FRUSTRATED:
                result.bot_lines.insert(0, choose_line(
                    ENCOURAGEMENT, state.session_id, new_state.turn, "encouragement"))
        return new_state, result

    async def _evaluate(
        self, compiled: CompiledLesson, state: SessionState, text: str,
        assessment: Mapping[str, Any] | None,
    ) -> tuple[SessionState, TurnResult]:
        if state.status != ACTIVE:
            raise SessionFinished(state.session_id)
        if state.lesson_id != compiled.lesson.id or state.state not in compiled.states:
            raise StaleSession(
                f"session {state.session_id} is at {state.lesson_id}/{state.state}, "
                f"which is not part of lesson {compiled.lesson.id} version {compiled.version}"
            )
        if not text or not text.strip():
            raise EmptyUtterance()

        turn_no = state.turn + 1
        current = compiled.state(state.state)
        matches = await self.matcher.match(text, compiled, current.id)
        best = matches[0] if matches else None
        entities = best.entities if best else {}
        score = best.score if best else 0.0

        if best is not None and best.score >= self.threshold:
            exp = compiled.expectations[best.expectation_id]
            retry = pronunciation_retry(exp.pronunciation, assessment)
            if retry is not None and state.attempts + 1 < current.max_attempts:
                attempts = state.attempts + 1
                return replace(state, attempts=attempts, turn=turn_no), TurnResult(
                    "pronounce", exp.id, exp.intent, score, entities, current.id, current.id,
                    [retry], ACTIVE, attempts)
            target = compiled.state(compiled.fire(current.id, exp.id))
            lines = [exp.reply] if exp.reply.strip() else []
            lines.append(choose_line(target.lines, state.session_id, turn_no, target.id))
            return self._moved(state, turn_no, target, TurnResult(
                "advanced", exp.id, exp.intent, score, entities, current.id, target.id, lines,
                _status_of(target),
            ))

        attempts = state.attempts + 1
        if attempts >= current.max_attempts and current.fallback is not None:
            target = compiled.state(compiled.fire(current.id, None))
            lines = [current.fallback_line] if current.fallback_line.strip() else []
            lines.append(choose_line(target.lines, state.session_id, turn_no, target.id))
            return self._moved(state, turn_no, target, TurnResult(
                "fallback", None, "", score, entities, current.id, target.id, lines,
                _status_of(target),
            ))

        outcome, line = self._miss_line(current, attempts, state.session_id, turn_no)
        attempts = min(attempts, current.max_attempts)
        new_state = replace(state, attempts=attempts, turn=turn_no)
        return new_state, TurnResult(
            outcome, None, "", score, entities, current.id, current.id, [line], ACTIVE, attempts
        )

    @staticmethod
    def _moved(
        state: SessionState, turn_no: int, target: State, result: TurnResult
    ) -> tuple[SessionState, TurnResult]:
        new_state = replace(
            state, state=target.id, attempts=0, turn=turn_no, status=_status_of(target)
        )
        return new_state, result

    @staticmethod
    def _miss_line(current: State, attempts: int, session_id: str, turn_no: int) -> tuple[str, str]:
        """(outcome, line) for a miss that does not leave the state."""
        rephrase = choose_line(current.rephrase, session_id, turn_no, current.id)
        if attempts >= current.max_attempts:  # no fallback: keep the learner going
            return "repeat", rephrase or choose_line(current.lines, session_id, turn_no, current.id)
        if attempts == 1 and current.hint.strip():
            return "hint", current.hint
        if rephrase:
            return "rephrase", rephrase
        if current.hint.strip():
            return "hint", current.hint
        return "repeat", choose_line(current.lines, session_id, turn_no, current.id)
