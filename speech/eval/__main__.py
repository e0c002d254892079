"""Evaluation commands; progress goes to stderr, the last stdout line is one JSON object.

- ``python -m speech.eval wer --data DIR --candidates K [--limit N] [--seed S] [--engine E]``:
  ``utterances``, ``wer_general``, ``wer_state_lm``, ``right_candidate_rate``,
  ``false_accept_rate``, ``rtf`` (plus a few diagnostic keys);
- ``python -m speech.eval pronunciation --data DIR [--limit N] [--seed S] [--scorer M]``:
  ``utterances``, ``phone_auc``, ``word_auc``, ``wrong_precision``, ``wrong_recall``,
  ``true_vs_other_rate``, ``sec_per_utt``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the RTF is defined

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402

from speech.asr import create_recognizer  # noqa: E402
from speech.asr.match import DEFAULT_THRESHOLD  # noqa: E402
from speech.eval.data import DataDir  # noqa: E402
from speech.eval.wer import evaluate, select  # noqa: E402
from speech.pronunciation.assessor import SCORERS  # noqa: E402


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _options(pairs: list[str]) -> dict[str, object]:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key.replace("-", "_")] = _value(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m speech.eval")
    sub = parser.add_subparsers(dest="command", required=True)
    wer = sub.add_parser("wer", help="recognition WER with and without per-state LMs")
    wer.add_argument("--data", required=True, help="Kaldi-style dir: text, wav.scp [, utt2spk]")
    wer.add_argument("--candidates", type=int, default=20, help="expected sentences per state")
    wer.add_argument("--limit", type=int, default=None, help="evaluate a seeded sample of N")
    wer.add_argument("--seed", type=int, default=0)
    wer.add_argument("--engine", default="pocketsphinx")
    wer.add_argument("--split", choices=("all", "tune", "test"), default="all",
                     help="speaker half: tune = even-indexed speakers, test = odd")
    wer.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                     help="matcher acceptance: max word error rate against a candidate")
    wer.add_argument("--no-general", action="store_true", help="skip the general path")
    wer.add_argument("--engine-opt", action="append", default=[], metavar="KEY=VALUE")
    wer.add_argument("--lm-opt", action="append", default=[], metavar="KEY=VALUE")
    pron = sub.add_parser("pronunciation", help="mispronunciation detection, controlled errors")
    pron.add_argument("--data", required=True, help="Kaldi-style dir: text, wav.scp [, utt2spk]")
    pron.add_argument("--limit", type=int, default=None, help="evaluate a seeded sample of N")
    pron.add_argument("--seed", type=int, default=0)
    pron.add_argument("--split", choices=("all", "tune", "test"), default="all")
    pron.add_argument("--scorer", default="auto", choices=SCORERS,
                      help="auto (default: whisper when it loads, else learned), whisper, "
                      "learned or gop")
    pron.add_argument("--scorer-opt", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    if args.command == "pronunciation":
        return _pronunciation(args)
    if args.candidates < 2:
        parser.error("--candidates must be at least 2")

    data = DataDir.load(args.data)
    utts = select(data, args.split, args.limit, args.seed)
    recognizer = create_recognizer(args.engine, **_options(args.engine_opt))
    print(f"{len(utts)} utterances from {args.data}, K={args.candidates}, engine={args.engine}",
          file=sys.stderr, flush=True)
    totals = evaluate(recognizer, data, utts, args.candidates, args.seed,
                      general=not args.no_general, threshold=args.threshold,
                      lm_params=_options(args.lm_opt))
    summary = totals.summary(general=not args.no_general)
    summary.update(candidates=args.candidates, split=args.split, seed=args.seed,
                   engine=args.engine)
    print(json.dumps(summary), flush=True)
    return 0


def _pronunciation(args: argparse.Namespace) -> int:
    from speech.eval.pronunciation import evaluate as evaluate_pron
    from speech.eval.pronunciation import trained_speakers
    from speech.pronunciation.assessor import Assessor, create_scorer

    data = DataDir.load(args.data)
    assessor = Assessor(create_scorer(args.scorer, **_options(args.scorer_opt)),
                        recognizer=create_recognizer("pocketsphinx"))
    seen = trained_speakers(assessor, data)
    utts = [u for u in select(data, args.split) if u.speaker not in seen]
    if args.limit is not None and args.limit < len(utts):
        utts = sorted(random.Random(args.seed).sample(utts, args.limit), key=lambda u: u.id)
    print(f"{len(utts)} utterances from {args.data} (left out {len(seen)} speakers the scorer "
          f"was trained on), scorer={args.scorer}", file=sys.stderr, flush=True)
    summary = evaluate_pron(assessor, data, utts, args.seed).summary()
    summary.update(scorer=assessor.scorer.name, split=args.split, seed=args.seed,
                   left_out_speakers=len(seen))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
