"""MicroBatcher: batches grow under load instead of queueing many small ones."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from serving.batching import MicroBatcher


async def test_items_that_arrive_during_a_batch_leave_together():
    gate = threading.Event()

    def slow_double(items: list[int]) -> list[int]:
        gate.wait(5)
        return [2 * i for i in items]

    with ThreadPoolExecutor(1) as pool:
        batcher = MicroBatcher(slow_double, pool, max_batch=64, wait_s=0.001)
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.05)  # the first batch is now running (and blocked)
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(1, 21)]
        await asyncio.sleep(0.05)
        assert batcher.batches == 1  # nothing else started while the model was busy
        gate.set()
        assert await first == 0
        assert await asyncio.gather(*rest) == [2 * i for i in range(1, 21)]
    assert list(batcher.sizes) == [1, 20]


async def test_max_batch_splits_a_backlog_and_errors_reach_every_caller():
    calls: list[int] = []

    async def remote(items: list[str]) -> list[str]:
        calls.append(len(items))
        if "bad" in items:
            raise ValueError("bad item")
        await asyncio.sleep(0.01)
        return [s.upper() for s in items]

    batcher = MicroBatcher(remote, None, max_batch=4, wait_s=0.001, max_inflight=2)
    out = await asyncio.gather(*(batcher.submit(f"t{i}") for i in range(10)))
    assert out == [f"T{i}" for i in range(10)]
    assert max(calls) <= 4 and sum(calls) == 10
    results = await asyncio.gather(batcher.submit("bad"), batcher.submit("x"),
                                   return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
