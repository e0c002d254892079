"""The ``pronunciation`` deployment: a learner's audio scored phone by phone against a text."""

from __future__ import annotations

from typing import Any

from ray import serve

from serving.deployments._replica import ReplicaBase
from serving.families.pronunciation import PronunciationModel

__all__ = ["PronunciationDeployment"]

@serve.deployment(name="pronunciation")
class PronunciationDeployment(ReplicaBase):
    family = "pronunciation"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        import torch

        # tiny matrices: more threads only spin and take CPU from the recognisers
        torch.set_num_threads(self.settings.threads)
        self._model = PronunciationModel(self.settings.engine or "auto",
                                         self.settings.engine_options).load()

    async def assess(self, pcm: bytes, reference: str,
                     recognized: str | None = None) -> dict[str, Any]:
        return await self._run(self._model.assess, pcm, reference, recognized)

    async def stats(self) -> dict[str, Any]:
        return {**self._identity(), **self._model.stats()}
