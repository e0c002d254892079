"""The ASGI application: routes, middleware, error mapping, and one lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from server.errors import handle_exception
from server.observability import Metrics, ObservabilityMiddleware
from server.routes import api
from server.services import Services, build_services
from server.settings import Settings
from server.ws import ROUTE as WS_ROUTE
from server.ws import stream
from serving.base import ModelClient

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


def create_app(settings: Settings | None = None, models: ModelClient | None = None) -> Starlette:
    """Build the app; services start in the lifespan so tests and uvicorn share one path."""
    settings = settings or Settings()
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services: Services = await build_services(settings, models, metrics)
        app.state.services = services
        try:
            yield
        finally:
            await services.close()

    routes = [
        *api.routes(),
        WebSocketRoute(WS_ROUTE, stream),
        Route("/", lambda request: RedirectResponse("/static/index.html")),
        Mount("/static", StaticFiles(directory=STATIC_DIR, html=True), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(ObservabilityMiddleware, metrics=metrics)],
        exception_handlers={Exception: handle_exception, HTTPException: handle_exception},
        lifespan=lifespan,
    )
