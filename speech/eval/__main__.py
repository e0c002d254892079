"""``python -m speech.eval wer --data DIR --candidates K [--limit N] [--seed S] [--engine E]``.

Progress goes to stderr; the last stdout line is one JSON object with
``utterances``, ``wer_general``, ``wer_state_lm``, ``right_candidate_rate``,
``false_accept_rate`` and ``rtf`` (plus a few diagnostic keys).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the RTF is defined

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

from speech.asr import create_recognizer  # noqa: E402
from speech.asr.match import DEFAULT_THRESHOLD  # noqa: E402
from speech.eval.data import DataDir  # noqa: E402
from speech.eval.wer import evaluate, select  # noqa: E402


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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
