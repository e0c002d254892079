"""Kaldi-style data directories: ``text``, ``wav.scp`` (and optionally ``utt2spk``).

``text`` lines are ``UTTID SENTENCE``; ``wav.scp`` lines are ``UTTID PATH`` with
the path relative to the directory (or absolute). Piped ``wav.scp`` commands
are not supported. Audio must be 16 kHz mono 16-bit PCM WAV, read with the
standard library so evaluation needs nothing beyond numpy.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speech.errors import BadAudio

__all__ = ["DataDir", "Utterance", "read_wav"]


@dataclass(frozen=True)
class Utterance:
    id: str
    text: str
    wav: Path
    speaker: str


def _pairs(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split(maxsplit=1)
        if len(parts) == 2:
            out[parts[0]] = parts[1].strip()
    return out


@dataclass(frozen=True)
class DataDir:
    root: Path
    utterances: tuple[Utterance, ...]

    @classmethod
    def load(cls, root: str | Path) -> DataDir:
        root = Path(root)
        for name in ("text", "wav.scp"):
            if not (root / name).is_file():
                raise FileNotFoundError(f"{root} has no {name} (a Kaldi-style data directory)")
        text, wavs = _pairs(root / "text"), _pairs(root / "wav.scp")
        spk = _pairs(root / "utt2spk") if (root / "utt2spk").is_file() else {}
        utts = []
        for uid in sorted(text.keys() & wavs.keys()):
            if wavs[uid].endswith("|"):
                raise ValueError(f"piped wav.scp entries are not supported ({uid})")
            path = Path(wavs[uid])
            utts.append(Utterance(uid, text[uid], path if path.is_absolute() else root / path,
                                  spk.get(uid, uid)))
        if not utts:
            raise ValueError(f"{root}: no utterance has both a text and a wav.scp line")
        return cls(root, tuple(utts))


def read_wav(path: Path) -> np.ndarray:
    """16 kHz mono int16 samples of a PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise BadAudio(f"{path}: need 16 kHz mono 16-bit PCM, got {w.getparams()}")
            return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    except (wave.Error, EOFError) as exc:
        raise BadAudio(f"{path}: not a PCM WAV file ({exc})") from exc
