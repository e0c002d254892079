"""Relational storage: SQLModel tables, async engines, migrations.

Queries live in ``server.db.repo``; this package only defines and connects.
"""

from server.db.engine import async_url, create_engine, ping, session_factory
from server.db.models import (
    SESSION_STATUSES,
    ApiKey,
    Learner,
    Lesson,
    LessonVersion,
    PlaySession,
    Tenant,
    Turn,
)
from server.db.types import UTCDateTime, new_id, utcnow

__all__ = [
    "SESSION_STATUSES",
    "ApiKey",
    "Learner",
    "Lesson",
    "LessonVersion",
    "PlaySession",
    "Tenant",
    "Turn",
    "UTCDateTime",
    "async_url",
    "create_engine",
    "new_id",
    "ping",
    "session_factory",
    "utcnow",
]
