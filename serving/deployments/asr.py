"""The ``asr`` deployment: utterances in, transcripts out, state LMs cached per replica.

pocketsphinx cannot batch utterances and holds the GIL while it decodes, so
decodes run in parallel across replicas (processes), which Serve's autoscaler
adds on ongoing requests; partials take a thread of their own so a final does
not queue behind them. Engines that batch on a GPU (ctc, whisper) get the same
handle API.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ray import serve

from serving.deployments._replica import Multiplexer, ReplicaBase
from serving.families.asr import LiveStream, SpeechRecognitionModel

__all__ = ["AsrDeployment"]


@serve.deployment(name="asr")
class AsrDeployment(ReplicaBase):
    family = "asr"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        self._pool = ThreadPoolExecutor(max_workers=self.settings.threads,
                                        thread_name_prefix="asr")
        # partials get a thread of their own: a final never queues behind them
        self._partials = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr-partial")
        self._model = SpeechRecognitionModel(self.settings.engine or "pocketsphinx",
                                             self.settings.engine_options).load()
        self._streams: Multiplexer[LiveStream] = Multiplexer(self._open_stream, 256,
                                                              count_loads=False)

    async def _open_stream(self, stream_id: str) -> LiveStream:
        return LiveStream()

    async def stream(self, pcm: bytes, sentences: list[str] | None, offset: int,
                     end: bool) -> dict[str, Any]:
        """One chunk of a live utterance; its id routes every chunk to this replica."""
        live = await self._streams.get(serve.get_multiplexed_model_id())
        return await self._run(self._model.stream_step, live, pcm, sentences, offset, end)

    async def recognize(self, pcm: bytes, sentences: list[str] | None = None,
                        partial: bool = False) -> dict[str, Any]:
        if partial:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._partials, self._model.recognize, pcm,
                                              sentences, True)
        return await self._run(self._model.recognize, pcm, sentences, False)

    async def prepare(self, sentences: list[str]) -> str:
        return await self._run(self._model.prepare, sentences)

    async def stats(self) -> dict[str, Any]:
        return {**self._identity(), **self._model.stats()}
