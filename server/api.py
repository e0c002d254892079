"""Declared endpoints: one table drives routing, body validation, auth and OpenAPI.

A handler is registered with the pydantic models of its body and response;
the same models validate requests and generate ``/openapi.json``, so the
document can't drift from the code.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.auth import Principal, authenticate
from server.errors import ApiError, problem

Auth = Literal["public", "optional", "tenant", "admin"]


@dataclass
class Call:
    """What a handler gets: the request, its validated body and who is calling."""

    request: Request
    body: Any
    principal: Principal
    params: dict[str, str]

    @property
    def services(self) -> Any:
        return self.request.app.state.services


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    auth: Auth
    body: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    query: dict[str, str] = field(default_factory=dict)


class Api:
    """A registry of endpoints; ``routes()`` gives Starlette routes, ``openapi()`` the spec."""

    def __init__(self, title: str, version: str, description: str = "") -> None:
        self.title, self.version, self.description = title, version, description
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        auth: Auth = "tenant",
        body: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        errors: tuple[int, ...] = (),
        query: dict[str, str] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method, path, handler, summary, tag, auth, body, response, status,
                         errors, query or {})
            )
            return handler

        return register

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Endpoint]] = {}
        for ep in self.endpoints:
            by_path.setdefault(ep.path, {})[ep.method] = ep
        return [Route(path, _dispatcher(path, eps), methods=list(eps)) for path, eps in
                by_path.items()]

    def openapi(self) -> dict[str, Any]:
        from server.openapi import build_document

        return build_document(self)


def _dispatcher(
    path: str, endpoints: dict[str, Endpoint]
) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        request.scope["parley.route"] = path
        ep = endpoints[request.method if request.method != "HEAD" else "GET"]
        try:
            principal = await authenticate(request, ep.auth)
            body = await _parse_body(request, ep) if ep.body is not None else None
            result = await ep.handler(Call(request, body, principal, dict(request.path_params)))
        except Exception as exc:  # every package's errors leave in the one shape
            status, problem_body = problem(exc)
            return JSONResponse(problem_body, status_code=status)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=204 if ep.status == 200 else ep.status)
        return JSONResponse(_dump(result, ep.response), status_code=ep.status)

    return dispatch


async def _parse_body(request: Request, ep: Endpoint) -> BaseModel:
    limit = request.app.state.services.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(f"request body over {limit} bytes", status=413, code="payload_too_large")
    raw = await request.body()
    if len(raw) > limit:
        raise ApiError(f"request body over {limit} bytes", status=413, code="payload_too_large")
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype not in ("application/json", ""):
        raise ApiError("send application/json", status=415, code="unsupported_media_type")
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(f"malformed JSON: {exc}", code="malformed_json") from exc
    assert ep.body is not None
    return ep.body.model_validate(data)


_adapters: dict[Any, TypeAdapter[Any]] = {}


def _dump(result: Any, response_type: Any) -> Any:
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if response_type is None:
        return result
    adapter = _adapters.get(response_type)
    if adapter is None:
        adapter = _adapters[response_type] = TypeAdapter(response_type)
    return adapter.dump_python(adapter.validate_python(result), mode="json")
