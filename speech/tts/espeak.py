"""espeak-ng from the ``espeakng-loader`` wheel (library + voice data), through ctypes.

A formant synthesizer: robotic but clear, instant (~5 ms per sentence), offline, and
with many English accents, which suits reading a role-play line back to a learner.
espeak-ng keeps ONE synthesizer in global C state per process (voice, rate, output
callback), so every call in the process goes through ``_LOCK``: concurrent requests
from a thread pool are serialised (unlocked, they crash the process with a double
free). Measured: ~4.4 ms per 40-character sentence at 22,050 Hz, ~6 ms resampled to
16 kHz. The wave generator's phase carries over between calls, so two renderings of a
line differ by a few milliseconds: byte-identical audio comes only from a cache.
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

from speech.errors import SpeechError, SpeechUnavailable
from speech.tts.base import Synthesizer, pcm16_wav

__all__ = ["EspeakTts"]

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report errors instead of calling exit()
_POS_CHARACTER, _CHARS_UTF8, _RATE = 1, 1, 1
_EXCLUDED = {"en-shaw"}  # Shavian alphabet: for text written in that script only

_CALLBACK_TYPE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.c_void_p)
_LOCK = threading.Lock()
_chunks: list[bytes] = []  # filled by the callback while _LOCK is held


@_CALLBACK_TYPE
def _on_audio(wav: ctypes.POINTER(ctypes.c_short), n: int, _events: int) -> int:
    if n > 0 and wav:
        _chunks.append(ctypes.string_at(wav, 2 * n))
    return 0  # continue synthesis


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte),
                ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte),
                ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


class _Library:
    """The process's one initialised espeak-ng, its native rate and English voices."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise SpeechUnavailable("espeak TTS needs 'espeakng-loader': "
                                    "pip install espeakng-loader") from exc
        data = espeakng_loader.get_data_path()
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self.native_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data.encode(),
                                                 _INITIALIZE_DONT_EXIT)
        if self.native_rate <= 0:
            raise SpeechUnavailable(f"espeak-ng failed to initialise with data at {data}")
        lib.espeak_SetSynthCallback(_on_audio)
        self.lib = lib
        self.voices = self._english_voices()
        variants = os.path.join(data, "voices", "!v")
        self.variants = frozenset(os.listdir(variants)) if os.path.isdir(variants) else frozenset()

    def _english_voices(self) -> dict[str, bytes]:
        """Language code (``en-us``) -> espeak voice name (the voice file, ``en-US``)."""
        found: dict[str, bytes] = {}
        table = self.lib.espeak_ListVoices(None)
        i = 0
        while table[i]:
            v = table[i].contents
            language = v.languages[1:].decode()  # first entry: priority byte + code
            if language.startswith("en-") and language not in _EXCLUDED:
                found[language] = v.identifier.rsplit(b"/", 1)[-1]
            i += 1
        return found


_library: _Library | None = None


def _espeak() -> _Library:
    """Initialise espeak-ng once per process; call with ``_LOCK`` held."""
    global _library
    if _library is None:
        _library = _Library()
    return _library


class EspeakTts(Synthesizer):
    """espeak-ng voices by language code (``en-us``, ``en-gb``, ``en-gb-x-rp``...).

    A voice may carry one of espeak's variants, ``en-us+f3`` (a female voice), so a
    lesson can give its characters different voices. ``rate`` is words per minute;
    the default 150 is a little slower than espeak's 175, for learners. Output is
    resampled with soxr when ``sample_rate`` differs from espeak's native 22,050 Hz.
    """

    name = "espeak-ng"
    min_rate, max_rate = 80, 450

    def __init__(self, *, sample_rate: int = 22_050, default_voice: str = "en-us",
                 default_rate: int = 150) -> None:
        with _LOCK:
            lib = _espeak()
        self._native_rate = lib.native_rate
        self._names = dict(lib.voices)
        self._variants = lib.variants
        self.voices = frozenset(self._names)
        if not 8_000 <= sample_rate <= 48_000:
            raise ValueError(f"sample_rate must be 8000-48000 Hz, got {sample_rate}")
        self.sample_rate = sample_rate
        self.default_voice, self.default_rate = default_voice, default_rate
        self.resolve("x", default_voice, default_rate)  # fail fast on bad defaults

    @property
    def variants(self) -> frozenset[str]:
        return self._variants

    def has_voice(self, voice: str) -> bool:
        base, plus, variant = voice.partition("+")
        return base in self._names and (not plus or variant in self._variants)

    def synthesize(self, text: str, *, voice: str | None = None, rate: int | None = None
                   ) -> bytes:
        text, voice, rate = self.resolve(text, voice, rate)
        return pcm16_wav(self._pcm(text, voice, rate), self.sample_rate)

    def _pcm(self, text: str, voice: str, rate: int) -> np.ndarray:
        """int16 samples at ``sample_rate`` for an already ``resolve``-d request."""
        base, plus, variant = voice.partition("+")
        name = self._names[base] + (b"+" + variant.encode() if plus else b"")
        data = text.encode("utf-8") + b"\0"
        with _LOCK:
            lib = _espeak().lib
            if lib.espeak_SetVoiceByName(name) != 0:
                raise SpeechError(f"espeak-ng could not select voice {voice!r}")
            lib.espeak_SetParameter(_RATE, rate, 0)
            _chunks.clear()
            status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                      None, None)
            lib.espeak_Synchronize()
            raw = b"".join(_chunks)
            _chunks.clear()
        if status != 0:
            raise SpeechError(f"espeak-ng synthesis failed (status {status})")
        pcm = np.frombuffer(raw, dtype=np.int16)
        if self.sample_rate != self._native_rate and pcm.size:
            import soxr

            pcm = soxr.resample(pcm, self._native_rate, self.sample_rate, quality="HQ")
        return pcm
