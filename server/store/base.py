"""The live-state interface shared by the in-process and the Redis store.

Live session state, turn locks, pub/sub and rate-limit counters go through
``SessionStore`` so a single process can run on ``MemoryStore`` and several
processes can share one Redis without any caller changing. Values are JSON
documents in both implementations: what a caller gets back is always a copy.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any


class StoreError(Exception):
    """Root of the store's errors; the server maps ``status`` and ``code`` to a response."""

    status: int = 503
    code: str = "store_unavailable"

    def __init__(self, message: str = "session store unavailable", *args: Any) -> None:
        super().__init__(message, *args)


class StoreUnavailable(StoreError):
    """The backing service did not answer (Redis down, connection refused, timeout)."""


class LockTimeout(StoreError):
    """Another turn of the same session still holds the session's lock."""

    status = 409
    code = "session_busy"

    def __init__(self, message: str = "session is busy with another turn", *args: Any) -> None:
        super().__init__(message, *args)


class Subscription(ABC, AsyncIterator[dict[str, Any]]):
    """Messages published on one channel, in order.

    Iterating subscribes lazily on the first ``__anext__``. To be sure to see a
    message published right after subscribing, subscribe first::

        async with store.subscribe("lesson:42") as sub:   # subscribed here
            await store.publish("lesson:42", {...})
            message = await anext(sub)

    Cancelling a task that waits in ``__anext__``, leaving the ``async with``, or
    ``aclose()`` unsubscribes.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._started = False
        self._closed = False

    @abstractmethod
    async def _subscribe(self) -> None: ...

    @abstractmethod
    async def _receive(self) -> dict[str, Any]: ...

    @abstractmethod
    async def _unsubscribe(self) -> None: ...

    async def start(self) -> Subscription:
        """Subscribe now (idempotent)."""
        if self._closed:
            raise RuntimeError(f"subscription to {self.channel!r} is closed")
        if not self._started:
            self._started = True
            await self._subscribe()
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._closed:
            raise StopAsyncIteration
        try:
            await self.start()
            return await self._receive()
        except asyncio.CancelledError:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Unsubscribe; further iteration stops."""
        if self._closed:
            return
        self._closed = True
        if self._started:
            await self._unsubscribe()

    async def __aenter__(self) -> Subscription:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class SessionStore(ABC):
    """Live session state and coordination primitives, local or shared across processes."""

    @abstractmethod
    async def get(self, session_id: str) -> dict[str, Any] | None:
        """The session's state, or None when absent or expired."""

    @abstractmethod
    async def set(self, session_id: str, state: dict[str, Any], ttl_s: int | None = None) -> None:
        """Store the state; ``ttl_s`` (whole seconds) makes it expire, None keeps it."""

    @abstractmethod
    async def delete(self, session_id: str) -> None:
        """Forget the session (no error when absent)."""

    @abstractmethod
    def lock(self, session_id: str, timeout_s: float = 10.0) -> AbstractAsyncContextManager[None]:
        """Hold the session's lock so its turns run one at a time.

        Raises ``LockTimeout`` when the lock is not free within ``timeout_s``.
        """

    @abstractmethod
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` to every current subscriber of ``channel``."""

    @abstractmethod
    def subscribe(self, channel: str) -> Subscription:
        """Messages published on ``channel`` from now on (see ``Subscription``)."""

    @abstractmethod
    async def incr_window(self, key: str, window_s: int) -> int:
        """Count one hit in the current fixed window of ``window_s`` seconds; return the count.

        Windows are aligned to the wall clock (``floor(time / window_s)``), so every
        process sharing a store counts into the same window.
        """

    @abstractmethod
    async def count_active(self) -> int:
        """Number of sessions currently held (expired ones excluded)."""

    @abstractmethod
    async def ping(self) -> None:
        """Return when the store answers; raise ``StoreUnavailable`` otherwise."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
