"""The pronunciation-scorer interface and the one assessment shape (REST, WebSocket, Python).

A scorer aligns the reference's canonical phones to the audio and gives each
phone a probability that it was said as the reference asks; everything else
(labels, word and utterance scores, fluency, completeness, miscues, tips) is
built from that by :mod:`speech.pronunciation.assess`, the same for every scorer.

Scores are 0–100. A phone's score is ``100 * P(right)`` from the scorer's
calibration; labels: ``correct`` ≥ 70 > ``accented`` ≥ 40 > ``wrong``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np

from speech.pronunciation.align import Alignment

__all__ = [
    "CORRECT_AT",
    "WRONG_BELOW",
    "Assessment",
    "Fluency",
    "Miscue",
    "PhoneScore",
    "PhoneScores",
    "Scorer",
    "WordScore",
    "label_for",
]

CORRECT_AT = 70.0
WRONG_BELOW = 40.0
Label = Literal["correct", "accented", "wrong"]


def label_for(score: float) -> Label:
    return "correct" if score >= CORRECT_AT else "accented" if score >= WRONG_BELOW else "wrong"


@dataclass(frozen=True)
class PhoneScore:
    phone: str
    start: float
    end: float
    score: float
    label: Label
    tip: str
    minimal_pair: str | None = None


@dataclass(frozen=True)
class WordScore:
    word: str
    start: float
    end: float
    accuracy: float
    label: Label | Literal["omitted"]
    phones: tuple[PhoneScore, ...]


@dataclass(frozen=True)
class Miscue:
    type: Literal["omission", "insertion", "mispronunciation"]
    word: str
    index: int | None  # position in the reference (None for an insertion)
    heard: str | None = None


@dataclass(frozen=True)
class Fluency:
    speech_rate_wpm: float
    articulation_rate_pps: float
    pauses: int
    pause_seconds: float
    longest_pause_s: float
    hesitations: int


@dataclass(frozen=True)
class Assessment:
    reference: str
    recognized: str | None
    accuracy: float
    fluency: float
    completeness: float
    overall: float
    fluency_detail: Fluency
    words: tuple[WordScore, ...]
    miscues: tuple[Miscue, ...] = field(default_factory=tuple)
    scorer: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"] = {k: out.pop(k) for k in ("accuracy", "fluency", "completeness", "overall")}
        out["fluency"] = out.pop("fluency_detail")
        return out


class PhoneScores(NamedTuple):
    """What a scorer returns: the alignment, ``P(right)`` per phone in reading order, and
    ``match``, the probability that the audio carries the reference at all.

    A phone's ``P(right)`` answers "was this sound said as asked, given the word
    was attempted?"; ``match`` answers whether it was attempted. Without it a
    learner reading another sentence scored ~80 on it (README, Pronunciation).
    """

    alignment: Alignment
    probs: np.ndarray
    match: float = 1.0


class Scorer(ABC):
    """Aligns ``(word, phones)`` to 16 kHz audio and scores every phone in [0, 1]."""

    name: str

    @abstractmethod
    def score_phones(
        self, pcm: np.ndarray, words: Sequence[tuple[str, Sequence[str]]]
    ) -> PhoneScores:
        """The alignment, ``P(right)`` per phone and the reference match."""
