"""Forced alignment of canonical phones to audio with pocketsphinx's acoustic model.

Two passes over the audio on one decoder (the only way pocketsphinx 5.1.1 aligns
phones reliably, see FACTS): a word alignment of the reference, then
``set_alignment()`` and a phone/state alignment. ``compallsen`` scores every
senone in every frame, so pocketsphinx's per-frame normalisation is against the
best senone of *any* phone: a phone's aligned score per frame is then already a
goodness of pronunciation (log likelihood of the aligned states minus that of
the best competing state over the same frames, ln units, ≤ 0). The
phone-loop denominator of the textbook GOP costs one more pass (~0.3 s per 5 s
of speech) and was not better on the evaluation (README, Pronunciation).

Each reference word carries its own phones, so a corrupted or learner-specific
pronunciation is aligned exactly as given; words are registered in the decoder
dictionary under a private token per distinct pronunciation.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from speech.asr.base import MIN_UTTERANCE_SAMPLES, SAMPLE_RATE, as_pcm16
from speech.asr.pocketsphinx import SENSCR_SHIFT
from speech.errors import BadAudio, NotAligned, SpeechUnavailable

__all__ = ["FRAME_RATE", "AlignedPhone", "AlignedWord", "Aligner", "Alignment"]

FRAME_RATE = 100  # pocketsphinx frames per second
_WIDE = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}

_MAX_TOKENS = 5000  # a decoder that learned this many private words is replaced


@dataclass(frozen=True)
class AlignedPhone:
    """One phone: frames ``[start, end)``, summed ln score and its worst HMM state per frame."""

    phone: str
    start: int
    end: int
    score: float
    worst_state: float

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def per_frame(self) -> float:
        return self.score / max(1, self.frames)


@dataclass(frozen=True)
class AlignedWord:
    word: str
    start: int
    end: int
    phones: tuple[AlignedPhone, ...]


@dataclass(frozen=True)
class Alignment:
    """Reference words in order, plus the silences pocketsphinx put between them."""

    words: tuple[AlignedWord, ...]
    silences: tuple[tuple[int, int], ...]
    frames: int


def _ps() -> Any:
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - pocketsphinx is a core dependency
        raise SpeechUnavailable("pocketsphinx is not installed (pip install pocketsphinx)") from exc
    return pocketsphinx


class _Decoder:
    """A decoder and the private words it has learned (decoders are not thread-safe)."""

    def __init__(self, config: dict[str, Any]) -> None:
        ps = _ps()
        self.dec = ps.Decoder(lm=None, bestpath=False, **config)
        self.ln = self.dec.get_logmath()
        self.tokens: dict[tuple[str, ...], str] = {}

    def token(self, phones: tuple[str, ...]) -> str:
        tok = self.tokens.get(phones)
        if tok is None:
            tok = f"p{len(self.tokens)}"
            self.dec.add_word(tok, " ".join(phones), False)
            self.tokens[phones] = tok
        return tok

    def units(self, score: int) -> float:
        # alignment scores are senone scores: log base 1.0001 shifted right by 10 bits
        return float(self.ln.log_to_ln(score << SENSCR_SHIFT))


class Aligner:
    """Thread-safe forced aligner; idle decoders are pooled (~0.2 s to create one).

    ``score_all=False`` skips scoring every senone (4x faster): the boundaries are
    the same, but phone scores are then relative to the aligned states only, so
    meaningless as GOP — for scorers with an acoustic model of their own.
    """

    def __init__(self, warp: float = 1.45, score_all: bool = True) -> None:
        self.warp = warp
        self.score_all = score_all
        self._idle: dict[bool, list[_Decoder]] = {False: [], True: []}
        self._lock = threading.Lock()

    def _config(self, wide: bool) -> dict[str, Any]:
        config: dict[str, Any] = {"loglevel": "FATAL", "compallsen": self.score_all}
        if self.warp != 1.0:  # the recogniser's warp (children's voices), see speech.asr
            config.update(warp_type="inverse_linear", warp_params=f"{self.warp:g}")
        if wide:
            config.update(_WIDE)
        return config

    def _get(self, wide: bool) -> _Decoder:
        with self._lock:
            if self._idle[wide]:
                return self._idle[wide].pop()
        return _Decoder(self._config(wide))

    def _put(self, dec: _Decoder, wide: bool) -> None:
        if len(dec.tokens) < _MAX_TOKENS:
            with self._lock:
                if len(self._idle[wide]) < 8:
                    self._idle[wide].append(dec)

    def align(self, pcm: np.ndarray, words: Sequence[tuple[str, Sequence[str]]]) -> Alignment:
        """Align ``(word, phones)`` pairs to 16 kHz audio.

        A reference the default beams lose is tried again with wide ones (half of
        the failures on other speakers' sentences came back so). ``NotAligned``
        means the audio cannot hold the reference at all — most often a reference
        far longer than the speech (every phone needs three 10 ms frames).
        """
        pcm = as_pcm16(pcm)
        if len(pcm) < MIN_UTTERANCE_SAMPLES:
            raise BadAudio("the audio is too short to assess (under 0.1 s)")
        if not words:
            raise BadAudio("the reference has no words to align")
        for wide in (False, True):
            dec = self._get(wide)
            try:
                result = self._align(dec, pcm, words)
            except RuntimeError as exc:  # "Failed to set up sub-word alignment" and kin
                failure = exc
                continue
            finally:
                self._put(dec, wide)
            return result
        raise NotAligned(f"the audio could not be aligned to the reference ({failure})")

    def _align(self, d: _Decoder, pcm: np.ndarray, words: Sequence[tuple[str, Sequence[str]]]
               ) -> Alignment:
        tokens = [d.token(tuple(phones)) for _, phones in words]
        raw = pcm.tobytes()
        d.dec.set_align_text(" ".join(tokens))
        for second in (False, True):
            if second:
                d.dec.set_alignment()
            d.dec.start_utt()
            d.dec.process_raw(raw, full_utt=True)
            d.dec.end_utt()
        out: list[AlignedWord] = []
        silences: list[tuple[int, int]] = []
        for entry in d.dec.get_alignment() or []:
            start, end = entry.start, entry.start + entry.duration
            if len(out) >= len(words) or entry.name != tokens[len(out)]:
                silences.append((start, end))
                continue
            phones = []
            for ph in entry:
                states = [d.units(st.score) / max(1, st.duration) for st in ph]
                phones.append(AlignedPhone(ph.name, ph.start, ph.start + ph.duration,
                                           d.units(ph.score), min(states, default=0.0)))
            out.append(AlignedWord(words[len(out)][0], start, end, tuple(phones)))
        if len(out) != len(words):
            raise RuntimeError(f"aligned {len(out)} of {len(words)} words")
        frames = int(len(pcm) * FRAME_RATE / SAMPLE_RATE)
        return Alignment(tuple(out), tuple(silences), frames)
