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
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialog import CompiledLesson, HybridMatcher, builtin_lessons  # noqa: E402
from dialog.matching.base import Matcher  # noqa: E402
from dialog.matching.evaluate import (  # noqa: E402
    false_accepts,
    home_assistant_requests,
    paraphrase_rates,
)
from server.lesson_classifiers import LessonClassifiers  # noqa: E402
from server.lesson_matcher import LessonMatcher  # noqa: E402

DATA = ROOT / "tests" / "dialog" / "data" / "paraphrases.json"
HWU64 = Path(os.environ.get("PARLEY_SHARED_DATA", "/work/shared/data")) / "hwu64" / "hwu64.jsonl"


async def rates(matcher: Matcher, compiled: dict[str, CompiledLesson], data: dict[str, Any],
                hwu: list[str]) -> dict[str, Any]:
    found = await paraphrase_rates(matcher, compiled, data["paraphrases"])
    out: dict[str, Any] = {"accepted": round(found.accepted, 4),
                           "wrong_expectation": round(found.wrong, 4), "paraphrases": found.total}
    for name, texts in (("off_topic", data["off_topic"]), ("hwu64", hwu)):
        accepted, checked = await false_accepts(matcher, compiled, texts)
        if checked:
            out[f"{name}_false_accept"] = round(accepted / checked, 4)
            out[f"{name}_checked"] = checked
    times = sorted(found.seconds)
    out["match_ms_p50"] = round(1000 * statistics.median(times), 2)
    out["match_ms_p95"] = round(1000 * times[int(0.95 * (len(times) - 1))], 2)
    return out


async def main() -> dict[str, Any]:
    from serving.config import load_config
    from serving.local import LocalModels

    data = json.loads(DATA.read_text(encoding="utf-8"))
    hwu = home_assistant_requests(HWU64) if HWU64.exists() else []
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
