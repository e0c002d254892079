"""The plain scorer: pocketsphinx's own GOP, no trained parts beyond a two-number calibration.

A phone's score is its aligned acoustic score per frame against the best senone
of any phone (``Aligner(score_all=True)``, see :mod:`speech.pronunciation.align`),
mapped through a logistic: ``P(right) = sigmoid((gop - center) / scale)``.
``center``/``scale`` were fitted (class-balanced) on 120 utterances of the
``tune`` speaker half with controlled errors. Kept as the baseline the learned
scorer is measured against, and as a fallback that needs no torch weights. It has
no reference-match model (``match`` is 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from speech.pronunciation.align import Aligner
from speech.pronunciation.base import PhoneScores, Scorer

__all__ = ["GopScorer"]


class GopScorer(Scorer):
    name = "gop"

    def __init__(self, center: float = -6.90, scale: float = 5.39,
                 aligner: Aligner | None = None) -> None:
        self.center = center
        self.scale = scale
        self.aligner = aligner or Aligner(score_all=True)

    def score_phones(
        self, pcm: np.ndarray, words: Sequence[tuple[str, Sequence[str]]]
    ) -> PhoneScores:
        alignment = self.aligner.align(pcm, words)
        gop = np.array([p.per_frame for w in alignment.words for p in w.phones])
        return PhoneScores(alignment, 1.0 / (1.0 + np.exp(-(gop - self.center) / self.scale)))
