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
    latest_version: int = Field(description="0 for a lesson that so far is only a draft")
    published_version: int | None
    draft_updated_at: datetime | None = Field(None, description="the editor's last autosave "
                                              "(owners only)")


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
    outcome: str = Field(description="advanced | hint | rephrase | fallback | repeat | "
                         "pronounce (the key phrase needs saying again, see lesson "
                         "expectations' pronunciation check)")
    expectation_id: str | None
    intent: str
    score: float
    entities: dict[str, list[str]]
    state_before: str
    state_after: str
    bot_lines: list[str]
    status: str
    emotion: str | None = Field(None, description="positive | neutral | negative | "
                                "frustrated, asked after a turn that did not move on (a "
                                "frustrated learner hears an encouraging line first)")
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


class PhoneScoreOut(BaseModel):
    phone: str = Field(description="ARPAbet phone of the reference (US English, no stress)")
    start: float = Field(description="seconds from the start of the audio")
    end: float
    score: float = Field(ge=0, le=100, description="100 x P(said as the reference asks)")
    label: str = Field(description="correct (>= 70), accented (>= 40) or wrong")
    tip: str = Field(description="how to articulate the phone")
    minimal_pair: str | None = Field(None, description="practice words for a wrong phone")


class WordScoreOut(BaseModel):
    word: str
    start: float
    end: float
    accuracy: float = Field(ge=0, le=100, description="100 x the probability that no phone "
                            "of the word is wrong")
    label: str = Field(description="correct, accented, wrong or omitted")
    phones: list[PhoneScoreOut]


class MiscueOut(BaseModel):
    type: str = Field(description="omission, insertion or mispronunciation")
    word: str
    index: int | None = Field(description="position in the reference; null for an insertion")
    heard: str | None = Field(None, description="the word recognised instead, when one was")


class FluencyOut(BaseModel):
    speech_rate_wpm: float
    articulation_rate_pps: float = Field(description="phones per second of speaking time")
    pauses: int = Field(description="silences of 0.3 s or more between words")
    pause_seconds: float
    longest_pause_s: float
    hesitations: int = Field(description="filler words and repeated words")


class ScoresOut(BaseModel):
    accuracy: float = Field(ge=0, le=100, description="mean phone score of the words said, "
                            "times the probability that the audio carries the reference")
    fluency: float = Field(ge=0, le=100)
    completeness: float = Field(ge=0, le=100, description="share of reference words said")
    overall: float = Field(ge=0, le=100, description="0.6 accuracy + 0.2 fluency + 0.2 "
                           "completeness")


class AssessmentOut(BaseModel):
    """One utterance scored against a reference text, phone by phone (the same shape on the
    REST API, in the WebSocket ``pronunciation`` message and from the Python API)."""

    reference: str
    recognized: str | None = Field(description="what the recogniser heard (miscues compare it)")
    scores: ScoresOut
    fluency: FluencyOut
    words: list[WordScoreOut]
    miscues: list[MiscueOut]
    scorer: str = Field(description="the scorer and its weights, e.g. learned-whisper-v1+1a2b3c4d "
                        "(the digits change when the weights do; gop for the baseline)")


class PhonemeProgressOut(BaseModel):
    phone: str
    count: int = Field(description="times the phone was assessed (latest 200 assessments)")
    mean_score: float
    wrong_rate: float


class TrendOut(BaseModel):
    latest: float | None
    mean: float | None
    slope: float = Field(description="least-squares change per assessment over the recent ones")
    recent: list[float] = Field(description="the latest (up to 20) values, oldest first")


class HistoryPointOut(BaseModel):
    """One assessment of the learner's, as a point of the progress charts over time."""

    at: datetime = Field(description="when the assessment was made (UTC)")
    source: str = Field(description="`turn` (a spoken turn) or `api` "
                        "(POST /v1/pronunciation/assess)")
    accuracy: float
    fluency: float
    speech_rate_wpm: float
    phonemes: dict[str, float] = Field(description="mean score (0-100) of each phone assessed "
                                       "in this utterance (omitted words left out)")


class LearnerProgressOut(BaseModel):
    learner_id: str
    assessments: int
    sessions: int
    lessons_completed: int = Field(description="distinct lessons with a completed session")
    phonemes: list[PhonemeProgressOut]
    weakest: list[str] = Field(description="lowest smoothed mean score first")
    accuracy: TrendOut
    fluency: TrendOut
    speech_rate_wpm: TrendOut
    words_used: int = Field(description="distinct words in the learner's turns and assessed "
                            "speech: a vocabulary size estimate")
    history: list[HistoryPointOut] = Field(
        default_factory=list, description="one point per assessment, oldest first: the latest "
        "(up to 50) assessments, each with its scores and its per-phoneme mean scores")


class PracticeWordOut(BaseModel):
    word: str
    phones: list[str]
    targets: list[str] = Field(description="the weak phonemes the word contains")


class PracticeOut(BaseModel):
    learner_id: str
    weak_phonemes: list[str]
    words: list[PracticeWordOut]
    lesson: dict[str, Any] = Field(description="a drill lesson document (POST it to "
                                   "/v1/lessons to play it)")


class SpokenTurnOut(BaseModel):
    recognition: RecognitionOut
    turn: TurnOut
    pronunciation: AssessmentOut | None = Field(
        None, description="the utterance scored against the expected answer it matched (or "
        "against what was heard); null when it could not be assessed or assessment is off")


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
