"""Helpers the suites share (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

ADMIN_KEY = "admin-test-key-0123456789"
ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "tests" / "dialog" / "data" / "immigration_recorded.json"


def _shared_data() -> Path:
    """``PARLEY_SHARED_DATA``, else ``../shared/data`` beside the checkout, else /work/shared/data
    (a clone elsewhere, e.g. a fresh CI checkout under /tmp, still finds the data)."""
    if os.environ.get("PARLEY_SHARED_DATA"):
        return Path(os.environ["PARLEY_SHARED_DATA"])
    for candidate in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "data"


SHARED_DATA = _shared_data()


def with_pause(pcm: np.ndarray, seconds: float) -> np.ndarray:
    """A learner stopping mid-sentence to find a word: ``seconds`` of silence inserted at
    the quietest 50 ms of the recording's middle half (a gap between two words)."""
    energy = [np.sqrt(np.mean(pcm[i:i + 800].astype(float) ** 2))
              for i in range(0, len(pcm) - 800, 800)]
    quiet = min(range(len(energy) // 4, 3 * len(energy) // 4), key=energy.__getitem__)
    cut = quiet * 800 + 400
    return np.concatenate([pcm[:cut], np.zeros(int(seconds * 16000), np.int16), pcm[cut:]])


def new_tenant(client, name: str) -> dict:
    resp = client.post("/v1/admin/tenants", json={"name": name},
                       headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return {"id": body["id"], "key": body["key"]["key"],
            "headers": {"Authorization": f"Bearer {body['key']['key']}"}}


def assert_error(resp, status: int, code: str | None = None) -> dict:
    """The one error shape, with the expected status (and code)."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def reading_lesson(corpus, truths: list[str], check: dict | None = None) -> dict:
    """A two-state lesson: read one of ``truths`` (among eight other corpus sentences) aloud."""
    from speech.lm import normalize

    others = sorted({normalize(u.text) for u in corpus.utterances} - set(truths))[::40][:8]
    ids = {name: str(uuid.uuid4()) for name in ("read", "done")}
    return {"id": "reading", "title": "Read aloud", "mission": "Read a sentence aloud",
            "initial": ids["read"], "states": [
                {"id": ids["read"], "name": "read", "lines": ["Please read your sentence."],
                 "expects": [{"id": str(uuid.uuid4()), "target": ids["done"], "intent": "read",
                              "examples": [*truths, *others],
                              **({"pronunciation": check} if check else {})}]},
                {"id": ids["done"], "name": "done", "lines": ["Well read, thank you!"],
                 "kind": "goal"}]}
