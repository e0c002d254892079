"""The default scorer: pocketsphinx boundaries, :class:`PhoneNet` posteriors, :class:`PhoneJudge`.

The artefact ``models/scorer-v1.pt`` ships in the package (float16, ~0.4 MB);
``python -m speech.pronunciation.train`` rebuilds it from the shared
speechocean762 subset (CC BY 4.0; README, Pronunciation). Alignment skips the
every-senone scoring (``score_all=False``) because the scores come from PhoneNet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from speech.asr.base import as_pcm16
from speech.errors import SpeechUnavailable
from speech.pronunciation.acoustic import LABELS, PhoneJudge, PhoneNet, fbank
from speech.pronunciation.align import Aligner, Alignment
from speech.pronunciation.base import Scorer
from speech.pronunciation.features import N_FEATURES, phone_features

__all__ = ["DEFAULT_ARTEFACT", "LearnedScorer", "load_artefact"]

DEFAULT_ARTEFACT = Path(__file__).with_name("models") / "scorer-v1.pt"


def load_artefact(path: str | Path) -> dict[str, Any]:
    try:
        art = torch.load(str(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise SpeechUnavailable(f"cannot load the pronunciation scorer {path}: {exc}") from exc
    if art.get("version") != 1 or tuple(art.get("labels", ())) != LABELS:
        raise SpeechUnavailable(f"{path} is not a version-1 scorer for this phone set")
    return art


class LearnedScorer(Scorer):
    name = "learned-v1"

    def __init__(self, artefact: str | Path | None = None, aligner: Aligner | None = None) -> None:
        art = load_artefact(artefact or DEFAULT_ARTEFACT)
        self.trained_on: dict[str, Any] = art["trained_on"]
        self.net = PhoneNet(**art["phonenet_config"])
        self.net.load_state_dict({k: v.float() for k, v in art["phonenet"].items()})
        self.net.eval()
        self.judge = PhoneJudge(N_FEATURES)
        self.judge.load_state_dict({k: v.float() for k, v in art["judge"].items()})
        self.judge.eval()
        self.aligner = aligner or Aligner(score_all=False)

    def posteriors(self, pcm: np.ndarray) -> np.ndarray:
        """(frames, labels) log posteriors."""
        with torch.inference_mode():
            return self.net(fbank(as_pcm16(pcm))).numpy()

    def probabilities(self, alignment: Alignment, logp: np.ndarray) -> np.ndarray:
        """``P(right)`` per phone (class-balanced: 0.5 where right and wrong are as likely)."""
        with torch.inference_mode():
            wrong = torch.sigmoid(self.judge(torch.from_numpy(phone_features(alignment, logp))))
        return 1.0 - wrong.numpy().astype(np.float64)

    def score_phones(
        self, pcm: np.ndarray, words: Sequence[tuple[str, Sequence[str]]]
    ) -> tuple[Alignment, np.ndarray]:
        alignment = self.aligner.align(pcm, words)
        return alignment, self.probabilities(alignment, self.posteriors(pcm))
