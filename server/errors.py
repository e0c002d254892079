"""The one error shape, and the one place every package's errors become HTTP answers.

Each package has its own exception root carrying ``status`` and ``code`` class
attributes (``dialog.errors.DialogError``, ``server.store.base.StoreError``…);
``problem()`` maps any of them, plus pydantic and Starlette errors, to
``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

log = logging.getLogger("parley.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    """An error raised by the web layer itself."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message, status, code)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class NotFound(ApiError):
    status, code = 404, "not_found"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class Conflict(ApiError):
    status, code = 409, "conflict"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


def pydantic_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg')}")
    return "; ".join(parts)


def problem(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """Map an exception to (status, error body); unknown exceptions are a logged 500."""
    if isinstance(exc, ApiError):
        return exc.status, _body(exc.code, exc.message)
    if isinstance(exc, ValidationError):
        return 422, _body("invalid_request", pydantic_message(exc))
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "error")
        return exc.status_code, _body(code, str(exc.detail))
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    if isinstance(status, int) and isinstance(code, str):
        message = str(exc.args[0]) if exc.args else code
        return status, _body(code, message)
    log.exception("unhandled error", exc_info=exc)
    return 500, _body("internal", "internal server error")


def _body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


async def handle_exception(request: Request, exc: Exception) -> JSONResponse:
    status, body = problem(exc)
    return JSONResponse(body, status_code=status)
