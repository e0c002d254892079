"""Redis-backed ``SessionStore``: several server processes share sessions, locks and limits.

Key layout under ``prefix`` (default ``parley:``)::

    session:<id>        JSON state, SET ... EX ttl
    active              sorted set id -> expiry time (inf when no ttl); O(log n) count
    lock:<id>           redis-py Lock token, leased and renewed while held
    rate:<key>:<bucket> fixed-window counter, INCR + EXPIRE
    <channel>           pub/sub channel names carry the prefix too
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.lock import Lock
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.store.base import LockTimeout, SessionStore, StoreError, StoreUnavailable, Subscription

log = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT_S = 5.0
_POLL_S = 1.0  # a reader wakes this often to notice it was closed


def _store_error(exc: BaseException) -> StoreError:
    if isinstance(exc, RedisConnectionError | RedisTimeoutError | OSError | TimeoutError):
        return StoreUnavailable(f"redis unavailable: {exc!r}")
    return StoreError(f"redis error: {exc!r}")


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn redis-py errors into the store's own, so the server maps them to 503."""
    try:
        yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise _store_error(exc) from exc


class _RedisSubscription(Subscription):
    def __init__(self, client: aioredis.Redis, name: str, channel: str) -> None:
        super().__init__(channel)
        self._client = client
        self._name = name  # the prefixed channel
        self._pubsub: PubSub | None = None

    async def _subscribe(self) -> None:
        self._pubsub = self._client.pubsub()
        with _errors():
            await self._pubsub.subscribe(self._name)
            # Wait for the server's confirmation: only then is a later PUBLISH seen.
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
                while True:
                    msg = await self._pubsub.get_message(timeout=_POLL_S)
                    if msg is not None and msg["type"] == "subscribe":
                        return

    async def _receive(self) -> dict[str, Any]:
        assert self._pubsub is not None
        while not self._closed:
            try:
                msg = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=_POLL_S
                )
            except (RedisError, OSError) as exc:
                if self._closed:  # aclose() from another task tore the connection down
                    break
                raise _store_error(exc) from exc
            if msg is not None and msg["type"] == "message":
                return json.loads(msg["data"])
        raise StopAsyncIteration

    async def _unsubscribe(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(self._name)
            await self._pubsub.aclose()


class RedisStore(SessionStore):
    """``SessionStore`` on Redis (``redis.asyncio``); values are JSON strings."""

    def __init__(
        self,
        url: str,
        prefix: str = "parley:",
        *,
        lock_lease_s: float = 20.0,
        lock_poll_s: float = 0.02,
        socket_timeout_s: float = 5.0,
    ) -> None:
        self.prefix = prefix
        self._lease_s = lock_lease_s
        self._poll_s = lock_poll_s
        self._client = aioredis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=socket_timeout_s,
            socket_timeout=socket_timeout_s,
            health_check_interval=30,
        )
        self._active = self._key("active")

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def get(self, session_id: str) -> dict[str, Any] | None:
        with _errors():
            payload = await self._client.get(self._key("session", session_id))
        return None if payload is None else json.loads(payload)

    async def set(self, session_id: str, state: dict[str, Any], ttl_s: int | None = None) -> None:
        payload = json.dumps(state)
        deadline = math.inf if ttl_s is None else time.time() + ttl_s
        with _errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(self._key("session", session_id), payload, ex=ttl_s)
                pipe.zadd(self._active, {session_id: deadline})
                await pipe.execute()

    async def delete(self, session_id: str) -> None:
        with _errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(self._key("session", session_id))
                pipe.zrem(self._active, session_id)
                await pipe.execute()

    @asynccontextmanager
    async def lock(self, session_id: str, timeout_s: float = 10.0) -> AsyncIterator[None]:
        """A leased Redis lock, renewed in the background while the turn runs.

        The lease lets a lock held by a crashed process expire on its own; the
        renewal keeps a long turn from losing it.
        """
        lock = Lock(
            self._client,
            self._key("lock", session_id),
            timeout=self._lease_s,
            sleep=self._poll_s,
            blocking_timeout=timeout_s,
            thread_local=False,
        )
        with _errors():
            acquired = await lock.acquire()
        if not acquired:
            raise LockTimeout(f"session {session_id} is busy with another turn")
        renew = asyncio.create_task(self._renew(lock), name=f"lock-renew:{session_id}")
        try:
            yield
        finally:
            renew.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renew
            try:
                await lock.release()
            except LockError:
                log.warning("lock of session %s expired before release", session_id)
            except (RedisError, OSError):
                log.warning(
                    "could not release lock of session %s; its lease will expire", session_id
                )

    async def _renew(self, lock: Lock) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await lock.reacquire()
            except (RedisError, OSError) as exc:
                log.warning("could not renew lock %s: %s", lock.name, exc)

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        with _errors():
            await self._client.publish(self._key(channel), json.dumps(message))

    def subscribe(self, channel: str) -> Subscription:
        return _RedisSubscription(self._client, self._key(channel), channel)

    async def incr_window(self, key: str, window_s: int) -> int:
        bucket = int(time.time() // window_s)
        name = self._key("rate", key, str(bucket))
        with _errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_s + 1)  # +1 s: tolerate clock skew between processes
                count, _ = await pipe.execute()
        return int(count)

    async def count_active(self) -> int:
        with _errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(self._active, "-inf", time.time())
                pipe.zcard(self._active)
                _, count = await pipe.execute()
        return int(count)

    async def ping(self) -> None:
        with _errors():
            await self._client.ping()

    async def close(self) -> None:
        await self._client.aclose()
