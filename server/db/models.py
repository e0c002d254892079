"""The relational schema: tenants, keys, lessons and their versions, learners, sessions, turns.

Every table is declared here once; ``server/migrations`` must describe the same
schema (a test compares the two on SQLite and PostgreSQL). JSON columns use
plain ``sqlalchemy.JSON`` rather than JSONB so an author's document keeps its key
order on PostgreSQL. JSON values are not change-tracked: assign a new object
instead of mutating one in place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from server.db.types import UTCDateTime, new_id, utcnow

# Deterministic constraint names: SQLite batch migrations can only drop named ones.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

SESSION_STATUSES = ("active", "completed", "failed", "ended")

_ON_UPDATE = {"onupdate": utcnow}


class Tenant(SQLModel, table=True):
    """An organisation using the API; everything private belongs to one."""

    __tablename__ = "tenants"

    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiKey(SQLModel, table=True):
    """A tenant's API key. Only the SHA-256 of the key is stored; ``prefix`` is for display."""

    __tablename__ = "api_keys"

    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    prefix: str = Field(max_length=8)
    key_hash: str = Field(unique=True, index=True)
    name: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Lesson(SQLModel, table=True):
    """A lesson's identity, its editor draft and which version is live.

    ``tenant_id`` None marks a built-in lesson. ``draft`` is the editor's autosave
    and may be invalid; only ``LessonVersion`` rows are ever played.
    """

    __tablename__ = "lessons"

    id: str = Field(primary_key=True)
    tenant_id: str | None = Field(
        default=None, foreign_key="tenants.id", ondelete="CASCADE", index=True
    )
    public: bool = False
    title: str
    draft: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    draft_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    latest_version: int = 0
    published_version: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=_ON_UPDATE
    )


class LessonVersion(SQLModel, table=True):
    """One immutable, validated snapshot of a lesson; sessions pin to one."""

    __tablename__ = "lesson_versions"

    lesson_id: str = Field(foreign_key="lessons.id", ondelete="CASCADE", primary_key=True)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    document: dict[str, Any] = Field(sa_type=JSON)
    content_hash: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Learner(SQLModel, table=True):
    """A person practising, known to a tenant by the tenant's own ``external_id``."""

    __tablename__ = "learners"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        # NULLs are distinct in a UNIQUE constraint, so learners without a
        # tenant need their own partial index to stay unique.
        Index(
            "uq_learners_public_external_id",
            "external_id",
            unique=True,
            sqlite_where=text("tenant_id IS NULL"),
            postgresql_where=text("tenant_id IS NULL"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str | None = Field(default=None, foreign_key="tenants.id", ondelete="CASCADE")
    external_id: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PlaySession(SQLModel, table=True):
    """One learner playing one lesson version; the durable copy of the live state."""

    __tablename__ = "sessions"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'completed', 'failed', 'ended')", name="status"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str | None = Field(default=None, index=True)
    lesson_id: str
    lesson_version: int
    learner_id: str | None = Field(default=None, index=True)
    token_hash: str
    state: str
    attempts: int = 0
    turn_count: int = 0
    status: str = "active"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=_ON_UPDATE
    )
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Turn(SQLModel, table=True):
    """One evaluated learner turn; ``(session_id, index)`` orders and dedupes them."""

    __tablename__ = "turns"
    # The unique index leads with session_id, so it also serves lookups by session.
    __table_args__ = (UniqueConstraint("session_id", "index"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(foreign_key="sessions.id", ondelete="CASCADE")
    index: int
    text: str
    outcome: str
    expectation_id: str | None = None
    intent: str
    score: float
    state_before: str
    state_after: str
    bot_lines: list[str] = Field(default_factory=list, sa_type=JSON)
    entities: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="active", sa_column_kwargs={"server_default": "active"})
    emotion: str | None = None  # the learner's emotion, when the engine asked (a retry)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AssessmentRecord(SQLModel, table=True):
    """One utterance's pronunciation assessment, kept for the learner's progress.

    ``phones`` holds ``{phone: [count, score_sum, wrong]}`` of the utterance, so a
    learner's running accuracy per phoneme is a sum over rows, not a re-analysis.
    """

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_learner", "tenant_id", "learner_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str | None = None
    learner_id: str
    session_id: str | None = None
    source: str  # "turn" (a spoken turn) or "api" (POST /v1/pronunciation/assess)
    reference: str
    accuracy: float
    fluency: float
    completeness: float
    overall: float
    speech_rate_wpm: float
    phones: dict[str, list[float]] = Field(default_factory=dict, sa_type=JSON)
    words: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# -- text understanding (issue 7) -------------------------------------------------------

JOB_STATUSES = ("queued", "running", "succeeded", "failed")
SAMPLE_SPLITS = ("train", "test")


class NluClassifier(SQLModel, table=True):
    """A tenant's text classifier: its settings and which trained version answers."""

    __tablename__ = "nlu_classifiers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    name: str
    description: str = ""
    language: str = "en"
    algorithm: str = "fast"
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    oos_rate: float = 0.05
    threshold: float | None = None  # overrides each version's learned threshold
    gazetteers: dict[str, list[str]] = Field(default_factory=dict, sa_type=JSON)
    patterns: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    active_version: int | None = None
    latest_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=_ON_UPDATE
    )


class NluSample(SQLModel, table=True):
    """One labelled text of a classifier's training set or held-out test set."""

    __tablename__ = "nlu_samples"
    __table_args__ = (
        CheckConstraint("split IN ('train', 'test')", name="split"),
        Index("ix_nlu_samples_page", "classifier_id", "split", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    classifier_id: str = Field(foreign_key="nlu_classifiers.id", ondelete="CASCADE")
    split: str = "train"
    text: str
    label: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NluVersion(SQLModel, table=True):
    """One immutable trained model of a classifier; its files live under the artefact root."""

    __tablename__ = "nlu_versions"

    classifier_id: str = Field(
        foreign_key="nlu_classifiers.id", ondelete="CASCADE", primary_key=True
    )
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    model_id: str
    algorithm: str
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    data_hash: str
    labels: list[str] = Field(default_factory=list, sa_type=JSON)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    threshold: float
    temperature: float
    train_samples: int
    job_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NluJob(SQLModel, table=True):
    """An asynchronous training run. At most one queued or running job per classifier,
    enforced by a partial unique index, so two server processes cannot both train."""

    __tablename__ = "nlu_jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        Index(
            "uq_nlu_jobs_one_live",
            "classifier_id",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    classifier_id: str = Field(foreign_key="nlu_classifiers.id", ondelete="CASCADE",
                               index=True)
    tenant_id: str
    status: str = "queued"
    stage: str = "queued"
    progress: float = 0.0
    algorithm: str
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    version: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Faq(SQLModel, table=True):
    """A tenant's FAQ: question/answer pairs a query is matched against."""

    __tablename__ = "faqs"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", ondelete="CASCADE", index=True)
    name: str
    threshold: float | None = None
    revision: int = 0  # bumped on every change: the query index is cached per revision
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs=_ON_UPDATE
    )


class FaqPair(SQLModel, table=True):
    """One answer and the questions (paraphrases) that should find it."""

    __tablename__ = "faq_pairs"

    id: str = Field(default_factory=new_id, primary_key=True)
    faq_id: str = Field(foreign_key="faqs.id", ondelete="CASCADE", index=True)
    questions: list[str] = Field(default_factory=list, sa_type=JSON)
    answer: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
