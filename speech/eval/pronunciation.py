"""Mispronunciation detection measured with controlled errors (no expert labels needed).

For each utterance (seeded per utterance, so ``--limit`` does not change what an
utterance gets): corrupt the true text's phones with
:func:`speech.pronunciation.confusions.corrupt` and score the audio against the
corrupted reference — changed phones are positives, untouched ones negatives
(``phone_auc``; ``word_auc`` with word accuracy, words holding a changed phone
positive; ``wrong_precision``/``wrong_recall`` of the "wrong" label). Then assess
the audio against its true text and against a different sentence of the data
set: ``true_vs_other_rate`` is the share where the other sentence's overall
score is lower. ``sec_per_utt`` is CPU seconds per full assessment (recognition
included). Speakers the learned scorer was trained on are left out.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from speech.eval.data import DataDir, Utterance, read_wav
from speech.lm.base import normalize
from speech.pronunciation.assess import assemble
from speech.pronunciation.assessor import Assessor
from speech.pronunciation.base import WRONG_BELOW
from speech.pronunciation.confusions import corrupt

__all__ = ["Totals", "auc", "evaluate", "trained_speakers"]


def auc(labels: list[int] | np.ndarray, scores: list[float] | np.ndarray) -> float:
    """ROC AUC of ``scores`` ranking positives above negatives (ties count half)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def trained_speakers(assessor: Assessor, data: DataDir) -> set[str]:
    """Speakers of ``data`` the scorer saw in training (only when it names this data set)."""
    trained = getattr(assessor.scorer, "trained_on", None) or {}
    if trained.get("data") != data.root.resolve().name:
        return set()
    return set(trained.get("speakers", ())) & {u.speaker for u in data.utterances}


@dataclass
class Totals:
    utterances: int = 0
    phone_y: list[int] = field(default_factory=list)
    phone_s: list[float] = field(default_factory=list)
    word_y: list[int] = field(default_factory=list)
    word_s: list[float] = field(default_factory=list)
    true_wins: int = 0
    cpu_s: float = 0.0
    assessed: int = 0
    failed: int = 0

    def summary(self) -> dict[str, object]:
        y, s = np.asarray(self.phone_y, bool), np.asarray(self.phone_s)
        flagged = s < WRONG_BELOW
        return {
            "utterances": self.utterances,
            "phone_auc": round(auc(y, -s), 4),
            "word_auc": round(auc(self.word_y, -np.asarray(self.word_s)), 4),
            "wrong_precision": round(float(y[flagged].mean()), 4) if flagged.any() else 0.0,
            "wrong_recall": round(float(flagged[y].mean()), 4) if y.any() else 0.0,
            "true_vs_other_rate": round(self.true_wins / max(1, self.utterances), 4),
            "sec_per_utt": round(self.cpu_s / max(1, self.assessed), 3),
            "phones": len(y),
            "changed_phones": int(y.sum()),
            "failed": self.failed,
        }


def _other_text(utt: Utterance, pool: list[str], seed: int) -> str:
    rng = random.Random(f"{seed}:{utt.id}:other")
    truth = normalize(utt.text)
    return rng.choice([t for t in pool if t != truth])


def evaluate(assessor: Assessor, data: DataDir, utts: list[Utterance], seed: int,
             log=sys.stderr) -> Totals:
    pool = sorted({normalize(u.text) for u in data.utterances} - {""})
    totals = Totals()
    started = time.monotonic()
    for i, utt in enumerate(utts, 1):
        pcm = read_wav(utt.wav)
        try:
            c = corrupt(assessor.reference_words(utt.text), random.Random(f"{seed}:{utt.id}"))
            alignment, probs, _ = assessor.scorer.score_phones(pcm, c.words)
            scored = assemble(alignment, probs, utt.text, None, assessor.scorer.name)
            t0 = time.process_time()
            true = assessor.assess(pcm, utt.text)
            totals.cpu_s += time.process_time() - t0
            other = assessor.assess(pcm, _other_text(utt, pool, seed))
        except Exception as exc:  # noqa: BLE001 - an alignment failure costs one utterance
            totals.failed += 1
            print(f"{utt.id}: {exc}", file=log, flush=True)
            continue
        totals.utterances += 1
        totals.assessed += 1
        totals.true_wins += other.overall < true.overall
        for word, changed in zip(scored.words, c.changed, strict=True):
            totals.word_y.append(int(bool(changed)))
            totals.word_s.append(word.accuracy)
            for j, phone in enumerate(word.phones):
                totals.phone_y.append(int(j in changed))
                totals.phone_s.append(phone.score)
        if log is not None and (i % 10 == 0 or i == len(utts)):
            s = totals.summary()
            print(f"[{i}/{len(utts)}] {time.monotonic() - started:.0f}s "
                  f"phone_auc={s['phone_auc']} word_auc={s['word_auc']} "
                  f"true_vs_other={s['true_vs_other_rate']} sec_per_utt={s['sec_per_utt']}",
                  file=log, flush=True)
    return totals
