"""Pronunciation assessment for both backends: PCM and a reference text in, the assessment out.

The caller passes what was recognised (the WebSocket turn has it; the REST route
asks the ``asr`` family first with the reference as the state's one sentence),
so this family holds only the scorer: a pocketsphinx aligner and PhoneNet
posteriors on Whisper encoder states (the ``auto`` default), ~0.24 s of CPU for
5 s of speech (~0.16 s with the filterbank fallback). Results are the plain dict of
:meth:`speech.pronunciation.base.Assessment.to_dict`.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np

from serving.base import BadInput, ModelUnavailable
from serving.validation import check_pcm

__all__ = ["MAX_REFERENCE_CHARS", "PronunciationModel"]

MAX_REFERENCE_CHARS = 500
_MAX_SECONDS = 30.0


class PronunciationModel:
    family = "pronunciation"

    def __init__(self, method: str = "auto", options: dict[str, Any] | None = None,
                 max_seconds: float = _MAX_SECONDS) -> None:
        self.method = method
        self.options = dict(options or {})
        self.max_seconds = max_seconds
        self._assessor: Any = None
        self._lock = threading.Lock()
        self.counts = {"assessed": 0, "audio_s": 0.0}

    def load(self) -> PronunciationModel:
        with self._lock:
            if self._assessor is None:
                from speech.errors import BadAudio, SpeechError
                from speech.pronunciation.assessor import Assessor, create_scorer

                try:
                    assessor = Assessor(create_scorer(self.method, **self.options))
                    # load the aligner's acoustic model and the lexicon now, not in a turn
                    with contextlib.suppress(BadAudio):  # silence may not align: fine
                        assessor.assess(np.zeros(16000, np.int16), "hello", recognize=False)
                except (SpeechError, OSError, RuntimeError) as exc:
                    raise ModelUnavailable(self.family, f"{type(exc).__name__}: {exc}") from exc
                self._assessor = assessor
        return self

    def assess(self, pcm: bytes, reference: str, recognized: str | None = None
               ) -> dict[str, Any]:
        from speech.errors import SpeechError

        samples = check_pcm(self.family, pcm, self.max_seconds)
        if not isinstance(reference, str) or len(reference) > MAX_REFERENCE_CHARS:
            raise BadInput(self.family, f"reference: a string of at most {MAX_REFERENCE_CHARS} "
                           "characters", "bad_reference")
        if recognized is not None and not isinstance(recognized, str):
            raise BadInput(self.family, "recognized must be a string")
        assessor = self.load()._assessor
        try:
            result = assessor.assess(samples, reference, recognized, recognize=False)
        except SpeechError as exc:
            if 400 <= exc.status < 500:
                raise BadInput(self.family, exc.message, exc.code) from None
            raise
        self.counts["assessed"] += 1
        self.counts["audio_s"] += len(samples) / 16000
        return result.to_dict()

    def stats(self) -> dict[str, Any]:
        return {"method": self.method, **self.counts}
