"""HTTP routes; importing this package registers them all in ``api``."""

from server.routes import (  # noqa: F401  (registration)
    admin,
    learners,
    lessons,
    nlu,
    nlu_tools,
    pronunciation,
    sessions,
    speech,
    system,
)
from server.routes._api import api

__all__ = ["api"]
