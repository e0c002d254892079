"""``python -m nlu.eval entities --data DIR [--folds 10]``: one JSON line on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.eval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    entities = sub.add_parser("entities", help="built-in entity extractor vs HWU64 annotations")
    entities.add_argument("--data", type=Path, required=True,
                          help="folder holding hwu64.jsonl (e.g. ../shared/data/hwu64)")
    entities.add_argument("--folds", default=None,
                          help='folds to score: "10", "1-9", "1,2,3" (default: all)')
    args = parser.parse_args(argv)
    from nlu.eval.entities import run

    try:
        result = run(args.data, args.folds)
    except (FileNotFoundError, ValueError) as exc:
        print(f"nlu.eval: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
