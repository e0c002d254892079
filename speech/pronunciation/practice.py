"""Practice words for a learner's weakest phonemes: real, common, dense in those sounds.

Candidates are the ``vocabulary`` most frequent words of the background LM
(pocketsphinx's US-English model, :mod:`speech.lm.background`), alphabetic and
at least three letters, with the dictionary's first pronunciation. A word's
density is the share of its phones that are weak ones; the drill takes words
round-robin over the weak phonemes (weakest first), each time the densest
unused word for that phoneme, ties going to the more frequent word, so every
weak sound gets practised and common words come first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from speech.lm.background import background_unigrams
from speech.lm.lexicon import Lexicon, default_lexicon

__all__ = ["PracticeWord", "practice_words"]


@dataclass(frozen=True)
class PracticeWord:
    word: str
    phones: tuple[str, ...]
    targets: tuple[str, ...]  # the weak phonemes it contains
    rank: int  # frequency rank in the background LM (0 = most frequent)


def practice_words(weak: Sequence[str], n: int = 10, exclude: Iterable[str] = (),
                   vocabulary: int = 5000, lexicon: Lexicon | None = None) -> list[PracticeWord]:
    """Up to ``n`` words for the ``weak`` phonemes (ARPAbet, weakest first)."""
    if not weak or n <= 0:
        return []
    lexicon = lexicon or default_lexicon()
    skip = {w.lower() for w in exclude}
    weak_set = set(weak)
    pools: dict[str, list[tuple[float, int, PracticeWord]]] = {p: [] for p in weak}
    for rank, word in enumerate(background_unigrams().top(vocabulary)):
        if len(word) < 3 or not word.isalpha() or word in skip or word not in lexicon:
            continue
        phones = tuple(lexicon.lookup(word)[0].split())
        targets = tuple(p for p in dict.fromkeys(phones) if p in weak_set)
        if not targets:
            continue
        density = sum(p in weak_set for p in phones) / len(phones)
        item = PracticeWord(word, phones, targets, rank)
        for p in targets:
            pools[p].append((-density, rank, item))
    for pool in pools.values():
        pool.sort(key=lambda t: (t[0], t[1]))
    out: list[PracticeWord] = []
    used: set[str] = set()
    cursors = dict.fromkeys(weak, 0)
    while len(out) < n and any(cursors[p] < len(pools[p]) for p in weak):
        for p in weak:
            pool = pools[p]
            while cursors[p] < len(pool) and pool[cursors[p]][2].word in used:
                cursors[p] += 1
            if cursors[p] < len(pool) and len(out) < n:
                item = pool[cursors[p]][2]
                out.append(item)
                used.add(item.word)
    return out
