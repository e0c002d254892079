"""Speech recognition steered by per-dialog-state language models."""

from speech.asr.base import SAMPLE_RATE, Recognition, RecognitionStream, Recognizer, Word, as_pcm16
from speech.asr.match import Match, match

__all__ = [
    "SAMPLE_RATE",
    "Match",
    "Recognition",
    "RecognitionStream",
    "Recognizer",
    "Word",
    "as_pcm16",
    "create_recognizer",
    "match",
]


def create_recognizer(engine: str = "pocketsphinx", **options: object) -> Recognizer:
    """A recogniser by engine name: ``"pocketsphinx"`` (shipped), ``"ctc"`` (``checkpoint=PATH``)
    or ``"whisper"`` (optional extra; ``model=DIR`` or ``PARLEY_WHISPER_MODEL``).

    Engines are imported lazily, so torch and flashlight load only when asked for.
    """
    if engine == "pocketsphinx":
        from speech.asr.pocketsphinx import PocketSphinxRecognizer

        return PocketSphinxRecognizer(**options)  # type: ignore[arg-type]
    if engine == "ctc":
        from speech.asr.ctc import CtcRecognizer

        return CtcRecognizer(**options)  # type: ignore[arg-type]
    if engine == "whisper":  # optional extra; SpeechUnavailable says what is missing
        from speech.asr.whisper import WhisperRecognizer

        return WhisperRecognizer(**options)  # type: ignore[arg-type]
    from speech.errors import SpeechUnavailable

    raise SpeechUnavailable(
        f"unknown recogniser engine {engine!r} (known: pocketsphinx, ctc, whisper)"
    )
