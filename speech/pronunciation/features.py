"""Per-phone features from an alignment and frame log posteriors (the learned scorer's input).

For a phone aligned to frames ``[s, e)`` with canonical label ``c``:

- ``lpp``: mean log posterior of ``c`` over the frames; ``lpp_min``: its worst
  frame; ``gop``: mean of ``log p(c) - max_q log p(q)`` (0 when ``c`` wins every frame);
- ``lpr``: for every label ``q``, mean ``log p(q) - log p(c)`` clipped to [-10, 10]
  (the log posterior ratios against every phone);
- ``log_frames`` (duration), the utterance's mean ``lpp`` (speaker and channel),
  the mean ``gop`` of the rest of the word, and the phone's identity (one-hot).
"""

from __future__ import annotations

import numpy as np

from speech.pronunciation.acoustic import LABELS
from speech.pronunciation.align import Alignment

__all__ = ["N_FEATURES", "phone_features"]

_INDEX = {p: i for i, p in enumerate(LABELS)}
_N = len(LABELS)
N_FEATURES = 6 + 2 * _N


def phone_features(alignment: Alignment, logp: np.ndarray) -> np.ndarray:
    """(phones, N_FEATURES) float32, phones in reading order over all words."""
    frames = len(logp)
    best = logp.max(axis=1)
    rows: list[np.ndarray] = []
    word_of: list[int] = []
    gops: list[float] = []
    for wi, word in enumerate(alignment.words):
        for ph in word.phones:
            s = min(ph.start, frames - 1)
            e = max(s + 1, min(ph.end, frames))
            c = _INDEX[ph.phone]
            seg = logp[s:e]
            own = seg[:, c]
            gop = float((own - best[s:e]).mean())
            lpr = np.clip((seg - own[:, None]).mean(axis=0), -10.0, 10.0)
            onehot = np.zeros(_N, dtype=np.float32)
            onehot[c] = 1.0
            head = [float(own.mean()), float(own.min()), gop, float(np.log(e - s)), 0.0, 0.0]
            rows.append(np.concatenate([np.asarray(head, np.float32), lpr, onehot]))
            word_of.append(wi)
            gops.append(gop)
    if not rows:
        return np.zeros((0, N_FEATURES), np.float32)
    out = np.stack(rows).astype(np.float32)
    out[:, 4] = out[:, 0].mean()
    word_arr, gop_arr = np.asarray(word_of), np.asarray(gops)
    for i in range(len(out)):
        others = (word_arr == word_arr[i]) & (np.arange(len(out)) != i)
        out[i, 5] = gop_arr[others].mean() if others.any() else gop_arr[i]
    return out
