"""Running a training function in a worker thread and streaming its progress.

Both backends (the local one, and the ``text_classifier`` replica) train the same
way: the fit runs on a thread of its own, so classification keeps answering; its
``progress(stage, fraction)`` calls become an async stream of events; the last
event carries the result (or the fit's exception is raised to the consumer).
A consumer that stops listening cancels the fit at its next progress call.
Sentence embeddings for the fit are computed on the thread that owns the
encoder, a chunk at a time, so a tokenizer is never used from two threads and
classify requests interleave with a long embedding pass.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any

import numpy as np

from nlu.classifiers.base import EmbedFor, Progress
from nlu.embeddings import EncoderSet

__all__ = ["TrainingCancelled", "embed_on", "stream_progress"]

_CHUNK = 256
_ALIVE_S = 10.0


class TrainingCancelled(Exception):
    """The consumer of a training stream went away; the fit stops."""


def embed_on(pool: Executor, encoders: EncoderSet) -> EmbedFor:
    """An ``embed_for`` for a fit on another thread: chunks encoded on ``pool``'s thread."""

    def embed_for(name: str) -> Callable[[list[str]], np.ndarray]:
        def embed(texts: list[str]) -> np.ndarray:
            encoder = pool.submit(encoders.get, name).result()
            if not texts:
                return np.zeros((0, encoder.dim), np.float32)
            parts = [pool.submit(encoder.encode, texts[i:i + _CHUNK]).result()
                     for i in range(0, len(texts), _CHUNK)]
            return np.concatenate(parts).astype(np.float32, copy=False)

        return embed

    return embed_for


async def stream_progress(pool: Executor, fit: Callable[[Progress], Any],
                          min_step: float = 0.01) -> AsyncIterator[dict[str, Any]]:
    """Events ``{"stage", "progress"}`` while ``fit(progress)`` runs on ``pool``, then
    ``{"stage": "done", "progress": 1.0, "result": ...}``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    cancelled = threading.Event()
    last: dict[str, Any] = {"stage": None, "progress": -1.0, "at": 0.0}

    def progress(stage: str, fraction: float) -> None:
        if cancelled.is_set():
            raise TrainingCancelled("the training stream was closed")
        now = time.monotonic()
        if (stage != last["stage"] or fraction - last["progress"] >= min_step
                or now - last["at"] >= _ALIVE_S):  # a slow stage still says it is alive
            last.update(stage=stage, progress=fraction, at=now)
            event = {"stage": stage, "progress": round(float(fraction), 4)}
            loop.call_soon_threadsafe(queue.put_nowait, event)

    future = loop.run_in_executor(pool, fit, progress)
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, future}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            while not queue.empty():
                yield queue.get_nowait()
            yield {"stage": "done", "progress": 1.0, "result": future.result()}
            return
    finally:
        cancelled.set()
