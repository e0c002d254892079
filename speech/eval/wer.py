"""Recognition evaluation with per-state LMs: WER, right-candidate and false-accept rates.

For every utterance the harness builds two "dialog states" of K expected
sentences drawn from the data set (seeded per utterance, so ``--limit`` does
not change which candidates an utterance gets): one with the true sentence and
K-1 others, one with K others. The first gives ``wer_state_lm`` and
``right_candidate_rate`` (the matcher accepts the true sentence); the second
gives ``false_accept_rate`` (the matcher accepts any candidate). The general
path (no state LM) gives ``wer_general``. ``rtf`` is CPU seconds of the whole
process (every thread: faster-whisper decodes in threads of its own) over audio
seconds for the state-LM decodes, so it means "on one core"; building the state
models is timed apart.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from speech.asr import Recognizer, match
from speech.asr.match import DEFAULT_THRESHOLD, edit_distance
from speech.eval.data import DataDir, Utterance, read_wav
from speech.lm import StateLM, normalize

__all__ = ["Totals", "candidates_for", "evaluate", "select"]


def select(data: DataDir, split: str = "all", limit: int | None = None,
           seed: int = 0) -> list[Utterance]:
    """Utterances of a speaker half (``tune``: even-indexed speakers, ``test``: odd), sampled."""
    utts = list(data.utterances)
    if split != "all":
        speakers = sorted({u.speaker for u in utts})
        half = set(speakers[0 if split == "tune" else 1::2])
        utts = [u for u in utts if u.speaker in half]
    if limit is not None and limit < len(utts):
        utts = sorted(random.Random(seed).sample(utts, limit), key=lambda u: u.id)
    return utts


def candidates_for(utt: Utterance, pool: list[str], k: int, seed: int,
                   include: bool) -> list[str]:
    """K sentences for a state: the true one plus K-1 others, or K others."""
    truth = normalize(utt.text)
    others = [s for s in pool if s != truth]
    rng = random.Random(f"{seed}:{utt.id}:{int(include)}")
    picked = rng.sample(others, min(len(others), k - 1 if include else k))
    if include:
        picked.append(truth)
        rng.shuffle(picked)
    return picked


@dataclass
class Totals:
    utterances: int = 0
    audio_s: float = 0.0
    general_err: int = 0
    state_err: int = 0
    ref_words: int = 0
    right: int = 0
    false_accept: int = 0
    state_cpu_s: float = 0.0
    general_cpu_s: float = 0.0
    build_s: float = 0.0
    paths: dict[str, int] = field(default_factory=dict)

    def summary(self, general: bool) -> dict[str, object]:
        n = max(self.utterances, 1)
        return {
            "utterances": self.utterances,
            "wer_general": round(self.general_err / self.ref_words, 4) if general else None,
            "wer_state_lm": round(self.state_err / max(self.ref_words, 1), 4),
            "right_candidate_rate": round(self.right / n, 4),
            "false_accept_rate": round(self.false_accept / n, 4),
            "rtf": round(self.state_cpu_s / max(2 * self.audio_s, 1e-9), 4),
            "rtf_general": round(self.general_cpu_s / self.audio_s, 4) if general else None,
            "lm_build_ms_mean": round(1000 * self.build_s / max(2 * n, 1), 1),
            "state_paths": dict(sorted(self.paths.items())),
        }


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.process_time()
    out = fn()
    return out, time.process_time() - start


def evaluate(recognizer: Recognizer, data: DataDir, utts: list[Utterance], k: int, seed: int,
             general: bool = True, threshold: float = DEFAULT_THRESHOLD,
             lm_params: dict[str, object] | None = None, log=sys.stderr) -> Totals:
    pool = sorted({normalize(u.text) for u in data.utterances} - {""})
    totals = Totals()
    started = time.monotonic()
    for i, utt in enumerate(utts, 1):
        pcm = read_wav(utt.wav)
        ref = normalize(utt.text).split()
        totals.utterances += 1
        totals.audio_s += len(pcm) / 16000
        totals.ref_words += len(ref)
        if general:
            res, cpu = _timed(lambda pcm=pcm: recognizer.recognize(pcm, None))
            totals.general_cpu_s += cpu
            totals.general_err += edit_distance(ref, res.text.split())  # type: ignore[attr-defined]
        for include in (True, False):
            cands = candidates_for(utt, pool, k, seed, include)
            lm = StateLM.from_sentences(cands, **(lm_params or {}))
            t0 = time.monotonic()
            recognizer.prepare(lm)
            totals.build_s += time.monotonic() - t0
            res, cpu = _timed(lambda lm=lm, pcm=pcm: recognizer.recognize(pcm, lm))
            totals.state_cpu_s += cpu
            path = f"{'in' if include else 'out'}:{res.path}"  # type: ignore[attr-defined]
            totals.paths[path] = totals.paths.get(path, 0) + 1
            m = match(res.text, cands, threshold)  # type: ignore[attr-defined]
            if include:
                totals.state_err += edit_distance(ref, res.text.split())  # type: ignore[attr-defined]
                totals.right += m.accepted and m.candidate == normalize(utt.text)
            else:
                totals.false_accept += m.accepted
        if log is not None and (i % 10 == 0 or i == len(utts)):
            s = totals.summary(general)
            print(f"[{i}/{len(utts)}] {time.monotonic() - started:.0f}s "
                  f"wer_general={s['wer_general']} wer_state_lm={s['wer_state_lm']} "
                  f"right={s['right_candidate_rate']} false_accept={s['false_accept_rate']} "
                  f"rtf={s['rtf']}", file=log, flush=True)
    return totals
