"""Audio validation, result types and the candidate matcher (no decoding)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from speech.asr import Recognition, Word, as_pcm16, create_recognizer, match
from speech.asr.match import edit_distance
from speech.errors import BadAudio, SpeechUnavailable


def test_as_pcm16_accepts_int16_and_float32() -> None:
    pcm = np.array([0, 100, -100], dtype=np.int16)
    assert as_pcm16(pcm) is not None and as_pcm16(pcm).dtype == np.int16
    f = np.array([0.0, 0.5, -1.0, 2.0], dtype=np.float32)
    assert as_pcm16(f).tolist() == [0, 16384, -32767, 32767]
    assert as_pcm16(np.zeros((5, 1), np.int16)).shape == (5,)


@pytest.mark.parametrize("bad", [
    np.zeros((10, 2), np.int16),
    np.array([0.0, np.nan], np.float32),
    np.zeros(4, np.int32),
    [0, 1, 2],
])
def test_as_pcm16_rejects_bad_audio(bad) -> None:
    with pytest.raises(BadAudio):
        as_pcm16(bad)


def test_results_are_frozen() -> None:
    r = Recognition("hi", (Word("hi", 0.1, 0.4, 0.9),), 0.9, "grammar", 1.0)
    assert r.expected
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.text = "other"  # type: ignore[misc]


def test_matcher_accepts_close_text_and_rejects_other_text() -> None:
    cands = ["I'd like a coffee please", "A tea please", "Nothing for me thanks"]
    m = match("i'd like a coffee", cands)
    assert m.accepted and m.index == 0 and m.error_rate == pytest.approx(0.2)
    assert match("a tea please", cands).candidate == "A tea please"
    assert not match("where is the station", cands).accepted
    assert not match("", cands).accepted
    assert not match("tea", cands, threshold=0.5).accepted  # 2 of 3 words missing
    assert edit_distance(["a", "b", "c"], ["a", "x", "c", "d"]) == 2


def test_unknown_engine_is_unavailable() -> None:
    with pytest.raises(SpeechUnavailable):
        create_recognizer("nope")
