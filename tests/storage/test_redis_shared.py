"""Two ``RedisStore`` instances stand in for two server processes sharing one Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.lock import Lock

from server.store import LockTimeout
from server.store.redis import RedisStore

pytestmark = pytest.mark.redis


@pytest.fixture
async def pair(redis_url: str, redis_prefix: str) -> AsyncIterator[tuple[RedisStore, RedisStore]]:
    first, second = (RedisStore(redis_url, prefix=redis_prefix, lock_lease_s=0.6) for _ in "12")
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_redis_second_process_sees_session(pair: tuple[RedisStore, RedisStore]) -> None:
    first, second = pair
    await first.set("s1", {"state": "pay"}, ttl_s=60)
    assert await second.get("s1") == {"state": "pay"}
    assert await second.count_active() == 1
    await second.delete("s1")
    assert await first.get("s1") is None and await first.count_active() == 0


async def test_redis_second_process_waits_for_lock(pair: tuple[RedisStore, RedisStore]) -> None:
    first, second = pair
    async with first.lock("s1"):
        await asyncio.sleep(1.0)  # longer than the 0.6 s lease: renewal keeps it held
        with pytest.raises(LockTimeout):
            async with second.lock("s1", timeout_s=0.2):
                pytest.fail("two processes held one session's lock")
    async with second.lock("s1", timeout_s=1.0):
        pass


async def test_redis_lock_of_crashed_process_expires(pair: tuple[RedisStore, RedisStore]) -> None:
    first, second = pair
    # A holder that dies without releasing: its lease is all that is left.
    orphan = Lock(first._client, f"{first.prefix}lock:s1", timeout=0.3, thread_local=False)
    assert await orphan.acquire(blocking=False)
    async with second.lock("s1", timeout_s=2.0):
        pass


async def test_redis_pubsub_and_windows_cross_processes(
    pair: tuple[RedisStore, RedisStore],
) -> None:
    first, second = pair
    async with asyncio.timeout(5), second.subscribe("events") as sub:
        await first.publish("events", {"turn": 1})
        assert await anext(sub) == {"turn": 1}
    now = time.time()
    await asyncio.sleep(int(now) + 1 - now + 0.02)  # start at the beginning of a 1 s window
    counts = [await store.incr_window("tenant:acme", 1) for store in (first, second, first)]
    assert counts == [1, 2, 3]  # one counter shared by both processes
