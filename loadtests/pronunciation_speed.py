"""CPU cost of pronunciation assessment on one core, per 5 s of speech.

    python -m loadtests.pronunciation_speed --data DIR [--limit 60] [--scorer auto]

For each of ``--limit`` seeded recordings of DIR (a Kaldi-style folder), in one
process with one thread (``OMP_NUM_THREADS=1``, ``torch.set_num_threads(1)``),
CPU time (``process_time``) of: the forced alignment alone, the scorer (alignment,
posteriors, judge), and the whole assessment (recognition with a one-sentence
state model built fresh, alignment, scoring, miscues). Each is scaled to 5 s of
audio per utterance; the first utterance only warms up.

Last line: {"utterances", "audio_s_mean", "align_ms_per_5s_p50", "align_ms_per_5s_p95",
"score_ms_per_5s_p50", "score_ms_per_5s_p95", "assess_ms_per_5s_p50", "assess_ms_per_5s_p95"}
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from loadtests.harness import percentile, report  # noqa: E402
from speech.asr import create_recognizer  # noqa: E402
from speech.eval.data import DataDir, read_wav  # noqa: E402
from speech.pronunciation.assessor import SCORERS, Assessor, create_scorer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scorer", default="auto", choices=SCORERS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = DataDir.load(args.data)
    utts = random.Random(args.seed).sample(list(data.utterances),
                                           min(args.limit + 1, len(data.utterances)))
    scorer = create_scorer(args.scorer)
    assessor = Assessor(scorer, recognizer=create_recognizer("pocketsphinx"))
    times: dict[str, list[float]] = {"align": [], "score": [], "assess": []}
    seconds = []
    for i, utt in enumerate(utts):
        pcm = read_wav(utt.wav)
        words = assessor.reference_words(utt.text)
        runs = {"align": (scorer.aligner.align, pcm, words),  # type: ignore[attr-defined]
                "score": (scorer.score_phones, pcm, words),
                "assess": (assessor.assess, pcm, utt.text)}
        for name, (fn, *call) in runs.items():
            start = time.process_time()
            fn(*call)
            if i:  # the first utterance loads models
                times[name].append((time.process_time() - start) * 5 * 16000 / len(pcm))
        if i:
            seconds.append(len(pcm) / 16000)
    result: dict[str, object] = {"utterances": len(seconds),
                                 "audio_s_mean": round(sum(seconds) / len(seconds), 2)}
    for name, values in times.items():
        result[f"{name}_ms_per_5s_p50"] = round(1000 * percentile(values, 50), 1)
        result[f"{name}_ms_per_5s_p95"] = round(1000 * percentile(values, 95), 1)
    result["scorer"] = scorer.name
    report(result)


if __name__ == "__main__":
    main()
