"""The per-dialog-state language-model spec: what a learner is likely to say in one state.

A ``StateLM`` is a value: the expected sentences plus the build parameters. Its
``key`` (a content hash) names the built artefacts in the model cache, so the
same state always maps to the same files and any change builds new ones.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

__all__ = ["BUILD_VERSION", "StateLM", "normalize", "tokenize"]

# Bump when the artefact format or the estimator changes, so old cache entries are not reused.
BUILD_VERSION = 1

_KEEP = re.compile(r"[^a-z0-9' ]+")


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces; punctuation other than apostrophes dropped."""
    text = text.lower().replace("\u2019", "'")
    text = _KEEP.sub(" ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


def tokenize(text: str) -> list[str]:
    return normalize(text).split()


@dataclass(frozen=True)
class StateLM:
    """Expected responses of one dialog state and how to turn them into a recogniser model.

    ``sentences`` are normalised, de-duplicated and sorted, so the order an author
    lists them in does not change the key. Recognition runs a grammar of exactly
    these sentences and verifies the result acoustically; when the learner said
    something else, an open path (a Kneser–Ney trigram of the sentences
    interpolated with ``background_vocab`` words of the background model, with
    weight ``background_weight``) transcribes it instead.
    """

    sentences: tuple[str, ...]
    order: int = 3
    discounts: tuple[float, float, float] = (0.1, 0.2, 0.3)
    background_weight: float = 0.3
    background_vocab: int = 3000

    def __post_init__(self) -> None:
        cleaned = tuple(sorted({normalize(s) for s in self.sentences} - {""}))
        if not cleaned:
            raise ValueError("a state language model needs at least one non-empty sentence")
        if not 0.0 <= self.background_weight < 1.0:
            raise ValueError("background_weight must be in [0, 1)")
        if self.order < 1 or self.background_vocab < 0:
            raise ValueError("order must be >= 1 and background_vocab >= 0")
        object.__setattr__(self, "sentences", cleaned)
        object.__setattr__(self, "discounts", tuple(float(d) for d in self.discounts))

    @classmethod
    def from_sentences(cls, sentences: list[str] | tuple[str, ...], **params: object) -> StateLM:
        return cls(sentences=tuple(sentences), **params)  # type: ignore[arg-type]

    @property
    def words(self) -> list[str]:
        return sorted({w for s in self.sentences for w in s.split()})

    @property
    def key(self) -> str:
        """SHA-256 of the sentences and every build parameter (and the build version)."""
        payload = asdict(self)
        payload["version"] = BUILD_VERSION
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()
