"""Build a ``StateLM`` into files once, keyed by its content hash, and reuse them.

The cache directory is ``$PARLEY_MODEL_CACHE/speech-lm/<key>/`` (default
``~/.cache/parley``), holding ``open.arpa`` (the interpolated open-path model),
``words.dict`` (pronunciations of every word either path can output),
``grammar.jsgf`` (for reading) and ``meta.json``. A build writes into a temporary
folder and renames it, so concurrent builders of one state never see half a model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from speech.lm.background import background_unigrams
from speech.lm.base import StateLM
from speech.lm.grammar import jsgf
from speech.lm.lexicon import Lexicon, default_lexicon
from speech.lm.mix import interpolate
from speech.lm.ngram import estimate_kn

__all__ = ["BuiltStateLM", "build_state_lm", "model_cache"]

_lock = threading.Lock()


def model_cache() -> Path:
    return Path(os.environ.get("PARLEY_MODEL_CACHE") or Path.home() / ".cache" / "parley")


@dataclass(frozen=True)
class BuiltStateLM:
    """The files of one built state model (paths are stable for a given ``spec.key``)."""

    spec: StateLM
    directory: Path

    @property
    def arpa(self) -> Path:
        return self.directory / "open.arpa"

    @property
    def dictionary(self) -> Path:
        return self.directory / "words.dict"

    @property
    def grammar(self) -> Path:
        return self.directory / "grammar.jsgf"


def build_state_lm(
    spec: StateLM, cache_dir: str | Path | None = None, lexicon: Lexicon | None = None
) -> BuiltStateLM:
    """The built files for ``spec``, building them on the first call for this content."""
    root = Path(cache_dir or model_cache()) / "speech-lm"
    target = root / spec.key
    built = BuiltStateLM(spec=spec, directory=target)
    if (target / "meta.json").is_file():
        return built
    root.mkdir(parents=True, exist_ok=True)
    lexicon = lexicon or default_lexicon()
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        state = estimate_kn([s.split() for s in spec.sentences], spec.order, spec.discounts)
        model = state
        if spec.background_weight > 0 and spec.background_vocab > 0:
            bg = background_unigrams()
            model = interpolate(
                state, bg.probs, spec.background_weight, bg.top(spec.background_vocab)
            )
        (tmp / "open.arpa").write_text(model.to_arpa(), encoding="utf-8")
        words = {w for w in model.vocabulary if not w.startswith("<")}
        lines = lexicon.dictionary_lines(words)
        (tmp / "words.dict").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (tmp / "grammar.jsgf").write_text(jsgf(spec.sentences), encoding="utf-8")
        meta = {
            "key": spec.key,
            "sentences": list(spec.sentences),
            "order": spec.order,
            "discounts": list(spec.discounts),
            "background_weight": spec.background_weight,
            "background_vocab": spec.background_vocab,
            "g2p_words": sorted(w for w in spec.words if lexicon.source(w) == "g2p"),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        with _lock:
            if (target / "meta.json").is_file():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                if target.exists():  # a broken leftover without meta.json
                    shutil.rmtree(target, ignore_errors=True)
                os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return built
