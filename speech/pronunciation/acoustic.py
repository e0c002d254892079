"""A small frame-level phone classifier in torch: the posteriors behind the learned scorer.

pocketsphinx's US-adult model tells a swapped phone from a right one in these
learners' speech only weakly (phone AUC ~0.68 with its GOP, README). A classifier
trained on learner speech itself — 40 log-mel filterbanks (Kaldi-compatible,
``torchaudio.compliance.kaldi.fbank``) with per-utterance mean and variance normalisation,
±``context`` frames stacked, two hidden layers — gives per-frame posteriors over
the 39 phones plus silence, from which the scorer computes GOP and log
posterior ratios against every phone. Frames are 10 ms, the same grid as
pocketsphinx's alignment.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from speech.lm.g2p import PHONES

__all__ = ["LABELS", "JudgeEnsemble", "PhoneJudge", "PhoneNet", "fbank"]

LABELS: tuple[str, ...] = (*sorted(PHONES), "SIL")
N_MELS = 40


def fbank(pcm: np.ndarray) -> torch.Tensor:
    """(frames, 40) mean- and variance-normalised log-mel features of 16 kHz int16 audio."""
    from torchaudio.compliance import kaldi

    wave = torch.from_numpy(pcm.astype(np.float32) / 32768.0).unsqueeze(0)
    feats = kaldi.fbank(wave, num_mel_bins=N_MELS, sample_frequency=16000, dither=0.0,
                        energy_floor=1e-6)
    std = feats.std(dim=0, keepdim=True).clamp_min(1e-3)
    return (feats - feats.mean(dim=0, keepdim=True)) / std


class PhoneNet(nn.Module):
    """Stacked-context MLP: (frames, inputs) features → (frames, len(LABELS)) log posteriors.

    ``inputs``: 40 filterbanks (the ``fbank`` front end) or 512 Whisper encoder
    states (:mod:`speech.pronunciation.whisper_frames`, which carry their own
    context, so ``context=0`` there).
    """

    def __init__(self, context: int = 5, hidden: int = 256, dropout: float = 0.3,
                 inputs: int = N_MELS) -> None:
        super().__init__()
        self.context = context
        self.inputs = inputs
        width = inputs * (2 * context + 1)
        self.net = nn.Sequential(
            nn.Dropout(dropout / 3),
            nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, len(LABELS)),
        )

    def stack(self, feats: torch.Tensor) -> torch.Tensor:
        """Each frame with its ±context neighbours (edges repeated)."""
        c = self.context
        if c == 0:
            return feats
        padded = torch.cat([feats[:1].expand(c, -1), feats, feats[-1:].expand(c, -1)])
        return padded.unfold(0, 2 * c + 1, 1).transpose(1, 2).reshape(len(feats), -1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.net(self.stack(feats)), dim=-1)


class PhoneJudge(nn.Module):
    """Per-phone features (:mod:`speech.pronunciation.features`) → logit that the phone is wrong.

    One hidden layer, so the log posterior ratios can interact with the phone's
    identity (a high ratio towards IH matters for IY, not for K): phone AUC 0.86
    against 0.82 for a logistic regression on the same features (README).
    """

    def __init__(self, n_features: int, hidden: int = 128) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Dropout(0.2),
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std).squeeze(-1)


class JudgeEnsemble(nn.Module):
    """Judges trained from different seeds on the same examples; their mean logit.

    One judge's word AUC moved 0.935–0.938 with the seed alone; the mean of
    three or six was 0.939–0.940 with phone AUC 0.957 → 0.960 (README).
    """

    def __init__(self, judges: list[PhoneJudge]) -> None:
        super().__init__()
        self.judges = nn.ModuleList(judges)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([j(x) for j in self.judges]).mean(0)
