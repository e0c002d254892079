"""The background model: unigram probabilities of the US-English LM shipped with pocketsphinx.

The wheel's ``en-us.lm.bin`` (a 72k-word trigram model of conversational
English) is read once through pocketsphinx's own loader; only its unigram
distribution is used here, to give every state's open path a vocabulary of the
most frequent English words. Probabilities are natural numbers in (0, 1].
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from speech.errors import SpeechUnavailable
from speech.lm.lexicon import pocketsphinx_dict_path

__all__ = ["BackgroundUnigrams", "background_unigrams"]

_LOGBASE = 1.0001  # pocketsphinx's default log base; NGramModel.prob answers in these units
_ZERO = -536870912  # its log zero


@dataclass(frozen=True)
class BackgroundUnigrams:
    """Words of the background LM, most frequent first, with their unigram probabilities."""

    words: tuple[str, ...]
    probs: dict[str, float]

    def top(self, n: int) -> list[str]:
        """The ``n`` most frequent real words (``</s>`` and ``<s>`` excluded)."""
        out = []
        for w in self.words:
            if len(out) >= n:
                break
            if not w.startswith("<"):
                out.append(w)
        return out


@functools.lru_cache(maxsize=1)
def background_unigrams() -> BackgroundUnigrams:
    """Unigrams of the shipped LM for every word in the shipped dictionary (~72k words)."""
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover
        raise SpeechUnavailable("pocketsphinx is not installed (pip install pocketsphinx)") from exc
    config = pocketsphinx.Config(lm=None, loglevel="FATAL")
    lm = pocketsphinx.NGramModel(
        config, pocketsphinx.LogMath(_LOGBASE), pocketsphinx.get_model_path("en-us/en-us.lm.bin")
    )
    scale = math.log(_LOGBASE)
    probs: dict[str, float] = {}
    with pocketsphinx_dict_path().open(encoding="utf-8") as f:
        words = {line.split(maxsplit=1)[0].split("(")[0] for line in f if line.strip()}
    for word in [*sorted(words), "</s>"]:
        value = lm.prob([word])
        if value > _ZERO:
            probs[word] = math.exp(value * scale)
    ordered = tuple(sorted(probs, key=lambda w: (-probs[w], w)))
    return BackgroundUnigrams(words=ordered, probs=probs)
