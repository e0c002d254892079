"""Request and response bodies of the HTTP API (they generate the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dialog.lesson import Lesson


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- tenants and keys -------------------------------------------------------------

class TenantCreate(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")


class KeyCreate(Strict):
    name: str = Field("default", max_length=100)


class KeyOut(BaseModel):
    id: str
    tenant_id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    key: str | None = Field(None, description="the secret; shown once, at creation")


class TenantOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    key: KeyOut | None = Field(None, description="the tenant's first key, at creation")


# --- lessons ----------------------------------------------------------------------

class LessonCreate(Strict):
    document: Lesson
    public: bool = Field(False, description="let anyone play it without a key")
    publish: bool = Field(True, description="publish version 1 right away")


class VersionCreate(Strict):
    document: Lesson
    publish: bool = False


class DraftIn(Strict):
    document: dict[str, Any] = Field(description="the editor's document; may be incomplete")


class DraftOut(BaseModel):
    lesson_id: str
    document: dict[str, Any] | None
    updated_at: datetime | None
    issues: list[ValidationIssueOut] = []


class ValidationIssueOut(BaseModel):
    code: str
    message: str
    state: str | None = None


class ValidationOut(BaseModel):
    valid: bool
    issues: list[ValidationIssueOut]


class LessonSummary(BaseModel):
    id: str
    title: str
    mission: str
    level: str
    public: bool
    owned: bool = Field(description="the caller's tenant owns it")
    latest_version: int
    published_version: int | None


class LessonOut(LessonSummary):
    version: int
    document: Lesson


class VersionOut(BaseModel):
    lesson_id: str
    version: int
    content_hash: str
    created_at: datetime
    published: bool


# --- sessions and turns -----------------------------------------------------------

class SessionCreate(Strict):
    lesson_id: str
    version: int | None = Field(None, description="defaults to the published version")
    learner_id: str | None = Field(None, max_length=200, description="the tenant's learner id")


class TurnIn(Strict):
    text: str = Field(max_length=2000)


class TurnOut(BaseModel):
    index: int
    text: str
    outcome: str = Field(description="advanced | hint | rephrase | fallback | repeat")
    expectation_id: str | None
    intent: str
    score: float
    entities: dict[str, list[str]]
    state_before: str
    state_after: str
    bot_lines: list[str]
    status: str
    created_at: datetime | None = None


class WordOut(BaseModel):
    word: str
    start: float = Field(description="seconds from the start of the utterance")
    end: float
    confidence: float = Field(ge=0, le=1)


class RecognitionOut(BaseModel):
    """What the recogniser heard in one spoken turn."""

    text: str
    confidence: float = Field(ge=0, le=1)
    path: str = Field(description="grammar (one of the state's expected answers, verified), "
                      "open (something else) or general (no state model)")
    expected: bool
    audio_seconds: float
    words: list[WordOut]


class SpokenTurnOut(BaseModel):
    recognition: RecognitionOut
    turn: TurnOut


class Progress(BaseModel):
    turns: int
    advanced: int
    misses: int
    states_visited: int
    states_total: int
    goal_reached: bool


class SessionOut(BaseModel):
    id: str
    lesson_id: str
    version: int
    learner_id: str | None
    state: str
    state_name: str
    status: str
    mission: str
    prompt: list[str] = Field(description="what the bot last said")
    progress: Progress
    created_at: datetime
    token: str | None = Field(None, description="session token; returned once, at creation")


class SessionDetail(SessionOut):
    transcript: list[TurnOut]


class TranscriptOut(BaseModel):
    session_id: str
    lesson_id: str
    version: int
    status: str
    turns: list[TurnOut]


class ReadyOut(BaseModel):
    ready: bool
    checks: dict[str, str]


DraftOut.model_rebuild()
