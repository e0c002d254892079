"""The Python API: ``Assessor().assess(pcm, "I would like a coffee")`` → :class:`Assessment`.

The reference's canonical phones come from the recognition lexicon (pocketsphinx's
CMUdict-derived dictionary, rule-based G2P for unknown words). When the caller
has no transcript of what was said (the REST route; the WebSocket passes the
turn's), the assessor recognises the audio itself with a one-sentence state LM
of the reference — the grammar pass accepts the sentence when the audio carries
it, the open path transcribes anything else — so omissions and insertions show.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from speech.asr.base import Recognizer, as_pcm16
from speech.errors import BadReference, NotAligned
from speech.lm.base import StateLM, normalize
from speech.lm.lexicon import Lexicon, default_lexicon
from speech.pronunciation.assess import assemble, unaligned
from speech.pronunciation.base import Assessment, Scorer

__all__ = ["MAX_REFERENCE_WORDS", "SCORERS", "Assessor", "create_scorer", "reference_words"]

log = logging.getLogger(__name__)

MAX_REFERENCE_WORDS = 60


SCORERS = ("auto", "whisper", "learned", "gop")


def create_scorer(method: str = "auto", **options: Any) -> Scorer:
    """A scorer by name (README, Pronunciation):

    - ``"whisper"``: the learned scorer on Whisper-base encoder states (the most
      accurate; needs the ``whisper`` extra and its verified weights);
    - ``"learned"``: the learned scorer on filterbanks (torch alone; ``artefact=PATH``);
    - ``"gop"``: pocketsphinx's scores alone, the baseline;
    - ``"auto"`` (default): ``whisper`` when it loads, else ``learned``, so a machine
      without the extra still scores.
    """
    if method == "auto":
        from speech.errors import SpeechUnavailable

        try:
            return create_scorer("whisper", **options)
        except SpeechUnavailable as exc:
            log.warning("pronunciation: the whisper scorer is unavailable (%s); "
                        "using the filterbank scorer", exc)
            return create_scorer("learned", **{k: v for k, v in options.items()
                                              if k in ("artefact", "aligner")})
    if method in ("learned", "whisper"):
        from speech.pronunciation.learned import WHISPER_ARTEFACT, LearnedScorer

        if method == "whisper":
            options = {"artefact": WHISPER_ARTEFACT, **options}
        return LearnedScorer(**options)
    if method == "gop":
        from speech.pronunciation.gop import GopScorer

        return GopScorer(**options)
    raise BadReference(f"unknown pronunciation scorer {method!r} (known: {', '.join(SCORERS)})")


def reference_words(reference: str, lexicon: Lexicon | None = None
                    ) -> list[tuple[str, tuple[str, ...]]]:
    """Normalised words with the lexicon's first pronunciation each."""
    words = normalize(reference).split()
    if not words:
        raise BadReference("the reference text has no words")
    if len(words) > MAX_REFERENCE_WORDS:
        raise BadReference(f"the reference has {len(words)} words; at most "
                           f"{MAX_REFERENCE_WORDS} are assessed at once")
    lexicon = lexicon or default_lexicon()
    return [(w, tuple(lexicon.lookup(w)[0].split())) for w in words]


class Assessor:
    def __init__(self, scorer: Scorer | None = None, recognizer: Recognizer | None = None,
                 lexicon: Lexicon | None = None) -> None:
        self.scorer = scorer or create_scorer()
        self.recognizer = recognizer
        self.lexicon = lexicon or default_lexicon()

    def reference_words(self, reference: str) -> list[tuple[str, tuple[str, ...]]]:
        return reference_words(reference, self.lexicon)

    def recognize(self, pcm: np.ndarray, reference: str) -> str | None:
        if self.recognizer is None:
            return None
        return self.recognizer.recognize(pcm, StateLM.from_sentences([reference])).text

    def assess(self, pcm: np.ndarray, reference: str, recognized: str | None = None,
               recognize: bool = True) -> Assessment:
        """Score ``pcm`` (16 kHz mono) against ``reference``; ``recognized`` skips recognition."""
        pcm = as_pcm16(pcm)
        words = self.reference_words(reference)
        if recognized is None and recognize:
            recognized = self.recognize(pcm, reference)
        try:
            scored = self.scorer.score_phones(pcm, words)
        except NotAligned:
            return unaligned(words, normalize(reference), recognized, self.scorer.name)
        return assemble(scored.alignment, scored.probs, normalize(reference), recognized,
                        self.scorer.name, scored.match)
