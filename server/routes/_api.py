"""The endpoint table every route module registers into."""

from server.api import Api

api = Api(
    title="Parley",
    version="0.1.0",
    description="Spoken-English role-play practice: lessons, sessions and turns. "
    "The WebSocket protocol is documented in the README.",
)
