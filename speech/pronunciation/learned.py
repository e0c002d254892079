"""The learned scorers: pocketsphinx boundaries, :class:`PhoneNet` posteriors, :class:`PhoneJudge`.

Two artefacts ship in the package (float16, ~0.4 MB each), one per front end:
``models/scorer-whisper-v1.pt`` reads Whisper-base encoder states
(:mod:`speech.pronunciation.whisper_frames`; needs the ``whisper`` extra),
``models/scorer-v1.pt`` reads filterbanks and needs nothing beyond torch.
``python -m speech.pronunciation.train [--frontend whisper]`` rebuilds either from
the shared speechocean762 subset (CC BY 4.0; README, Pronunciation). Alignment
skips the every-senone scoring (``score_all=False``): the scores come from PhoneNet.

The reference match is a logistic on the utterance's mean GOP (PhoneNet's
posterior of the aligned phone against the best phone, frame by frame), fitted
class-balanced on the training speakers' true texts against other sentences
aligned to the same audio; an artefact without one matches everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from speech.asr.base import as_pcm16
from speech.errors import SpeechUnavailable
from speech.pronunciation.acoustic import LABELS, JudgeEnsemble, PhoneJudge, PhoneNet, fbank
from speech.pronunciation.align import Aligner, Alignment
from speech.pronunciation.base import PhoneScores, Scorer
from speech.pronunciation.features import (
    GOP_COLUMN,
    N_FEATURES,
    N_WORD_FEATURES,
    phone_features,
    word_facts,
)

__all__ = ["DEFAULT_ARTEFACT", "FRONTENDS", "WHISPER_ARTEFACT", "LearnedScorer", "frontend",
           "load_artefact", "scorer_name"]

DEFAULT_ARTEFACT = Path(__file__).with_name("models") / "scorer-v1.pt"
WHISPER_ARTEFACT = Path(__file__).with_name("models") / "scorer-whisper-v1.pt"
FRONTENDS = ("fbank", "whisper")
Frontend = Callable[[np.ndarray], torch.Tensor]


def frontend(kind: str, **options: Any) -> Frontend:
    """int16 PCM → (frames, inputs) features: ``fbank`` or ``whisper`` (``model``, ``device``,
    ``threads`` as in :class:`~speech.pronunciation.whisper_frames.WhisperFrames`)."""
    if kind == "fbank":
        return fbank
    if kind == "whisper":
        from speech.pronunciation.whisper_frames import WhisperFrames

        return WhisperFrames(**options).frames
    raise SpeechUnavailable(f"unknown scorer front end {kind!r} (known: {', '.join(FRONTENDS)})")


def load_artefact(path: str | Path) -> dict[str, Any]:
    try:
        art = torch.load(str(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise SpeechUnavailable(f"cannot load the pronunciation scorer {path}: {exc}") from exc
    if art.get("version") != 1 or tuple(art.get("labels", ())) != LABELS:
        raise SpeechUnavailable(f"{path} is not a version-1 scorer for this phone set")
    if art.get("frontend", "fbank") not in FRONTENDS:
        raise SpeechUnavailable(f"{path} needs the unknown front end {art['frontend']!r}")
    return art


def scorer_name(frontend: str, artefact: Path) -> str:
    """``learned-[FRONTEND-]v1+`` the artefact's first 8 SHA-256 hex digits: every
    assessment records it, so a learner's progress never mixes two sets of weights
    under one name (retraining changes the digits by itself)."""
    digest = hashlib.sha256(artefact.read_bytes()).hexdigest()[:8]
    return ("learned-v1" if frontend == "fbank" else f"learned-{frontend}-v1") + f"+{digest}"


class LearnedScorer(Scorer):
    """``frontend_options`` go to the artefact's front end (the Whisper model folder,
    device and threads for ``whisper``)."""

    def __init__(self, artefact: str | Path | None = None, aligner: Aligner | None = None,
                 **frontend_options: Any) -> None:
        path = Path(artefact or DEFAULT_ARTEFACT)
        art = load_artefact(path)
        self.frontend: str = art.get("frontend", "fbank")
        self.name = scorer_name(self.frontend, path)
        self.features = frontend(self.frontend, **frontend_options)
        self.trained_on: dict[str, Any] = art["trained_on"]
        self.net = PhoneNet(**art["phonenet_config"])
        self.net.load_state_dict({k: v.float() for k, v in art["phonenet"].items()})
        self.net.eval()
        self.word_features = bool(art.get("word_features", False))
        if self.word_features:
            word_facts("the")  # load the frequency ranks now (~0.5 s), not in the first turn
        width = N_FEATURES + (N_WORD_FEATURES if self.word_features else 0)
        judges = []
        for state in art.get("judges") or [art["judge"]]:
            judge = PhoneJudge(width)
            judge.load_state_dict({k: v.float() for k, v in state.items()})
            judges.append(judge)
        self.judge = JudgeEnsemble(judges).eval()
        self.match: dict[str, float] | None = art.get("match")
        self.aligner = aligner or Aligner(score_all=False)

    def posteriors(self, pcm: np.ndarray) -> np.ndarray:
        """(frames, labels) log posteriors."""
        with torch.inference_mode():
            return self.net(self.features(as_pcm16(pcm))).numpy()

    def probabilities(self, alignment: Alignment, logp: np.ndarray) -> tuple[np.ndarray, float]:
        """``P(right)`` per phone (class-balanced: 0.5 where right and wrong are as likely)
        and the reference match."""
        feats = phone_features(alignment, logp, self.word_features)
        with torch.inference_mode():
            wrong = torch.sigmoid(self.judge(torch.from_numpy(feats)))
        return 1.0 - wrong.numpy().astype(np.float64), self.reference_match(feats)

    def reference_match(self, feats: np.ndarray) -> float:
        """P(the audio carries the reference) from the phones' mean GOP."""
        if self.match is None or not len(feats):
            return 1.0
        z = self.match["weight"] * float(feats[:, GOP_COLUMN].mean()) + self.match["bias"]
        return float(1.0 / (1.0 + np.exp(-z)))

    def score_phones(
        self, pcm: np.ndarray, words: Sequence[tuple[str, Sequence[str]]]
    ) -> PhoneScores:
        alignment = self.aligner.align(pcm, words)
        return PhoneScores(alignment, *self.probabilities(alignment, self.posteriors(pcm)))
