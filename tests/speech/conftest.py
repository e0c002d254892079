"""Fixtures of the speech suite: the shared VAD engine and the real recordings."""

from __future__ import annotations

import json

import pytest

from tests.speech.helpers import ALIGNMENT, CORPUS, Recording


@pytest.fixture(scope="session")
def silero():
    from speech.vad.silero import SileroVad

    return SileroVad()


@pytest.fixture(scope="session")
def recordings() -> list[Recording]:
    """The aligned utterances (see make_alignment.py), in corpus order."""
    if not (CORPUS / "wav.scp").is_file():
        pytest.skip(f"speech corpus not found at {CORPUS} (the shared data folder)")
    import soundfile as sf

    wavs = dict(line.split() for line in (CORPUS / "wav.scp").read_text().splitlines() if line)
    texts = dict(line.split(None, 1) for line in (CORPUS / "text").read_text().splitlines()
                 if line)
    out = []
    for utt, span in sorted(json.loads(ALIGNMENT.read_text()).items()):
        pcm, rate = sf.read(CORPUS / wavs[utt], dtype="int16")
        assert rate == 16_000 and pcm.ndim == 1
        out.append(Recording(utt, texts[utt], pcm, span["start"], span["end"]))
    return out
