"""Async adapters over the real ``SentenceEncoder`` for the dialog tests."""

from __future__ import annotations

import asyncio

import numpy as np

from dialog.matching.base import normalise


class ThreadEncoder:
    """Async ``TextEncoder`` running ``encode`` in a thread (as serving/ does); counts calls."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.model_name = encoder.model_name
        self.calls: list[int] = []

    async def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return await asyncio.to_thread(self.encoder.encode, texts)


class PrimedEncoder(ThreadEncoder):
    """The real encoder with a memo primed in one batch.

    Statistical tests score each utterance at every state; one batched call is far
    cheaper than hundreds of single-sentence calls on a CPU. The vectors are the
    model's own.
    """

    def __init__(self, encoder, texts: list[str]) -> None:
        super().__init__(encoder)
        unique = sorted({normalise(t) for t in texts})
        self.memo = dict(zip(unique, encoder.encode(unique), strict=True))

    async def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            vectors = await asyncio.to_thread(self.encoder.encode, missing)
            self.memo.update(zip(missing, vectors, strict=True))
        return np.stack([self.memo[t] for t in texts])
