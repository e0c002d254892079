"""HTTP routes; importing this package registers them all in ``api``."""

from server.routes import admin, learners, lessons, pronunciation, sessions, system  # noqa: F401  (registration)
from server.routes._api import api

__all__ = ["api"]
