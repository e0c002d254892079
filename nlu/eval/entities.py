"""Span-level precision and recall of the built-in entity extractor on HWU64.

HWU64's ``annotated`` field marks slots inline ("wake me up at [time : five am]");
removing the brackets must give back the ``text`` field exactly, and every line
where it does not is skipped and counted by reason. HWU64's slot inventory is a
home assistant's, not ours, so the types are mapped explicitly:

==============  ==================  ===========================================
HWU64 slot      our types claiming  counted in recall
==============  ==================  ===========================================
date            date, duration      all spans (HWU64 "date" holds spans counted
                                    from now: "[date : ten years ago]", "the
                                    [date : next five days]")
time            time, duration,     all spans (HWU64 "time" holds durations and
                date                relative periods too: "in [time : ten
                                    minutes]", "[time : until tomorrow]", "this
                                    [time : weekend]")
timeofday       time, date          none: parts of the day ("morning") are no
                                    clock time or date in our scheme, but
                                    "tonight" / "noon" found there are right
currency_name   money, country      only spans right after a number ("twenty
                                    [pesos]"): a bare currency name is not an
                                    amount of money; HWU64 also tags countries
                                    as currencies ("dollar in [canada]")
place_name      country             only spans that are an ISO 3166 country name
                                    in ``pycountry`` (name, common or official
                                    name, "the" dropped); cities are not ours
==============  ==================  ===========================================

Precision counts a prediction as right when it overlaps a gold span of a slot
that its type may claim, whether or not that span counts in recall (so finding
"tonight" in a ``timeofday`` span is no false positive). ``number`` and
``nationality`` have no HWU64 slot and are not scored. "Exact" numbers require
the same start and end; HWU64's spans often leave words out ("next
[date : tuesday]"), so the overlap figures are the headline.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.entities import BuiltinExtractor, Entity

__all__ = ["SLOT_MAP", "Gold", "evaluate", "parse_annotated", "read_hwu64"]

#: HWU64 slot -> our entity types that may claim its spans
SLOT_MAP: dict[str, frozenset[str]] = {
    "date": frozenset({"date", "duration"}),
    "time": frozenset({"time", "duration", "date"}),
    "timeofday": frozenset({"time", "date"}),
    "currency_name": frozenset({"money", "country"}),
    "place_name": frozenset({"country"}),
}
#: the type whose F1 each recall-counted slot contributes to in ``per_type``
PRIMARY = {"date": "date", "time": "time", "currency_name": "money", "place_name": "country"}
SCORED_TYPES = ("date", "time", "duration", "money", "country")

_SLOT = re.compile(r"\[\s*(?P<slot>[^\[\]:]+?)\s*:\s*(?P<value>[^\[\]]*?)\s*\]")
_NUMBER_BEFORE = re.compile(
    r"(?:\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"(?:thir|four|fif|six|seven|eigh|nine)teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
    r"million))\s+$", re.I)


@dataclass(frozen=True, slots=True)
class Gold:
    """One annotated span of the plain text; ``counted``: part of the recall denominator."""

    slot: str
    start: int
    end: int
    counted: bool


def parse_annotated(annotated: str) -> tuple[str, list[tuple[str, int, int]]]:
    """Plain text and ``(slot, start, end)`` spans of an HWU64 ``annotated`` string."""
    parts: list[str] = []
    spans: list[tuple[str, int, int]] = []
    length, last = 0, 0
    for m in _SLOT.finditer(annotated):
        parts.append(annotated[last:m.start()])
        length += m.start() - last
        value = m.group("value")
        spans.append((m.group("slot"), length, length + len(value)))
        parts.append(value)
        length += len(value)
        last = m.end()
    parts.append(annotated[last:])
    return "".join(parts), spans


def _country_names() -> frozenset[str]:
    import pycountry

    names = set()
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            if getattr(country, attr, None):
                names.add(getattr(country, attr).casefold().removeprefix("the "))
    return frozenset(names)


def _counted(slot: str, text: str, start: int, end: int, countries: frozenset[str]) -> bool:
    if slot in ("date", "time"):
        return True
    if slot == "currency_name":
        return bool(_NUMBER_BEFORE.search(text, 0, start))
    if slot == "place_name":
        return text[start:end].casefold().removeprefix("the ") in countries
    return False


def read_hwu64(path: Path, folds: set[int] | None, skipped: Counter[str]
               ) -> Iterator[tuple[str, list[Gold]]]:
    """``(text, gold spans)`` per usable line of ``folds``; unusable lines go to ``skipped``."""
    countries = _country_names()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if folds is not None and int(row["fold"]) not in folds:
                continue
            plain, spans = parse_annotated(row["annotated"])
            if "[" in plain or "]" in plain:
                skipped["unparsed bracket"] += 1
                continue
            if plain != row["text"]:
                skipped["annotated text differs from text"] += 1
                continue
            gold = [Gold(slot, s, e, _counted(slot, plain, s, e, countries))
                    for slot, s, e in spans if slot in SLOT_MAP]
            yield plain, gold


def _overlaps(a: Entity, g: Gold) -> bool:
    return a.start < g.end and g.start < a.end


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _f1(p: float | None, r: float | None) -> float | None:
    return round(2 * p * r / (p + r), 4) if p and r else (0.0 if p is not None
                                                         and r is not None else None)


def evaluate(data: Iterable[tuple[str, list[Gold]]], progress: bool = True) -> dict[str, Any]:
    """Micro and per-type/per-slot scores of :class:`BuiltinExtractor` over ``data``."""
    extractor = BuiltinExtractor()
    pred, tp, tp_exact = Counter(), Counter(), Counter()
    gold_n, found, found_exact = Counter(), Counter(), Counter()
    utterances, seconds = 0, 0.0
    for text, gold in data:
        start = time.perf_counter()
        entities = [e for e in extractor.extract(text) if e.type in SCORED_TYPES]
        seconds += time.perf_counter() - start
        utterances += 1
        for e in entities:
            pred[e.type] += 1
            claims = [g for g in gold if e.type in SLOT_MAP[g.slot] and _overlaps(e, g)]
            tp[e.type] += bool(claims)
            tp_exact[e.type] += any((g.start, g.end) == (e.start, e.end) for g in claims)
        for g in gold:
            if not g.counted:
                continue
            gold_n[g.slot] += 1
            hits = [e for e in entities if e.type in SLOT_MAP[g.slot] and _overlaps(e, g)]
            found[g.slot] += bool(hits)
            found_exact[g.slot] += any((e.start, e.end) == (g.start, g.end) for e in hits)
        if progress and utterances % 1000 == 0:
            print(f"entities: {utterances} utterances", file=sys.stderr)
    per_type: dict[str, dict[str, Any]] = {}
    for kind in SCORED_TYPES:
        slots = [s for s, t in PRIMARY.items() if t == kind]
        n_gold = sum(gold_n[s] for s in slots)
        precision = _ratio(tp[kind], pred[kind])
        recall = _ratio(sum(found[s] for s in slots), n_gold) if slots else None
        per_type[kind] = {"predicted": pred[kind], "precision": precision,
                          "exact_precision": _ratio(tp_exact[kind], pred[kind]),
                          "gold": n_gold if slots else None, "recall": recall,
                          "f1": _f1(precision, recall) if slots else None}
    per_slot = {slot: {"gold": gold_n[slot], "claimed_by": sorted(SLOT_MAP[slot]),
                       "recall": _ratio(found[slot], gold_n[slot]),
                       "exact_recall": _ratio(found_exact[slot], gold_n[slot])}
                for slot in PRIMARY}
    precision = _ratio(sum(tp.values()), sum(pred.values()))
    recall = _ratio(sum(found.values()), sum(gold_n.values()))
    return {
        "utterances": utterances, "spans": sum(gold_n.values()), "predicted": sum(pred.values()),
        "precision": precision, "recall": recall, "f1": _f1(precision, recall),
        "exact_precision": _ratio(sum(tp_exact.values()), sum(pred.values())),
        "exact_recall": _ratio(sum(found_exact.values()), sum(gold_n.values())),
        "per_type": per_type, "per_slot": per_slot,
        "us_per_utterance": round(seconds / max(utterances, 1) * 1e6, 1),
    }


def parse_folds(spec: str | None) -> set[int] | None:
    """"10", "1-9", "1,3,5" -> a set of folds; None or "all" -> every fold."""
    if spec is None or spec == "all":
        return None
    folds: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        folds.update(range(int(low), int(high or low) + 1))
    return folds


def run(data_dir: Path, folds: str | None = None) -> dict[str, Any]:
    """Evaluate on ``data_dir/hwu64.jsonl``; the result has the skipped lines by reason."""
    path = data_dir / "hwu64.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (the HWU64 folder holds hwu64.jsonl)")
    skipped: Counter[str] = Counter()
    result = evaluate(read_hwu64(path, parse_folds(folds), skipped))
    result["folds"] = folds or "all"
    result["skipped"] = dict(skipped)
    print(f"entities: {result['utterances']} utterances scored, skipped {dict(skipped) or 0}",
          file=sys.stderr)
    return result
