"""The lesson document: a role-play conversation as states and expected answers.

Lessons are versioned documents authored in the browser and stored as JSON, so
the schema is strict (``extra="forbid"``): a typo in a field name is a 422, not
a silently ignored setting. Structural rules that need the whole graph (targets
exist, goal reachable, ...) live in ``dialog.validation``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Expectation", "Lesson", "PronunciationCheck", "State"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PronunciationCheck(_Strict):
    """A key phrase a spoken answer must pronounce well enough before the lesson moves on.

    Below ``min_score`` (the phrase's mean word accuracy, 0–100) the bot asks the
    learner to say it again, with the tip for the worst sound; after the state's
    ``max_attempts`` tries the lesson moves on anyway. Typed turns are not checked.
    """

    phrase: str = Field(min_length=1, max_length=200)
    min_score: float = Field(default=60.0, ge=0, le=100)
    line: str = Field(default="", max_length=500,
                      description="what the bot says first; default: Let's say “<phrase>” again.")


class Expectation(_Strict):
    """One expected learner response; it is also one outgoing transition."""

    id: str
    target: str
    intent: str = ""
    examples: list[str] = []
    keywords: list[str] = []
    patterns: list[str] = []
    entities: list[str] = []
    reply: str = ""
    pronunciation: PronunciationCheck | None = None


class State(_Strict):
    """A point in the conversation: what the bot says and what it expects back."""

    id: str
    name: str
    lines: list[str]
    expects: list[Expectation] = []
    hint: str = ""
    rephrase: list[str] = []
    fallback: str | None = None
    fallback_line: str = ""
    max_attempts: int = Field(default=3, ge=1, le=10)
    kind: Literal["normal", "goal", "failure"] = "normal"

    @property
    def terminal(self) -> bool:
        """Goal and failure states end the session when entered."""
        return self.kind != "normal"


class Lesson(_Strict):
    """A whole role-play lesson (one version of it)."""

    id: str
    title: str
    mission: str
    description: str = ""
    level: str = "A2"
    initial: str
    states: list[State]

    def state(self, state_id: str) -> State:
        """The state with this id; ``KeyError`` if there is none."""
        for state in self.states:
            if state.id == state_id:
                return state
        raise KeyError(state_id)

    def state_by_name(self, name: str) -> State:
        """The state with this human name; ``KeyError`` if there is none."""
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    def content_hash(self) -> str:
        """sha256 of the canonical JSON, so identical content gets identical versions."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
