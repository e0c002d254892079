"""Typed settings read once from the environment (the README's configuration table)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the web tier; the model tier reads its own file (serving/serving.yaml)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///./parley.db",
        validation_alias="DATABASE_URL",
        description="SQLAlchemy URL; sqlite:// or postgresql:// are rewritten to async drivers",
    )
    redis_url: str | None = Field(
        None, validation_alias="REDIS_URL", description="Redis for shared session state"
    )
    redis_prefix: str = Field("parley:", description="namespace of every Redis key")
    admin_key: str | None = Field(None, description="key that may create tenants and API keys")
    host: str = "127.0.0.1"
    port: int = 8000
    serving: Literal["local", "ray"] = Field(
        "ray", description="model backend: Ray Serve (local cluster or RAY_ADDRESS) or in-process")
    log_level: str = "INFO"
    match_threshold: float | None = Field(None, description="override the dialog match threshold")
    max_message_bytes: int = Field(16 * 1024, description="largest JSON WebSocket message")
    max_body_bytes: int = Field(1024 * 1024, description="largest HTTP request body")
    session_ttl_s: int = Field(24 * 3600, description="how long an idle live session is kept")
    turn_rate_per_min: int = Field(120, description="text turns one session may send per minute")
    vad: Literal["silero", "webrtc"] = Field(
        "silero", description="voice-activity detector of spoken turns (both run offline)")
    trailing_silence_ms: int = Field(
        900, ge=200, le=5000, description="silence that ends a spoken turn (push-to-talk "
        "clients send audio_end instead)")
    max_utterance_s: float = Field(30.0, gt=0, le=120, description="longest spoken turn")
    audio_burst_s: float = Field(
        3.0, gt=0, description="how far ahead of real time a client may stream before "
        "audio_too_fast")
    partial_interval_ms: int = Field(
        1000, ge=100, description="new speech between two partial transcripts")
    max_audio_upload_bytes: int = Field(
        8 * 1024 * 1024, description="largest WAV upload of an HTTP spoken turn")
    pronunciation: bool = Field(
        True, description="score every spoken turn phone by phone (the pronunciation family)")
    emotion: bool = Field(
        True, description="after a turn that did not move on, sense the learner's emotion; a "
        "frustrated learner hears an encouraging line first")
    lesson_classifier: bool = Field(
        True, description="train a text classifier for each published lesson version in the "
        "background and blend it with the keyword and embedding matcher once it is ready")
    max_import_bytes: int = Field(
        32 * 1024 * 1024, description="largest JSON-lines body of a sample import")
    seed_builtin: bool = Field(True, description="seed the built-in lessons at start-up")
    migrate_on_start: bool = Field(True, description="run Alembic upgrade at start-up")
