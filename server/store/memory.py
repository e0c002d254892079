"""In-process ``SessionStore``: the embedded default for a single server process.

Everything lives in this process's memory, so locks and pub/sub reach only the
tasks of this process; use ``RedisStore`` when several processes serve sessions.
Values are kept as JSON text so callers get copies, exactly as with Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from server.store.base import LockTimeout, SessionStore, Subscription

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000  # per subscriber; the oldest message is dropped beyond it
_SWEEP_EVERY_S = 60.0


@dataclass
class _LockEntry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # holders + waiters; the entry is dropped when it reaches 0


class _MemorySubscription(Subscription):
    def __init__(self, hub: dict[str, weakref.WeakSet[_MemorySubscription]], channel: str):
        super().__init__(channel)
        self._hub = hub
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=QUEUE_SIZE)

    def deliver(self, payload: str | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            log.warning("subscriber on %r is slow: dropped its oldest message", self.channel)
        self._queue.put_nowait(payload)

    async def _subscribe(self) -> None:
        # A weak set: a subscription dropped without aclose() stops receiving once collected.
        self._hub.setdefault(self.channel, weakref.WeakSet()).add(self)

    async def _receive(self) -> dict[str, Any]:
        payload = await self._queue.get()
        if payload is None:  # closed, possibly by another task
            raise StopAsyncIteration
        return json.loads(payload)

    async def _unsubscribe(self) -> None:
        subscribers = self._hub.get(self.channel)
        if subscribers is not None:
            subscribers.discard(self)
            if not subscribers:
                del self._hub[self.channel]
        self.deliver(None)  # wake a reader blocked in _receive


class MemoryStore(SessionStore):
    """Dict-backed store with TTLs, per-session ``asyncio.Lock`` and queue fan-out."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, float | None]] = {}  # id -> (JSON, deadline)
        self._locks: dict[str, _LockEntry] = {}
        self._hub: dict[str, weakref.WeakSet[_MemorySubscription]] = {}
        self._windows: dict[str, tuple[int, int, int]] = {}  # key -> (window_s, bucket, n)
        self._last_sweep = clock()

    async def get(self, session_id: str) -> dict[str, Any] | None:
        item = self._data.get(session_id)
        if item is None:
            return None
        payload, deadline = item
        if deadline is not None and deadline <= self._clock():
            del self._data[session_id]
            return None
        return json.loads(payload)

    async def set(self, session_id: str, state: dict[str, Any], ttl_s: int | None = None) -> None:
        deadline = None if ttl_s is None else self._clock() + ttl_s
        self._data[session_id] = (json.dumps(state), deadline)

    async def delete(self, session_id: str) -> None:
        self._data.pop(session_id, None)

    @asynccontextmanager
    async def lock(self, session_id: str, timeout_s: float = 10.0) -> AsyncIterator[None]:
        entry = self._locks.setdefault(session_id, _LockEntry())
        entry.users += 1
        try:
            try:
                async with asyncio.timeout(timeout_s):
                    await entry.lock.acquire()
            except TimeoutError:
                raise LockTimeout(f"session {session_id} is busy with another turn") from None
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._locks.pop(session_id, None)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        payload = json.dumps(message)
        for subscriber in list(self._hub.get(channel, ())):
            subscriber.deliver(payload)

    def subscribe(self, channel: str) -> Subscription:
        return _MemorySubscription(self._hub, channel)

    async def incr_window(self, key: str, window_s: int) -> int:
        now = self._clock()
        self._sweep_windows(now)
        bucket = int(now // window_s)
        _, old_bucket, count = self._windows.get(key, (window_s, bucket, 0))
        count = count + 1 if old_bucket == bucket else 1
        self._windows[key] = (window_s, bucket, count)
        return count

    def _sweep_windows(self, now: float) -> None:
        """Drop counters of past windows now and then, so one-off keys do not pile up."""
        if now - self._last_sweep < _SWEEP_EVERY_S:
            return
        self._last_sweep = now
        self._windows = {k: v for k, v in self._windows.items() if v[1] >= int(now // v[0])}

    async def count_active(self) -> int:
        now = self._clock()
        expired = [k for k, (_, d) in self._data.items() if d is not None and d <= now]
        for key in expired:
            del self._data[key]
        return len(self._data)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for subscribers in list(self._hub.values()):
            for subscriber in list(subscribers):
                await subscriber.aclose()
        self._data.clear()
        self._windows.clear()
