"""Concurrent ``retrieve_text`` calls for one classifier, sent as a few merged calls.

Why: neither model backend batches ``retrieve_text`` across requests (the
sentence embeddings are micro-batched, classifier calls are not), so with many
sessions on one lesson every turn paid its own MiniLM pass on the text thread:
measured on the local backend with 20 concurrent turns, 14.9 ms of model time
per turn against 3.2 ms for the hybrid matcher alone. Here up to ``in_flight``
calls per model id run at once; turns that arrive while all of them are busy
(or in the same event-loop tick) wait for the next free one and share it. A lone
turn is sent at once, so at low load nothing waits. More than one call in flight
because a replica encodes on two threads and one call's round trip is mostly
not encoding: with one, a turn waited for the whole call ahead of it (see the
README's text-understanding benchmark). A failed call fails every turn in it
(each falls back).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from serving.base import ModelClient

__all__ = ["IN_FLIGHT", "MAX_BATCH", "RetrieveBatcher"]

MAX_BATCH = 64
IN_FLIGHT = 2

_Key = tuple[str, int]  # (model id, top_k)
_Waiter = tuple[str, "asyncio.Future[dict[str, Any]]"]


@dataclass
class _Lane:
    """One (model id, top_k)'s queue and the tasks sending its calls."""

    queue: list[_Waiter] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    calls: int = 0  # in flight now
    starting: bool = False  # a task is about to take the queue


class RetrieveBatcher:
    """At most ``in_flight`` ``retrieve_text`` calls per (model id, top_k); the rest queue."""

    def __init__(self, models: ModelClient, max_batch: int = MAX_BATCH,
                 in_flight: int = IN_FLIGHT) -> None:
        if in_flight < 1:
            raise ValueError("in_flight must be at least 1")
        self.models, self.max_batch, self.in_flight = models, max_batch, in_flight
        self._lanes: dict[_Key, _Lane] = {}
        self.sizes: list[int] = []  # texts per call sent (tests, debugging)

    async def retrieve(self, model_id: str, text: str, top_k: int) -> dict[str, Any]:
        """The classifier's answer for ``text`` (its ``ServingError`` raised here)."""
        key = (model_id, top_k)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        lane = self._lanes.setdefault(key, _Lane())
        lane.queue.append((text, future))
        self._start(key, lane)
        return await future

    async def close(self) -> None:
        tasks = [t for lane in self._lanes.values() for t in lane.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for lane in self._lanes.values():
            for _, future in lane.queue:
                future.cancel()
        self._lanes.clear()

    def _start(self, key: _Key, lane: _Lane) -> None:
        """A task for the queue, unless one is about to take it or all calls are busy."""
        if lane.queue and not lane.starting and lane.calls < self.in_flight:
            lane.starting = True
            task = asyncio.create_task(self._drain(key, lane), name=f"retrieve-{key[0]}")
            lane.tasks.add(task)
            task.add_done_callback(lambda done: self._finished(key, lane, done))

    def _finished(self, key: _Key, lane: _Lane, task: asyncio.Task[None]) -> None:
        lane.tasks.discard(task)
        if not lane.tasks and not lane.queue and self._lanes.get(key) is lane:
            del self._lanes[key]  # idle: many model ids leave no trace

    async def _drain(self, key: _Key, lane: _Lane) -> None:
        await asyncio.sleep(0)  # this tick's callers join the first call
        lane.starting = False
        while batch := self._take(lane):
            lane.calls += 1
            self._start(key, lane)  # more than a batch waiting: another call for it
            try:
                await self._send(key, batch)
            finally:
                lane.calls -= 1
            if lane.starting:
                break  # a newer task takes what queued meanwhile

    def _take(self, lane: _Lane) -> list[_Waiter]:
        """The next batch of turns still waiting (cancelled ones dropped); [] when none."""
        while lane.queue:
            batch = [(t, f) for t, f in lane.queue[:self.max_batch] if not f.done()]
            del lane.queue[:self.max_batch]
            if batch:
                return batch
        return []

    async def _send(self, key: _Key, batch: list[_Waiter]) -> None:
        model_id, top_k = key
        self.sizes.append(len(batch))
        try:
            answers = await self.models.retrieve_text(model_id, [t for t, _ in batch], top_k)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        if len(answers) != len(batch):
            answers = [{}] * len(batch)  # not the shape asked for: every turn falls back
        for (_, future), answer in zip(batch, answers, strict=True):
            with contextlib.suppress(asyncio.InvalidStateError):
                future.set_result(answer)
