"""Replay a recorded transcript through today's engine and report what changed.

This is the regression net for lessons and matchers: what was accepted
yesterday must be accepted today. Each recorded text is fed from the recorded
state; a diff is reported when the outcome kind or the transition differs (a
different expectation or target, a hint where there was none). After a diff
the replay re-synchronises on the recorded state, so one changed turn yields
one diff rather than a cascade.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dialog.engine import DialogEngine, SessionState
from dialog.errors import DialogError
from dialog.machine import CompiledLesson

__all__ = ["ReplayDiff", "replay"]

_COMPARED = ("outcome", "expectation_id", "state_after")


@dataclass
class ReplayDiff:
    turn: int  # 0-based index into the transcript
    text: str
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    reason: str


async def replay(
    engine: DialogEngine,
    compiled: CompiledLesson,
    turns: list[dict[str, Any]],
    session_id: str = "replay",
) -> list[ReplayDiff]:
    """Differences between a recorded transcript and the engine's behaviour now."""
    first = turns[0].get("state_before") if turns else None
    state = SessionState(
        session_id=session_id,
        lesson_id=compiled.lesson.id,
        version=compiled.version,
        state=first or compiled.lesson.initial,
    )
    diffs: list[ReplayDiff] = []
    for index, recorded in enumerate(turns):
        text = str(recorded.get("text", ""))
        before = recorded.get("state_before")
        if before and before != state.state:
            diffs.append(ReplayDiff(
                index, text, recorded, {"state_before": state.state},
                f"transcript continues from state {before}, replay is at {state.state}",
            ))
            state = replace(state, state=before, attempts=0)
        try:
            state, result = await engine.turn(compiled, state, text)
            replayed = result.to_dict()
        except DialogError as exc:
            replayed = {"error": exc.code, "message": exc.message}
        reason = _reason(recorded, replayed)
        if reason:
            diffs.append(ReplayDiff(index, text, recorded, replayed, reason))
            state = _resync(state, recorded, compiled)
    return diffs


def _reason(recorded: dict[str, Any], replayed: dict[str, Any]) -> str:
    if "error" in replayed:
        return f"replay raised {replayed['error']}: {replayed['message']}"
    changed = [k for k in _COMPARED if recorded.get(k) != replayed.get(k)]
    if not changed:
        return ""
    if recorded.get("outcome") != replayed.get("outcome"):
        return f"{replayed.get('outcome')} where the recording had {recorded.get('outcome')}"
    return "a different transition: " + ", ".join(
        f"{k} {recorded.get(k)} -> {replayed.get(k)}" for k in changed
    )


def _resync(
    state: SessionState, recorded: dict[str, Any], compiled: CompiledLesson
) -> SessionState:
    """Put the replay back where the recording was after this turn."""
    after = recorded.get("state_after") or state.state
    if after not in compiled.states:
        return state
    if "attempts" in recorded:
        attempts = int(recorded["attempts"])
    elif recorded.get("outcome") in ("advanced", "fallback"):
        attempts = 0
    else:
        attempts = min(state.attempts, compiled.state(after).max_attempts)
    status = recorded.get("status") or state.status
    return replace(state, state=after, attempts=attempts, status=status)
