"""`parley replay`: what was accepted yesterday is accepted today."""

from __future__ import annotations

import json

from server.cli import main
from tests.helpers import RECORDED


def _run(monkeypatch, tmp_path, capsys, file, lesson="immigration") -> tuple[int, list[dict]]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}")
    code = main(["replay", str(file), "--lesson", lesson])
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    return code, lines


def test_recorded_immigration_conversation_replays_unchanged(monkeypatch, tmp_path, capsys):
    code, lines = _run(monkeypatch, tmp_path, capsys, RECORDED)
    summary = lines[-1]
    assert code == 0, lines
    assert summary["changed"] == 0 and summary["turns"] >= 9 and summary["version"] >= 1


def test_a_changed_answer_is_listed(monkeypatch, tmp_path, capsys):
    data = json.loads(RECORDED.read_text())
    turns = data["turns"] if isinstance(data, dict) else data
    turns[2]["text"] = "purple elephants dance quietly"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(turns))
    code, lines = _run(monkeypatch, tmp_path, capsys, changed, "immigration@1")
    assert code == 1
    diffs, summary = lines[:-1], lines[-1]
    assert [d["turn"] for d in diffs] == [2]  # only the changed turn (0-based), nothing after it
    assert diffs[0]["text"] == "purple elephants dance quietly"
    assert diffs[0]["recorded"]["outcome"] == "advanced" != diffs[0]["replayed"]["outcome"]
    assert summary["changed"] == 1
