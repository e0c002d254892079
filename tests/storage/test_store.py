"""The same behaviour from ``MemoryStore`` and from ``RedisStore`` on a real Redis."""

from __future__ import annotations

import asyncio
import pickle
import time

import pytest

from server.store import (
    LockTimeout,
    MemoryStore,
    SessionStore,
    StoreError,
    StoreUnavailable,
    create_store,
)
from server.store.redis import RedisStore

STATE = {"state": "order", "attempts": 2, "vars": {"drink": "tea", "n": [1, 2.5, None]}}


async def _sleep_to_next_second() -> None:
    now = time.time()
    await asyncio.sleep(int(now) + 1 - now + 0.02)


async def test_get_set_delete(store: SessionStore) -> None:
    assert await store.get("s1") is None
    await store.set("s1", STATE)
    got = await store.get("s1")
    assert got == STATE
    got["state"] = "mutated"  # a copy: the stored state is untouched
    assert (await store.get("s1"))["state"] == "order"

    await store.set("s1", {**STATE, "attempts": 3})
    assert (await store.get("s1"))["attempts"] == 3
    await store.delete("s1")
    await store.delete("s1")  # deleting twice is fine
    assert await store.get("s1") is None


async def test_ttl_expiry_and_count_active(store: SessionStore) -> None:
    assert await store.count_active() == 0
    await store.set("keep", STATE)
    await store.set("short", STATE, ttl_s=1)
    await store.set("gone", STATE, ttl_s=60)
    await store.delete("gone")
    assert await store.count_active() == 2

    await asyncio.sleep(1.15)
    assert await store.get("short") is None
    assert await store.get("keep") == STATE
    assert await store.count_active() == 1

    await store.set("keep", STATE, ttl_s=1)  # a ttl can be added later
    await asyncio.sleep(1.15)
    assert await store.count_active() == 0


async def test_lock_serialises(store: SessionStore) -> None:
    events: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock("s1"):
            events.append(f"{name}+")
            await asyncio.sleep(0.05)
            events.append(f"{name}-")

    await asyncio.gather(turn("a"), turn("b"), turn("c"))
    assert len(events) == 6
    for i in range(0, 6, 2):  # each turn ran to its end before the next began
        assert events[i][0] == events[i + 1][0] and events[i].endswith("+")


async def test_lock_is_per_session(store: SessionStore) -> None:
    async with store.lock("s1"), store.lock("s2", timeout_s=0.5):
        pass


async def test_lock_timeout(store: SessionStore) -> None:
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.lock("s1"):
            holding.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await holding.wait()
    with pytest.raises(LockTimeout) as info:
        async with store.lock("s1", timeout_s=0.2):
            pytest.fail("entered a lock that another turn holds")
    assert (info.value.status, info.value.code) == (409, "session_busy")
    release.set()
    await task
    async with store.lock("s1", timeout_s=1.0):  # free again once released
        pass


async def test_lock_released_on_error(store: SessionStore) -> None:
    with pytest.raises(ValueError):
        async with store.lock("s1"):
            raise ValueError("turn failed")
    async with store.lock("s1", timeout_s=0.5):
        pass


async def test_pubsub_delivers(store: SessionStore) -> None:
    async with asyncio.timeout(5):
        async with store.subscribe("lesson:cafe") as sub, store.subscribe("other") as other:
            await store.publish("lesson:cafe", {"n": 1, "text": "héllo"})
            await store.publish("lesson:cafe", {"n": 2})
            await store.publish("other", {"n": "x"})
            assert await anext(sub) == {"n": 1, "text": "héllo"}
            assert await anext(sub) == {"n": 2}
            assert await anext(other) == {"n": "x"}
        with pytest.raises(StopAsyncIteration):  # closed when the block ends
            await anext(sub)


async def test_pubsub_fan_out_and_cancel(store: SessionStore) -> None:
    received: dict[str, list[dict]] = {"a": [], "b": []}

    async def listen(name: str) -> None:
        async for message in store.subscribe("room"):  # subscribes lazily
            received[name].append(message)

    tasks = [asyncio.create_task(listen(n)) for n in received]
    async with asyncio.timeout(5):  # publish until both lazy subscribers are in
        while not all(received.values()):
            await store.publish("room", {"hello": True})
            await asyncio.sleep(0.02)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await _subscribers(store, "room") == 0  # cancelling unsubscribed


async def _subscribers(store: SessionStore, channel: str) -> int:
    if isinstance(store, RedisStore):
        counts = await store._client.pubsub_numsub(store.prefix + channel)
        return int(counts[0][1])
    assert isinstance(store, MemoryStore)
    return len(store._hub.get(channel, ()))


async def test_incr_window_counts_and_resets(store: SessionStore) -> None:
    await _sleep_to_next_second()  # start at the beginning of a 1 s window
    assert [await store.incr_window("ip:1", 1) for _ in range(3)] == [1, 2, 3]
    assert await store.incr_window("ip:2", 1) == 1  # keys count independently
    await _sleep_to_next_second()
    assert await store.incr_window("ip:1", 1) == 1  # a new window starts at 1


async def test_ping(store: SessionStore) -> None:
    await store.ping()


async def test_redis_down_raises_store_unavailable() -> None:
    down = RedisStore("redis://127.0.0.1:1/0", socket_timeout_s=1)  # nothing listens on port 1
    try:
        with pytest.raises(StoreUnavailable) as info:
            await down.ping()
        assert (info.value.status, info.value.code) == (503, "store_unavailable")
        with pytest.raises(StoreUnavailable):
            await down.get("s1")
    finally:
        await down.close()


def test_errors_keep_their_arguments() -> None:
    for exc in (StoreError("x"), StoreUnavailable("down"), LockTimeout("busy", "s1")):
        clone = pickle.loads(pickle.dumps(exc))
        assert type(clone) is type(exc) and clone.args == exc.args
    assert issubclass(LockTimeout, StoreError) and issubclass(StoreUnavailable, StoreError)


async def test_create_store() -> None:
    assert isinstance(create_store(None), MemoryStore)
    assert isinstance(create_store(""), MemoryStore)
    assert isinstance(create_store("memory://"), MemoryStore)
    red = create_store("redis://127.0.0.1:6379/0")
    assert isinstance(red, RedisStore)
    await red.close()
