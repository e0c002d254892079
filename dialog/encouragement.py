"""A frustrated learner hears an encouraging word before the retry.

The engine asks an ``EmotionSensor`` (the server wires the NLU emotion model in;
``dialog`` never imports ``nlu``) only after a turn that did not move on: a
miss or a pronunciation retry, where frustration builds and where an
encouraging line helps. Moving on is its own reward, and a sensor call there
would cost every turn an embedding.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ENCOURAGEMENT", "FRUSTRATED", "RETRY_OUTCOMES", "EmotionSensor"]

FRUSTRATED = "frustrated"
#: the outcomes after which the sensor is asked
RETRY_OUTCOMES = frozenset({"hint", "rephrase", "repeat", "fallback", "pronounce"})
ENCOURAGEMENT = [
    "Don't worry, you're doing well. Let's try it together.",
    "That's all right, this one is tricky. You're getting closer.",
    "No problem at all. Take your time, there's no rush.",
    "Keep going, every try makes it easier.",
    "It's fine, learning takes practice. Let's look at it again.",
]


@runtime_checkable
class EmotionSensor(Protocol):
    async def emotion(self, text: str) -> str | None:
        """The learner's emotion (``frustrated``, ...), or None when it cannot tell."""
        ...
