"""The ``local`` backend: the same model code as the Ray deployments, in this process.

Model work runs in worker threads, never on the event loop: one thread for the
text families (they share one MiniLM encoder, and a Hugging Face tokenizer must
not be used from two threads at once) and one for images. Torch releases the GIL
while it computes. Concurrent callers are micro-batched (``MicroBatcher``) as
``@serve.batch`` does in replicas, tenant heads are kept in an LRU as
``@serve.multiplexed`` does, and each call has the family's deadline from the
serving config: past it the caller gets ``ModelTimeout`` (the thread finishes its
current batch and the result is dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import torch

from serving.base import (
    ModelClient,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    Observer,
    ServingError,
    TopK,
)
from serving.batching import MicroBatcher
from serving.config import ServingConfig, load_config
from serving.families.asr import LiveStream, SpeechRecognitionModel
from serving.families.embeddings import EmbeddingModel
from serving.families.image_classifier import ImageClassifierModel
from serving.families.pronunciation import PronunciationModel
from serving.families.text_classifier import TextClassifierModel
from serving.families.tts import SpeechSynthesisModel
from serving.lru import ModelLRU
from serving.training import embed_on, stream_progress
from serving.validation import check_images, check_model_id, check_texts, check_top_k

__all__ = ["LocalModels"]

T = TypeVar("T")
EMB, TXT, IMG, TTS, ASR = "embeddings", "text_classifier", "image_classifier", "tts", "asr"
PRON = "pronunciation"


class LocalModels(ModelClient):
    """Models in worker threads of this process; same API and errors as ``RayModels``."""

    backend = "local"

    def __init__(self, config: ServingConfig | None = None, *, observe: Observer | None = None,
                 max_batch: int | None = None, wait_s: float | None = None) -> None:
        super().__init__(observe)
        self.config = config or load_config()
        device = None if self.config.local_device == "auto" else self.config.local_device
        root = self.config.artefact_path()
        emb, img = self.config.family(EMB), self.config.family(IMG)
        self._text_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="models-text")
        self._image_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="models-image")
        # training fits run here, so classification keeps its own thread meanwhile
        self._train_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="models-train")
        self._tts_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="models-tts")
        self._tts = SpeechSynthesisModel()
        asr = self.config.family(ASR)
        # pocketsphinx holds the GIL while it decodes, so more threads would not decode more
        # at once here (the ray backend runs replicas, i.e. processes, for that)
        self._asr_pool = ThreadPoolExecutor(max_workers=asr.threads,
                                            thread_name_prefix="models-asr")
        # partials get a thread of their own: a final never queues behind them
        self._partial_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr-partial")
        self._asr = SpeechRecognitionModel(asr.engine or "pocketsphinx", asr.engine_options)
        self._streams: OrderedDict[str, LiveStream] = OrderedDict()  # live utterances, LRU
        pron = self.config.family(PRON)
        self._pron_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="models-pron")
        self._pron = PronunciationModel(pron.engine or "auto", pron.engine_options)
        self._embedder = EmbeddingModel(device=device, threads=emb.threads)
        self._classifier = TextClassifierModel(root, encoder=self._embedder.encoder)
        self._images = ImageClassifierModel(root, device=device, threads=img.threads)
        self._text_heads = ModelLRU(self._classifier.load_head,
                                    self.config.family(TXT).max_models_per_replica)
        self._image_heads = ModelLRU(self._images.load_head, img.max_models_per_replica)
        self._embed_batcher: MicroBatcher[str, np.ndarray] = MicroBatcher(
            self._encode_rows, self._text_pool,
            max_batch=max_batch or emb.max_batch_size,
            wait_s=emb.batch_wait_timeout_s if wait_s is None else wait_s)
        self._image_batcher: MicroBatcher[torch.Tensor, torch.Tensor] = MicroBatcher(
            self._images_features, self._image_pool, max_batch=img.max_batch_size,
            wait_s=img.batch_wait_timeout_s)
        self._loaded: set[str] = set()
        self._load_errors: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Load the sentence encoder now; the other families load on first use."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(ModelUnavailable):  # health() reports it; calls raise it
            await loop.run_in_executor(self._text_pool, self._ensure, EMB)

    async def close(self) -> None:
        self._text_pool.shutdown(wait=False, cancel_futures=True)
        self._image_pool.shutdown(wait=False, cancel_futures=True)
        self._train_pool.shutdown(wait=False, cancel_futures=True)
        self._tts_pool.shutdown(wait=False, cancel_futures=True)
        self._asr_pool.shutdown(wait=False, cancel_futures=True)
        self._partial_pool.shutdown(wait=False, cancel_futures=True)
        self._pron_pool.shutdown(wait=False, cancel_futures=True)

    def _ensure(self, family: str) -> None:
        """Load a family's model once (in its worker thread); failures become ModelUnavailable."""
        if family in self._loaded:
            return
        loader: dict[str, Callable[[], object]] = {
            EMB: self._embedder.load, TXT: self._classifier.load, IMG: self._images.load,
            TTS: self._tts.load, ASR: self._asr.load, PRON: self._pron.load}
        try:
            loader[family]()
        except Exception as exc:
            self._load_errors[family] = f"{type(exc).__name__}: {exc}"
            raise ModelUnavailable(family, self._load_errors[family]) from exc
        self._load_errors.pop(family, None)
        self._loaded.add(family)

    # -- plumbing ----------------------------------------------------------------------

    async def _run(self, pool: Executor, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    async def _call(self, family: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        timeout = self.config.family(family).timeout_s

        async def bounded() -> T:
            try:
                return await asyncio.wait_for(work(), timeout)
            except TimeoutError:
                raise ModelTimeout(family, timeout) from None
            except ServingError:
                raise
            except Exception as exc:  # as RayModels does with a replica's unexpected error
                raise ModelError(family, f"{type(exc).__name__}: {exc}") from exc

        return await self._observed(family, bounded)

    def _encode_rows(self, texts: list[str]) -> list[np.ndarray]:
        self._ensure(EMB)
        return list(self._embedder.embed(texts))

    def _images_features(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        self._ensure(IMG)
        return self._images.features_many(batches)

    # -- the API -----------------------------------------------------------------------

    async def embed(self, texts: list[str]) -> np.ndarray:
        async def work() -> np.ndarray:
            checked = check_texts(EMB, texts)
            if not checked:
                await self._run(self._text_pool, self._ensure, EMB)
                return np.zeros((0, self._embedder.dim), dtype=np.float32)
            rows = await asyncio.gather(*(self._embed_batcher.submit(t) for t in checked))
            return np.stack(rows).astype(np.float32, copy=False)

        return await self._call(EMB, work)

    async def classify_text(self, model_id: str, texts: list[str], top_k: int = 3) -> TopK:
        async def work() -> TopK:
            check_model_id(TXT, model_id)
            checked, k = check_texts(TXT, texts), check_top_k(TXT, top_k)

            def run() -> TopK:
                self._ensure(TXT)
                return self._classifier.classify(self._text_heads.get(model_id), checked, k)

            return await self._run(self._text_pool, run)

        return await self._call(TXT, work)

    async def retrieve_text(self, model_id: str, texts: list[str], top_k: int = 3,
                            threshold: float | None = None) -> list[dict[str, Any]]:
        async def work() -> list[dict[str, Any]]:
            check_model_id(TXT, model_id)
            checked, k = check_texts(TXT, texts), check_top_k(TXT, top_k)

            def run() -> list[dict[str, Any]]:
                self._ensure(TXT)
                model = self._text_heads.get(model_id)
                return self._classifier.retrieve(model, checked, k, threshold)

            return await self._run(self._text_pool, run)

        return await self._call(TXT, work)

    async def train_text_classifier(self, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        await self._run(self._text_pool, self._ensure, TXT)
        embed = embed_on(self._text_pool, self._classifier.encoders)
        settings = self.config.family(TXT)
        stream = stream_progress(self._train_pool,
                                 lambda progress: self._classifier.train(spec, progress, embed))
        async for event in self._bounded_stream(TXT, stream, settings.train_timeout_s,
                                                settings.progress_timeout_s):
            yield event

    async def classify_image(self, images: list[bytes], model_id: str | None = None,
                             top_k: int = 3) -> TopK:
        async def work() -> TopK:
            checked, k = check_images(IMG, images), check_top_k(IMG, top_k)
            if model_id is not None:
                check_model_id(IMG, model_id)
            pool = self._image_pool
            head = None if model_id is None else await self._run(
                pool, self._image_heads.get, model_id)
            batch = await self._run(pool, self._images.preprocess, checked)
            if batch.shape[0] == 0:
                return []
            feats = await self._image_batcher.submit(batch)
            return await self._run(pool, self._images.classify_features, feats, head, k)

        return await self._call(IMG, work)

    async def synthesize(self, text: str, voice: str | None = None,
                         rate: int | None = None) -> bytes:
        async def work() -> bytes:
            def run() -> bytes:
                self._ensure(TTS)
                return self._tts.synthesize(text, voice, rate)

            return await self._run(self._tts_pool, run)

        return await self._call(TTS, work)

    async def recognize(self, pcm: bytes, sentences: list[str] | None = None,
                        partial: bool = False) -> dict[str, Any]:
        async def work() -> dict[str, Any]:
            def run() -> dict[str, Any]:
                self._ensure(ASR)
                return self._asr.recognize(pcm, sentences, partial)

            return await self._run(self._partial_pool if partial else self._asr_pool, run)

        return await self._call(ASR, work)

    async def recognize_stream(self, stream_id: str, pcm: bytes, sentences: list[str] | None,
                               offset: int, end: bool = False) -> dict[str, Any]:
        async def work() -> dict[str, Any]:
            def run() -> dict[str, Any]:
                self._ensure(ASR)
                live = self._streams.pop(stream_id, None) or LiveStream()
                if not end:
                    self._streams[stream_id] = live
                    while len(self._streams) > 256:  # abandoned utterances
                        self._streams.popitem(last=False)
                return self._asr.stream_step(live, pcm, sentences, offset, end)

            return await self._run(self._asr_pool, run)

        return await self._call(ASR, work)

    async def prepare_speech(self, sentences: list[str]) -> None:
        def run() -> None:
            self._ensure(ASR)
            self._asr.prepare(sentences)

        await self._call(ASR, lambda: self._run(self._asr_pool, run))

    async def assess_pronunciation(self, pcm: bytes, reference: str,
                                   recognized: str | None = None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            self._ensure(PRON)
            return self._pron.assess(pcm, reference, recognized)

        return await self._call(PRON, lambda: self._run(self._pron_pool, run))

    async def health(self) -> dict[str, str]:
        out = {}
        for family in (EMB, TXT, IMG, TTS, ASR, PRON):
            if family in self._load_errors:
                out[family] = self._load_errors[family]
            elif family == EMB and family not in self._loaded:
                out[family] = "loading"
            else:
                out[family] = "ok"  # text/image families load on first use
        return out

    async def stats(self) -> dict[str, dict]:
        return {
            EMB: {"batch_sizes": list(self._embed_batcher.sizes)},
            TXT: self._text_heads.stats(),
            IMG: {"batch_sizes": list(self._image_batcher.sizes), **self._image_heads.stats()},
            TTS: self._tts.stats(),
            ASR: self._asr.stats(),
            PRON: self._pron.stats(),
        }
