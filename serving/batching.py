"""Micro-batching for in-process models: concurrent callers share one forward pass.

A sentence encoder on a CPU costs nearly the same for one short text as for a
dozen, so under load it pays to wait a millisecond or two and run them together.
Ray Serve's ``@serve.batch`` plays this role inside replicas.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Collects items for up to ``wait_s`` (or ``max_batch`` items) and runs ``fn`` once.

    ``fn`` is either synchronous, run in ``executor`` (model work in-process), or a
    coroutine function when ``executor`` is None (one remote call for many callers).

    At most ``max_inflight`` batches run at once (default: 1 with an executor,
    whose single model thread would only queue a second one). Items that arrive
    meanwhile wait and leave together as soon as a batch finishes, so under load
    batches grow to ``max_batch`` instead of the model working through many
    small ones, and a quiet server still answers after ``wait_s``.
    """

    def __init__(self, fn: Callable[[list[T]], Sequence[R]]
                 | Callable[[list[T]], Awaitable[Sequence[R]]],
                 executor: Executor | None, max_batch: int = 32, wait_s: float = 0.002,
                 max_inflight: int | None = None) -> None:
        self._fn, self._executor = fn, executor
        self.max_batch, self._wait_s = max_batch, wait_s
        self.max_inflight = max_inflight or (1 if executor is not None else 8)
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self.batches = 0  # how many batches ran (tests and metrics read it)
        self.sizes: deque[int] = deque(maxlen=1000)  # the latest batch sizes

    async def submit(self, item: T) -> R:
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if len(self._running) >= self.max_inflight:
            pass  # the batch that finishes next takes it along
        elif len(self._pending) >= self.max_batch:
            self._flush_now()
        elif self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_later())
        return await fut

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._wait_s)
        self._flusher = None
        self._flush_now()

    def _flush_now(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        while self._pending and len(self._running) < self.max_inflight:
            batch = self._pending[:self.max_batch]
            del self._pending[:self.max_batch]
            batch = [(item, fut) for item, fut in batch if not fut.done()]  # cancelled callers
            if batch:
                task = asyncio.create_task(self._run(batch))
                self._running.add(task)  # the loop keeps only weak references to tasks
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending:
            self._flush_now()

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in batch]
        self.batches += 1
        self.sizes.append(len(items))
        try:
            if self._executor is None:
                results = await self._fn(items)  # type: ignore[misc]
            else:
                loop = asyncio.get_running_loop()
                results = await loop.run_in_executor(self._executor, self._fn, items)
        except asyncio.CancelledError:  # shutting down: nobody waits forever
            for _, fut in batch:
                fut.cancel()
            raise
        except Exception as exc:  # every waiter learns of the failure
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)
