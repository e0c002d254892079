"""JSON logs with a request id, and Prometheus metrics, wired by one ASGI middleware."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
log = logging.getLogger("parley.access")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """One JSON object per line on stderr, each carrying the current request id."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "asctime": "time", "name": "logger"},
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs requests


class Metrics:
    """The server's Prometheus series, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes and friends
        self.requests = Counter(
            "parley_http_requests", "HTTP requests", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "parley_http_request_duration_seconds", "HTTP request latency",
            ["method", "route"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.websockets = Gauge(
            "parley_websockets_open", "open WebSocket connections", registry=self.registry
        )
        self.sessions = Gauge(
            "parley_sessions_active", "play sessions held live by this process's store",
            registry=self.registry,
        )
        self.turns = Histogram(
            "parley_turn_duration_seconds", "learner turn latency, receive to reply",
            ["transport", "outcome"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.model_calls = Histogram(
            "parley_model_call_duration_seconds", "model calls seen from the web tier",
            ["model", "status"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )

    def observe_model_call(self, model: str, status: str, seconds: float) -> None:
        """The serving client's observer: every model call, its outcome and latency."""
        self.model_calls.labels(model, status).observe(seconds)


class ObservabilityMiddleware:
    """Request id in and out, one access log line, per-route counters and latency.

    Routes label themselves by writing their path template into
    ``scope["parley.route"]`` so label cardinality stays bounded.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        start = time.perf_counter()
        status = 500 if scope["type"] == "http" else 101

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("parley.route", "unmatched")
            method = scope.get("method", "WS")
            if scope["type"] == "http":
                self.metrics.requests.labels(method, route, str(status)).inc()
                self.metrics.latency.labels(method, route).observe(elapsed)
            log.info(
                "request",
                extra={"method": method, "path": scope.get("path"), "route": route,
                       "status": status, "ms": round(elapsed * 1000, 2)},
            )
            request_id.reset(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")[:64]
            return text if text.isprintable() and text else None
    return None
