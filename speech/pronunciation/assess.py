"""From phone probabilities to the assessment: labels, word and utterance scores, miscues, fluency.

- **accuracy**: mean phone score over the words that were said (it ranks the
  true text above another sentence more often than any mean of word scores
  tried, README) times the scorer's reference match, the probability that the
  audio carries the reference at all (a phone's score assumes its word was
  attempted: without the match, another sentence read to the scorer got ~80);
  a word's accuracy is the probability that none of its phones
  is wrong (:func:`word_accuracy`), so one wrong sound shows in the word (better
  word-level AUC than the mean, the mean with the worst phone, or the worst
  phone alone: README);
- **completeness**: share of reference words the recognition heard as such (an
  omitted word, or another word in its place, is not complete; without a
  recognition every aligned word counts);
- **fluency**: 100 at ≥ 100 words per minute with no pause ≥ 0.3 s between words,
  minus 10 per such pause (at most 40) and 5 per hesitation (filler words,
  repeated words); slower speech scales the rest down linearly to 0 at 20 wpm;
- **overall**: ``0.6 * accuracy + 0.2 * fluency + 0.2 * completeness``.

Miscues compare the free recognition with the reference (word-level edit
alignment): reference words missing from it are omissions, extra words are
insertions, substituted words and words labelled "wrong" are mispronunciations.
Without a recognition only the phone scores speak (no omissions or insertions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from speech.pronunciation.align import FRAME_RATE, Alignment
from speech.pronunciation.base import (
    Assessment,
    Fluency,
    Miscue,
    PhoneScore,
    WordScore,
    label_for,
)
from speech.pronunciation.confusions import SUBSTITUTIONS
from speech.pronunciation.tips import minimal_pair, tip

__all__ = ["assemble", "fluency", "miscues", "unaligned", "word_accuracy", "word_edit_alignment"]

PAUSE_S = 0.3
FILLERS = frozenset({"uh", "um", "er", "ah", "erm", "hmm", "mm", "eh"})


def word_edit_alignment(ref: Sequence[str], hyp: Sequence[str]
                        ) -> list[tuple[int | None, int | None]]:
    """Levenshtein alignment as ``(ref_index, hyp_index)`` pairs (None on the missing side)."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int32)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1,
                          d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    out: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            out.append((i - 1, None))
            i -= 1
        else:
            out.append((None, j - 1))
            j -= 1
    return out[::-1]


def miscues(ref: Sequence[str], recognized: str | None, wrong: Sequence[bool]) -> list[Miscue]:
    hyp = [w for w in (recognized or "").lower().split() if w not in FILLERS]
    out: list[Miscue] = []
    seen_wrong: set[int] = set()
    if recognized is not None:
        for ri, hi in word_edit_alignment(ref, hyp):
            if ri is None and hi is not None:
                out.append(Miscue("insertion", hyp[hi], None))
            elif hi is None and ri is not None:
                out.append(Miscue("omission", ref[ri], ri))
            elif ri is not None and hi is not None and ref[ri] != hyp[hi]:
                out.append(Miscue("mispronunciation", ref[ri], ri, hyp[hi]))
                seen_wrong.add(ri)
    omitted = {m.index for m in out if m.type == "omission"}
    for i, bad in enumerate(wrong):
        if bad and i not in seen_wrong and i not in omitted:
            out.append(Miscue("mispronunciation", ref[i], i))
    return sorted(out, key=lambda m: (m.index if m.index is not None else -1, m.type))


def fluency(alignment: Alignment, recognized: str | None) -> tuple[float, Fluency]:
    words = alignment.words
    first, last = words[0].start, words[-1].end
    seconds = max(0.01, (last - first) / FRAME_RATE)
    pauses = [(e - s) / FRAME_RATE for s, e in alignment.silences
              if s >= first and e <= last and (e - s) / FRAME_RATE >= PAUSE_S]
    hyp = (recognized or "").lower().split()
    hesitations = sum(w in FILLERS for w in hyp) + sum(
        a == b for a, b in zip(hyp, hyp[1:], strict=False))
    phones = sum(len(w.phones) for w in words)
    speaking = max(0.01, seconds - sum(pauses))
    detail = Fluency(
        speech_rate_wpm=round(60.0 * len(words) / seconds, 1),
        articulation_rate_pps=round(phones / speaking, 2),
        pauses=len(pauses),
        pause_seconds=round(sum(pauses), 2),
        longest_pause_s=round(max(pauses, default=0.0), 2),
        hesitations=hesitations,
    )
    rate = min(1.0, max(0.0, (detail.speech_rate_wpm - 20.0) / 80.0))
    score = rate * max(0.0, 100.0 - min(40.0, 10.0 * len(pauses)) - 5.0 * hesitations)
    return round(score, 1), detail


def _completeness(words: int, found: Sequence[Miscue]) -> float:
    missing = {m.index for m in found
               if m.type == "omission" or (m.type == "mispronunciation" and m.heard)}
    return round(100.0 * (words - len(missing)) / max(1, words), 1)


def word_accuracy(scores: np.ndarray) -> float:
    """100 × P(no phone of the word is wrong) from its phone scores (0–100).

    A scorer's ``P(right)`` is class-balanced, so ``(1 - p) / p`` is each phone's
    likelihood ratio of "changed" against "as asked"; with one wrong phone equally
    likely anywhere in the word, the word's ratio is their mean. Unlike the worst
    phone alone, a long word is not marked down for having more chances of one
    low-scoring phone.
    """
    p = np.clip(np.asarray(scores, dtype=np.float64) / 100.0, 1e-3, 1.0 - 1e-3)
    return float(100.0 / (1.0 + ((1.0 - p) / p).mean()))


def assemble(alignment: Alignment, probs: np.ndarray, reference: str,
             recognized: str | None, scorer: str, match: float = 1.0) -> Assessment:
    """The assessment of one utterance from a scorer's alignment, ``P(right)`` per phone and
    reference match."""
    ref = [w.word for w in alignment.words]
    scores = np.clip(np.asarray(probs, dtype=np.float64) * 100.0, 0.0, 100.0)
    words: list[WordScore] = []
    k = 0
    for w in alignment.words:
        phones = []
        for ph in w.phones:
            s = round(float(scores[k]), 1)
            label = label_for(s)
            heard = SUBSTITUTIONS.get(ph.phone, (None,))[0] if label == "wrong" else None
            phones.append(PhoneScore(ph.phone, ph.start / FRAME_RATE, ph.end / FRAME_RATE, s,
                                     label, tip(ph.phone),
                                     minimal_pair(ph.phone, heard) if label == "wrong" else None))
            k += 1
        acc = round(word_accuracy(scores[k - len(phones):k]), 1) if phones else 0.0
        words.append(WordScore(w.word, w.start / FRAME_RATE, w.end / FRAME_RATE, acc,
                               label_for(acc), tuple(phones)))
    found = miscues(ref, recognized, [w.label == "wrong" for w in words])
    omitted = {m.index for m in found if m.type == "omission"}
    words = [WordScore(w.word, w.start, w.end, 0.0, "omitted", w.phones) if i in omitted else w
             for i, w in enumerate(words)]
    said = [w for w in words if w.label != "omitted"]
    mean = float(np.mean([p.score for w in said for p in w.phones])) if said else 0.0
    accuracy = round(mean * min(1.0, max(0.0, match)), 1)
    completeness = _completeness(len(words), found)
    flu, detail = fluency(alignment, recognized)
    overall = round(0.6 * accuracy + 0.2 * flu + 0.2 * completeness, 1)
    return Assessment(reference, recognized, accuracy, flu, completeness, overall, detail,
                      tuple(words), tuple(found), scorer)


def unaligned(words: Sequence[tuple[str, Sequence[str]]], reference: str,
              recognized: str | None, scorer: str) -> Assessment:
    """The assessment when the reference does not fit the audio at all (``NotAligned``).

    Nothing can be scored: words the recognition found are "wrong" with accuracy 0,
    the rest "omitted"; phones carry score 0 and no times; completeness comes from
    the recognition alone, so ``overall`` is ``0.2 * completeness``.
    """
    ref = [w for w, _ in words]
    found = [m for m in miscues(ref, recognized, [False] * len(ref))
             if m.type != "mispronunciation" or m.heard is not None]
    if recognized is None:
        found = [Miscue("omission", w, i) for i, w in enumerate(ref)]
    omitted = {m.index for m in found if m.type == "omission"}
    completeness = _completeness(len(ref), found)
    out = tuple(
        WordScore(w, 0.0, 0.0, 0.0, "omitted" if i in omitted else "wrong",
                  tuple(PhoneScore(p, 0.0, 0.0, 0.0, "wrong", tip(p), minimal_pair(p))
                        for p in phones))
        for i, (w, phones) in enumerate(words))
    detail = Fluency(0.0, 0.0, 0, 0.0, 0.0, 0)
    return Assessment(reference, recognized, 0.0, 0.0, completeness,
                      round(0.2 * completeness, 1), detail, out, tuple(found), scorer)
