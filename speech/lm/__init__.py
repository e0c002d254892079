"""Per-dialog-state language models: expected sentences → grammar + interpolated n-gram."""

from speech.lm.base import StateLM, normalize, tokenize
from speech.lm.cache import BuiltStateLM, build_state_lm, model_cache
from speech.lm.lexicon import Lexicon, default_lexicon
from speech.lm.ngram import NGramModel, estimate_kn

__all__ = [
    "BuiltStateLM",
    "Lexicon",
    "NGramModel",
    "StateLM",
    "build_state_lm",
    "default_lexicon",
    "estimate_kn",
    "model_cache",
    "normalize",
    "tokenize",
]
