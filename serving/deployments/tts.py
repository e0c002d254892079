"""The ``tts`` deployment: espeak-ng lines as WAV bytes, cached per replica."""

from __future__ import annotations

from typing import Any

from ray import serve

from serving.deployments._replica import ReplicaBase
from serving.families.tts import SpeechSynthesisModel

__all__ = ["TtsDeployment"]


@serve.deployment(name="tts")
class TtsDeployment(ReplicaBase):
    family = "tts"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self._model = SpeechSynthesisModel().load()

    async def synthesize(self, text: str, voice: str | None = None,
                         rate: int | None = None) -> bytes:
        return await self._run(self._model.synthesize, text, voice, rate)

    async def stats(self) -> dict[str, Any]:
        return {**self._identity(), **self._model.stats()}
