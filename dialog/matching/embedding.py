"""Semantic scoring: cosine similarity between the utterance and an expectation's examples.

An expectation's score is the best cosine over its examples (max, not mean:
examples are deliberately varied, and an utterance only needs to resemble one
of them). The examples of a whole lesson are embedded once, in one batched
``embed`` call, the first time any session of that lesson version needs them,
and kept on the ``CompiledLesson``; a turn then costs one embedding of the
utterance and a small matrix-vector product.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from dialog.matching.base import Match, TextEncoder, normalise, rank
from dialog.matching.entities import extract_entities

if TYPE_CHECKING:
    from dialog.machine import CompiledLesson

__all__ = ["EmbeddingMatcher", "ExampleIndex", "encoder_key", "example_index"]


@dataclass(frozen=True, slots=True)
class ExampleIndex:
    """All example embeddings of a lesson, grouped contiguously by state then expectation."""

    matrix: np.ndarray  # (n_examples, dim), float32, L2-normalised rows
    # state id -> (first row, last row + 1, expectation ids with examples, their row offsets)
    by_state: dict[str, tuple[int, int, tuple[str, ...], np.ndarray]]

    def scores(self, query: np.ndarray, state_id: str) -> dict[str, float]:
        """Best cosine per expectation of the state that has examples."""
        start, end, exp_ids, offsets = self.by_state.get(state_id, (0, 0, (), None))
        if end == start:
            return {}
        sims = self.matrix[start:end] @ query
        best = np.maximum.reduceat(sims, offsets)
        return {e: max(0.0, float(s)) for e, s in zip(exp_ids, best, strict=True)}


def encoder_key(encoder: TextEncoder) -> str:
    """Cache key: encoders exposing the same ``model_name`` share embeddings."""
    name = getattr(encoder, "model_name", None)
    return str(name) if name else f"{type(encoder).__qualname__}@{id(encoder):x}"


async def _build(compiled: CompiledLesson, encoder: TextEncoder) -> ExampleIndex:
    texts: list[str] = []
    by_state = {}
    for state in compiled.lesson.states:
        start = len(texts)
        exp_ids, offsets = [], []
        for exp in state.expects:
            examples = [normalise(e) for e in exp.examples if e.strip()]
            if examples:
                exp_ids.append(exp.id)
                offsets.append(len(texts) - start)
                texts.extend(examples)
        by_state[state.id] = (start, len(texts), tuple(exp_ids), np.asarray(offsets, np.intp))
    if texts:
        matrix = np.asarray(await encoder.embed(texts), dtype=np.float32)
    else:
        matrix = np.zeros((0, 1), np.float32)
    return ExampleIndex(matrix, by_state)


async def example_index(compiled: CompiledLesson, encoder: TextEncoder) -> ExampleIndex:
    """The lesson's example embeddings for this encoder, computed once and cached.

    Concurrent first turns on one event loop share a single ``embed`` call; a
    failed or cancelled build leaves nothing cached, so the next turn retries.
    """
    key = encoder_key(encoder)
    loop = asyncio.get_running_loop()
    cached = compiled.example_embeddings.get(key)
    if isinstance(cached, ExampleIndex):
        return cached
    if isinstance(cached, asyncio.Future) and cached.get_loop() is loop:
        index = await asyncio.shield(cached)
        if index is not None:
            return index
        return await example_index(compiled, encoder)
    pending: asyncio.Future = loop.create_future()
    compiled.example_embeddings[key] = pending
    index = None
    try:
        index = await _build(compiled, encoder)
        compiled.example_embeddings[key] = index
        return index
    finally:
        if index is None and compiled.example_embeddings.get(key) is pending:
            del compiled.example_embeddings[key]
        pending.set_result(index)


async def embedding_scores(
    text: str, compiled: CompiledLesson, state_id: str, encoder: TextEncoder
) -> dict[str, float]:
    """Best example cosine per expectation of the state (0.0 where it has no examples)."""
    index = await example_index(compiled, encoder)
    scores = {e.id: 0.0 for e in compiled.state(state_id).expects}
    start, end = index.by_state.get(state_id, (0, 0, (), None))[:2]
    if end > start:
        query = np.asarray(await encoder.embed([text]), dtype=np.float32)[0]
        scores.update(index.scores(query, state_id))
    return scores


class EmbeddingMatcher:
    """Scores by sentence-embedding similarity to the expectations' examples."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder

    async def match(self, text: str, compiled: CompiledLesson, state_id: str) -> list[Match]:
        text = normalise(text)
        scores = await embedding_scores(text, compiled, state_id, self.encoder)
        return rank(scores, compiled, extract_entities(text))
