"""How well a matcher tells expected answers from everything else, over held-out data.

One implementation for the statistical tests and ``scripts/measure_lesson_matching.py``,
so the rates the README reports and the rates the tests assert are the same sums.
The data: ``paraphrases`` is ``{lesson_id: {state name: {intent: [texts]}}}`` (each
text should match that intent's expectation at that state); other texts (off-topic
talk, HWU64 requests) should match nothing at any playable state.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dialog.machine import CompiledLesson
from dialog.matching.base import DEFAULT_THRESHOLD, Matcher

__all__ = ["ParaphraseRates", "false_accepts", "home_assistant_requests", "paraphrase_rates"]

Paraphrases = Mapping[str, Mapping[str, Mapping[str, list[str]]]]


@dataclass
class ParaphraseRates:
    accepted: float  # the right expectation, at or above the threshold
    wrong: float  # another expectation, at or above the threshold
    total: int
    misses: list[tuple[str, str, float]] = field(default_factory=list)  # state, text, score
    seconds: list[float] = field(default_factory=list)  # one per match call


async def paraphrase_rates(matcher: Matcher, compiled: Mapping[str, CompiledLesson],
                           paraphrases: Paraphrases, threshold: float = DEFAULT_THRESHOLD
                           ) -> ParaphraseRates:
    """Each paraphrase matched at its own state."""
    correct = wrong = total = 0
    misses: list[tuple[str, str, float]] = []
    seconds: list[float] = []
    for lesson_id, states in paraphrases.items():
        comp = compiled[lesson_id]
        for state_name, intents in states.items():
            state = comp.lesson.state_by_name(state_name)
            ids = {e.intent: e.id for e in state.expects}
            for intent, texts in intents.items():
                for text in texts:
                    started = time.perf_counter()
                    best = (await matcher.match(text, comp, state.id))[0]
                    seconds.append(time.perf_counter() - started)
                    total += 1
                    ok = best.score >= threshold and best.expectation_id == ids[intent]
                    correct += ok
                    wrong += best.score >= threshold and not ok
                    if not ok:
                        misses.append((state_name, text, round(best.score, 2)))
    return ParaphraseRates(correct / total, wrong / total, total, misses, seconds)


async def false_accepts(matcher: Matcher, compiled: Mapping[str, CompiledLesson],
                        texts: list[str], threshold: float = DEFAULT_THRESHOLD
                        ) -> tuple[int, int]:
    """(accepted, checked): texts that match something, tried at every playable state."""
    accepted = checked = 0
    for comp in compiled.values():
        for state in comp.lesson.states:
            if state.terminal:
                continue
            for text in texts:
                accepted += (await matcher.match(text, comp, state.id))[0].score >= threshold
                checked += 1
    return accepted, checked


def home_assistant_requests(hwu64_jsonl: Path, n: int = 300) -> list[str]:
    """A fixed sample of HWU64 requests that no built-in lesson state should accept.

    Café and food-ordering intents are left out: they can be genuine answers in the
    café lesson.
    """
    rows = [json.loads(line) for line in hwu64_jsonl.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if not r["intent"].startswith(("takeaway", "iot_coffee"))]
    return [r["text"] for r in random.Random(0).sample(rows, n)]
