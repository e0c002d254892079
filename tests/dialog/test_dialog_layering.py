"""dialog/ stays a pure library: no web, storage, serving or model runtime behind it."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = {
    "server", "serving", "nlu", "ray", "starlette", "httpx", "uvicorn", "aiohttp", "requests",
    "sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "redis", "torch", "sentence_transformers",
}


def test_importing_dialog_loads_nothing_forbidden():
    code = (
        "import json, sys, dialog, dialog.replay, dialog.matching.hybrid; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert FORBIDDEN.isdisjoint(json.loads(out.stdout))
