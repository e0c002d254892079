"""The text-classifier interface: an algorithm fits a model; a model gives logits.

Training (``nlu.classifiers.training``) wraps every algorithm the same way: it
holds out a stratified calibration split, fits, learns a softmax temperature
and an out-of-scope threshold on the held-out logits, optionally refits on all
the data, and saves one artefact folder::

    <folder>/classifier.json   algorithm, labels, temperature, threshold, metrics, params
    <folder>/...               whatever the algorithm's ``save`` writes

Algorithms: ``fast`` (frozen MiniLM, a torch head over its embeddings) and
``accurate`` (MiniLM fine-tuned end to end with the head). ``embed_for`` gives
the host's sentence encoders by name (``nlu.embeddings.ENCODERS``, run where the
replica runs them); an algorithm that brings its own encoder ignores it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

__all__ = ["Algorithm", "Embed", "EmbedFor", "FittedModel", "Progress"]

#: ``embed(texts)`` -> (n, 384) float32 L2-normalised rows (MiniLM).
Embed = Callable[[list[str]], np.ndarray]
#: ``embed_for(encoder name)`` -> that encoder's ``Embed``
EmbedFor = Callable[[str], Embed]
#: ``progress(stage, fraction)``: fraction of this fit done, 0..1.
Progress = Callable[[str, float], None]


class FittedModel(ABC):
    """A trained model: raw (uncalibrated) logits over ``labels``."""

    labels: list[str]

    @abstractmethod
    def logits(self, texts: list[str]) -> np.ndarray:
        """One row of ``len(labels)`` logits per text (float32)."""

    def features(self, texts: list[str]) -> np.ndarray | None:
        """L2-normalised sentence features, where the model has them (None: it has not);
        the out-of-scope check compares them with the training texts' (``training``)."""
        return None

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits and features of the same texts (models with features do both at once)."""
        return self.logits(texts), self.features(texts)

    @abstractmethod
    def save(self, folder: Path) -> dict[str, Any]:
        """Write the model's files into ``folder``; returns metadata to keep with it."""


class Algorithm(ABC):
    """A training algorithm with its hyper-parameters' defaults."""

    name: ClassVar[str]  # its hyper-parameters are declared in nlu.classifiers.params
    #: refit on every sample after calibration (cheap algorithms) or keep the first fit
    refit: ClassVar[bool] = True

    def __init__(self, embed_for: EmbedFor, device: str = "cpu") -> None:
        self.embed_for = embed_for
        self.device = device

    def params(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """``defaults`` updated by ``given``, each value checked (``nlu.classifiers.params``)."""
        from nlu.classifiers.params import check_params

        return check_params(self.name, given)

    @abstractmethod
    def fit(self, texts: Sequence[str], labels: Sequence[str], params: dict[str, Any],
            progress: Progress) -> FittedModel:
        """Fit on ``texts`` and their ``labels`` (at least two distinct labels)."""

    @classmethod
    @abstractmethod
    def load(cls, folder: Path, meta: dict[str, Any], embed_for: EmbedFor,
             device: str = "cpu") -> FittedModel:
        """The model saved in ``folder`` (``meta``: what ``save`` returned)."""
