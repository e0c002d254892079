"""Helpers of the speech suite: the aligned corpus recordings, noise, frame streaming."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.helpers import SHARED_DATA

CORPUS = SHARED_DATA / "speechocean762-train-subset"
ALIGNMENT = Path(__file__).parent / "data" / "speechocean_alignment.json"


@dataclass(frozen=True)
class Recording:
    """One corpus utterance with its forced-aligned speech span (seconds)."""

    utt: str
    text: str
    pcm: np.ndarray  # int16, 16 kHz
    start: float
    end: float


def noise(seconds: float, rng: np.random.Generator, level: float = 30.0) -> np.ndarray:
    """Low white noise as int16; the default std of 30 (-61 dBFS) matches the corpus floor."""
    return np.clip(rng.normal(0.0, level, int(seconds * 16_000)), -32768, 32767).astype(np.int16)


def stream(endpointer, pcm: np.ndarray, rng: np.random.Generator) -> list:
    """Feed ``pcm`` in random WebSocket-sized frames (20-200 ms); return all events."""
    events, i = [], 0
    while i < pcm.size:
        n = int(rng.integers(320, 3201))
        events += endpointer.push(pcm[i:i + n])
        i += n
    return events
