"""``python -m speech.eval wer`` on a tiny Kaldi-style folder the test builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from speech.eval.data import DataDir
from speech.eval.wer import candidates_for, select
from tests.helpers import ROOT, SHARED_DATA

CORPUS = SHARED_DATA / "speechocean762-train-subset"
pytestmark = pytest.mark.skipif(
    not (CORPUS / "wav.scp").is_file(),
    reason=f"speechocean762 subset not found at {CORPUS} (the shared data folder)",
)
KEYS = {"utterances", "wer_general", "wer_state_lm", "right_candidate_rate",
        "false_accept_rate", "rtf"}


def _tiny_dir(tmp_path: Path, n: int = 5) -> Path:
    data = DataDir.load(CORPUS)
    root = tmp_path / "tiny"
    (root / "audio").mkdir(parents=True)
    text, scp, spk = [], [], []
    for u in data.utterances[:: len(data.utterances) // n][:n]:
        (root / "audio" / f"{u.id}.wav").symlink_to(u.wav)
        text.append(f"{u.id} {u.text}")
        scp.append(f"{u.id} audio/{u.id}.wav")
        spk.append(f"{u.id} {u.speaker}")
    for name, lines in (("text", text), ("wav.scp", scp), ("utt2spk", spk)):
        (root / name).write_text("\n".join(lines) + "\n")
    return root


def test_eval_command_prints_one_json_line_with_rates(tmp_path) -> None:
    root = _tiny_dir(tmp_path)
    env = {**os.environ, "PARLEY_MODEL_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "speech.eval", "wer", "--data", str(root), "--candidates", "3",
         "--limit", "4", "--seed", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    assert "utterances" in proc.stderr and "[4/4]" in proc.stderr  # progress on stderr
    last = proc.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    assert set(result) >= KEYS
    assert result["utterances"] == 4
    for key in ("wer_general", "wer_state_lm"):
        assert 0.0 <= result[key] <= 3.0
    for key in ("right_candidate_rate", "false_accept_rate"):
        assert 0.0 <= result[key] <= 1.0
    assert 0.0 < result["rtf"] < 5.0


def test_candidates_are_seeded_per_utterance_and_exclude_the_truth(tmp_path) -> None:
    data = DataDir.load(_tiny_dir(tmp_path))
    pool = sorted({u.text.lower() for u in data.utterances})
    utt = data.utterances[0]
    inside = candidates_for(utt, pool, 3, 0, True)
    assert len(inside) == 3 and utt.text.lower() in inside
    assert inside == candidates_for(utt, pool, 3, 0, True)
    outside = candidates_for(utt, pool, 3, 0, False)
    assert len(outside) == 3 and utt.text.lower() not in outside
    halves = select(data, "tune"), select(data, "test")
    assert not {u.id for u in halves[0]} & {u.id for u in halves[1]}
    assert len(select(data, "all", limit=2, seed=3)) == 2


def test_missing_files_are_reported(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        DataDir.load(tmp_path)
