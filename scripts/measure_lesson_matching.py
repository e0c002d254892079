"""Measure the hybrid matcher against the lesson-classifier blend on held-out utterances.

In process, on the local model backend (real MiniLM) with a temporary artefact
root: trains each built-in lesson's classifier through ``LessonClassifiers``,
then scores tests/dialog/data/paraphrases.json (paraphrases at their own state,
off-topic utterances at every playable state) and, when the shared data is
present, 300 HWU64 home-assistant requests at every playable state. Prints one
JSON object as its last line: accept / wrong-expectation / false-accept rates per
matcher, and the median and p95 time of one ``match`` call.

    .venv/bin/python scripts/measure_lesson_matching.py
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialog import DEFAULT_THRESHOLD, CompiledLesson, HybridMatcher, builtin_lessons  # noqa: E402
from dialog.matching.base import Matcher  # noqa: E402
from server.lesson_classifiers import LessonClassifiers  # noqa: E402
from server.lesson_matcher import LessonMatcher  # noqa: E402

DATA = ROOT / "tests" / "dialog" / "data" / "paraphrases.json"
HWU64 = Path(os.environ.get("PARLEY_SHARED_DATA", "/work/shared/data")) / "hwu64" / "hwu64.jsonl"


def hwu_sample(n: int = 300) -> list[str]:
    if not HWU64.exists():
        return []
    rows = [json.loads(line) for line in HWU64.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if not r["intent"].startswith(("takeaway", "iot_coffee"))]
    return [r["text"] for r in random.Random(0).sample(rows, n)]


async def rates(matcher: Matcher, compiled: dict[str, CompiledLesson], data: dict[str, Any],
                hwu: list[str]) -> dict[str, Any]:
    correct = wrong = total = 0
    times: list[float] = []
    for lesson_id, states in data["paraphrases"].items():
        comp = compiled[lesson_id]
        for state_name, intents in states.items():
            state = comp.lesson.state_by_name(state_name)
            ids = {e.intent: e.id for e in state.expects}
            for intent, texts in intents.items():
                for text in texts:
                    started = time.perf_counter()
                    best = (await matcher.match(text, comp, state.id))[0]
                    times.append(time.perf_counter() - started)
                    total += 1
                    if best.score >= DEFAULT_THRESHOLD:
                        correct += best.expectation_id == ids[intent]
                        wrong += best.expectation_id != ids[intent]
    out: dict[str, Any] = {"accepted": round(correct / total, 4),
                           "wrong_expectation": round(wrong / total, 4), "paraphrases": total}
    for name, texts in (("off_topic", data["off_topic"]), ("hwu64", hwu)):
        accepted = checked = 0
        for comp in compiled.values():
            for state in comp.lesson.states:
                if state.terminal:
                    continue
                for text in texts:
                    best = (await matcher.match(text, comp, state.id))[0]
                    accepted += best.score >= DEFAULT_THRESHOLD
                    checked += 1
        if checked:
            out[f"{name}_false_accept"] = round(accepted / checked, 4)
            out[f"{name}_checked"] = checked
    times.sort()
    out["match_ms_p50"] = round(1000 * statistics.median(times), 2)
    out["match_ms_p95"] = round(1000 * times[int(0.95 * (len(times) - 1))], 2)
    return out


async def main() -> dict[str, Any]:
    from serving.config import load_config
    from serving.local import LocalModels

    data = json.loads(DATA.read_text(encoding="utf-8"))
    hwu = hwu_sample()
    with tempfile.TemporaryDirectory() as tmp:
        models = LocalModels(load_config(overrides={"artefact_root": tmp}, environ={}))
        await models.start()
        try:
            compiled = {lesson.id: CompiledLesson(lesson, 1) for lesson in builtin_lessons()}
            classifiers = LessonClassifiers(models, tmp)
            started = time.perf_counter()
            for comp in compiled.values():
                classifiers.schedule(comp.lesson, comp.version)
            while not all(classifiers.ready(c.lesson_id, c.version) for c in compiled.values()):
                if time.perf_counter() - started > 600:
                    raise SystemExit("the lesson classifiers did not train within 10 minutes")
                await asyncio.sleep(0.2)
            train_s = round(time.perf_counter() - started, 1)
            hybrid = HybridMatcher(models)
            for comp in compiled.values():  # builds the example index outside the timings
                await hybrid.match("warm up", comp, comp.lesson.initial)
            result = {"train_s_both_lessons": train_s,
                      "hybrid": await rates(hybrid, compiled, data, hwu),
                      "blend": await rates(LessonMatcher(hybrid, models, classifiers),
                                           compiled, data, hwu)}
            await classifiers.close()
        finally:
            await models.close()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
