"""Liveness, readiness, metrics and the API document."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import HTMLResponse, JSONResponse, Response

from server.api import Call
from server.db.engine import ping
from server.routes._api import api
from server.schemas import ReadyOut

_CHECK_TIMEOUT_S = 2.0
_DOCS_PAGE = Path(__file__).resolve().parents[2] / "static" / "docs.html"


@api.route("GET", "/health", summary="The process is alive", tag="system", auth="public",
           response=dict[str, str])
async def health(call: Call) -> dict[str, str]:
    return {"status": "ok"}


@api.route("GET", "/ready", summary="Database, session store and models reachable",
           tag="system", auth="public", response=ReadyOut, errors=(503,))
async def ready(call: Call) -> Response:
    services = call.services
    checks: dict[str, str] = {}

    async def probe(name: str, coro) -> None:
        try:
            result = await asyncio.wait_for(coro, _CHECK_TIMEOUT_S)
        except Exception as exc:  # a failing dependency is the answer, not an error
            checks[name] = f"{type(exc).__name__}: {exc}"[:200]
            return
        if isinstance(result, dict):
            for model, status in result.items():
                checks[f"models.{model}"] = status
        else:
            checks[name] = "ok"

    await asyncio.gather(probe("database", ping(services.engine)),
                         probe("store", services.store.ping()),
                         probe("models", services.models.health()))
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(ReadyOut(ready=ok, checks=checks).model_dump(),
                        status_code=200 if ok else 503)


@api.route("GET", "/metrics", summary="Prometheus metrics", tag="system", auth="public")
async def metrics(call: Call) -> Response:
    services = call.services
    services.metrics.sessions.set(await services.store.count_active())
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@api.route("GET", "/openapi.json", summary="This document", tag="system", auth="public")
async def openapi(call: Call) -> Response:
    return JSONResponse(api.openapi())


@api.route("GET", "/docs", summary="The API document, rendered", tag="system", auth="public")
async def docs(call: Call) -> Response:
    return HTMLResponse(_DOCS_PAGE.read_text())
