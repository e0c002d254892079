"""A finite-state grammar of a state's expected sentences, as pocketsphinx transitions.

Each sentence is its own chain of states from the start state to the final
state, entered with probability 1/K, so the grammar allows exactly the
sentences and the recogniser's best path names one of them (or fails to reach
the final state, which the engine reads as "not one of these"). JSGF text of the
same grammar is written next to the built model for people to read.
"""

from __future__ import annotations

__all__ = ["fsg_transitions", "jsgf"]

Transition = tuple[int, int, float, str]


def fsg_transitions(sentences: tuple[str, ...] | list[str]) -> tuple[int, int, list[Transition]]:
    """``(start, final, transitions)`` for ``Decoder.create_fsg`` (state 0 → state 1)."""
    start, final, next_state = 0, 1, 2
    transitions: list[Transition] = []
    k = len(sentences)
    for sentence in sentences:
        words = sentence.split()
        prev = start
        for i, word in enumerate(words):
            to = final if i == len(words) - 1 else next_state
            transitions.append((prev, to, 1.0 / k if i == 0 else 1.0, word))
            if to != final:
                prev, next_state = to, next_state + 1
    return start, final, transitions


def jsgf(sentences: tuple[str, ...] | list[str], name: str = "state") -> str:
    body = "\n    | ".join(f"( {s} )" for s in sentences)
    return f"#JSGF V1.0;\ngrammar {name};\npublic <{name}> =\n      {body} ;\n"
