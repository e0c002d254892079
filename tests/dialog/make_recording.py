"""Regenerate ``data/immigration_recorded.json`` (run by hand, then review the diff).

    python -m tests.dialog.make_recording

The file is the regression baseline for ``dialog.replay`` and ``parley replay``:
a business-trip conversation that reaches the Immigration goal, with one miss.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from dialog import CompiledLesson, DialogEngine, HybridMatcher, builtin_lesson
from tests.dialog.encoders import ThreadEncoder

SCRIPT = [
    "Good morning. I'm fine, thank you.",
    "Here you are.",
    "I'm here for a conference.",
    "I'm a software engineer.",
    "For a while.",
    "About ten days.",
    "In a hotel near the river.",
    "Yes, I do.",
    "Yes, I have some cheese from home.",
    "Just cheese and some chocolate.",
]
OUT = Path(__file__).parent / "data" / "immigration_recorded.json"


async def main() -> None:
    from nlu.embeddings import SentenceEncoder

    engine = DialogEngine(HybridMatcher(ThreadEncoder(SentenceEncoder().load())))
    compiled = CompiledLesson(builtin_lesson("immigration"), 1)
    state, _ = engine.start(compiled, "recorded-immigration")
    turns = []
    for text in SCRIPT:
        state, result = await engine.turn(compiled, state, text)
        turns.append({"text": text, **result.to_dict()})
    assert state.status == "completed", state
    OUT.write_text(json.dumps(turns, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(turns)} turns to {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
