"""Audio input: WebSocket PCM frames, uploaded files, flood control, utterance buffering.

Everything here runs per frame in the web process, so it stays numpy-only and cheap;
the checks raise the ``speech.errors`` types that ``server/`` maps to 4xx/close codes.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import numpy as np

from speech.errors import AudioTooFast, AudioTooLong, BadAudio

__all__ = [
    "MAX_FRAME_BYTES",
    "MIN_FRAME_BYTES",
    "SAMPLE_RATE",
    "RealTimeGuard",
    "Utterance",
    "check_frame",
    "decode_wav",
    "pcm16_to_float32",
]

SAMPLE_RATE = 16_000
"""The one internal rate: the browser's AudioWorklet sends it, every engine consumes it."""
MIN_FRAME_BYTES = SAMPLE_RATE * 2 * 20 // 1000  # 20 ms = 640 bytes
MAX_FRAME_BYTES = SAMPLE_RATE * 2 * 200 // 1000  # 200 ms = 6400 bytes
_MIN_FILE_RATE = 8_000  # below telephone band there is no intelligible speech to score
_MAX_FILE_RATE = 384_000


def check_frame(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Validate one binary WebSocket frame and view it as int16 samples.

    Frames are 16-bit little-endian mono PCM at 16 kHz, 20-200 ms long: a frame
    outside that range is a client bug (or abuse) and is refused rather than guessed at.
    The result is a view over ``data`` (no copy; read-only for ``bytes``).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BadAudio(f"audio frame must be binary, got {type(data).__name__}")
    size = data.nbytes if isinstance(data, memoryview) else len(data)
    expected = (f"send 20-200 ms ({MIN_FRAME_BYTES}-{MAX_FRAME_BYTES} bytes) of 16-bit "
                "little-endian mono PCM at 16 kHz")
    if size % 2:
        raise BadAudio(f"audio frame has an odd length ({size} bytes); {expected}")
    if size < MIN_FRAME_BYTES:
        raise BadAudio(f"audio frame too short: {size} bytes ({size // 32} ms); {expected}")
    if size > MAX_FRAME_BYTES:
        raise BadAudio(f"audio frame too long: {size} bytes ({size // 32} ms); {expected}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16, copy=False)


def pcm16_to_float32(samples: np.ndarray) -> np.ndarray:
    """int16 samples to float32 in [-1, 1), the scale every model here expects."""
    return samples.astype(np.float32) / 32768.0


def decode_wav(data: bytes, *, max_seconds: float = 60.0) -> np.ndarray:
    """Decode an uploaded audio file to float32 mono at 16 kHz.

    Reads whatever libsndfile reads (WAV of any sample format, FLAC, OGG...) at any
    rate and channel count; channels are averaged and the rate converted with soxr's
    high-quality resampler. The duration is checked from the header before decoding,
    so a file that claims hours is refused without allocating them.
    """
    import soundfile as sf
    import soxr

    if not data:
        raise BadAudio("empty audio upload")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate, frames, channels = f.samplerate, f.frames, f.channels
            if not _MIN_FILE_RATE <= rate <= _MAX_FILE_RATE:
                raise BadAudio(f"unsupported sample rate {rate} Hz "
                               f"(need {_MIN_FILE_RATE}-{_MAX_FILE_RATE})")
            if frames <= 0 or channels <= 0:
                raise BadAudio("audio file contains no samples")
            if frames / rate > max_seconds:
                raise AudioTooLong(f"audio is {frames / rate:.1f} s long; "
                                   f"the limit is {max_seconds:g} s")
            audio = f.read(dtype="float32", always_2d=True)
    except (BadAudio, AudioTooLong):
        raise
    except (RuntimeError, ValueError, TypeError, EOFError) as exc:  # LibsndfileError et al.
        raise BadAudio(f"cannot decode audio: {exc}") from None
    if audio.shape[0] == 0:
        raise BadAudio("audio file contains no samples")
    if not np.isfinite(audio).all():
        raise BadAudio("audio contains NaN or infinite samples")
    mono = audio.mean(axis=1, dtype=np.float32) if audio.shape[1] > 1 else audio[:, 0]
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


class RealTimeGuard:
    """Refuse clients that stream audio faster than real time (a leaky bucket).

    Each frame adds its duration to a bucket that drains at one second of audio per
    second of wall clock. Jitter and an initial buffer only fill the bucket partly;
    a flood fills it past ``burst_seconds`` and raises ``AudioTooFast``. Credit does
    not accumulate while a client is silent (the bucket never drops below empty), so
    a pause cannot be spent later as a flood. The default 3 s absorbs a mobile network
    stall of that length (TCP then delivers the backlog at once), yet a 10x flood is
    refused within ~0.35 s of wall time.
    """

    def __init__(self, *, burst_seconds: float = 3.0, sample_rate: int = SAMPLE_RATE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if burst_seconds <= 0:
            raise ValueError("burst_seconds must be positive")
        self.burst_seconds = burst_seconds
        self.sample_rate = sample_rate
        self._clock = clock
        self._level = 0.0  # seconds of audio received ahead of real time
        self._last: float | None = None

    @property
    def ahead_seconds(self) -> float:
        """How far the client is ahead of real time as of the last frame."""
        return self._level

    def feed(self, n_samples: int) -> None:
        """Account for one frame; raise ``AudioTooFast`` (frame not counted) on a flood."""
        now = self._clock()
        level = self._level
        if self._last is not None:
            level = max(0.0, level - (now - self._last))
        level += n_samples / self.sample_rate
        self._last = now
        if level > self.burst_seconds:
            self._level = level - n_samples / self.sample_rate
            raise AudioTooFast(f"audio arrives faster than real time ({level:.1f} s ahead; "
                               f"the tolerance is {self.burst_seconds:g} s)")
        self._level = level

    def reset(self) -> None:
        self._level, self._last = 0.0, None


class Utterance:
    """A growing int16 buffer for one utterance with a hard length limit.

    Backed by a ``bytearray`` (amortised appends, 2 bytes per sample, no per-frame
    objects), so a session costs 32 KB per second of speech it is holding.
    """

    def __init__(self, *, max_seconds: float = 30.0, sample_rate: int = SAMPLE_RATE) -> None:
        self.max_samples = int(max_seconds * sample_rate)
        self.sample_rate = sample_rate
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf) // 2

    @property
    def seconds(self) -> float:
        return len(self) / self.sample_rate

    def append(self, samples: np.ndarray) -> None:
        """Append int16 samples; past the limit raise ``AudioTooLong`` and keep the buffer."""
        if samples.dtype != np.int16:
            raise TypeError(f"Utterance holds int16 samples, got {samples.dtype}")
        if len(self) + samples.size > self.max_samples:
            raise AudioTooLong(f"utterance longer than {self.max_samples / self.sample_rate:g} s")
        self._buf += samples.tobytes()

    def samples(self) -> np.ndarray:
        """A copy of the audio so far as int16 (safe to keep after ``clear``)."""
        return np.frombuffer(bytes(self._buf), dtype=np.int16)

    def clear(self) -> None:
        self._buf = bytearray()
