"""The ``ray`` backend: Ray Serve deployments called through ``DeploymentHandle``s.

``RayModels.start()`` starts a local single-node Ray and deploys the application,
or connects to ``RAY_ADDRESS`` (deploying the application there if it is missing
and ``ray.deploy_if_missing`` allows). Each call has its family's deadline: past
it the request is cancelled (``response.cancel()``) and ``ModelTimeout`` raised.
Concurrent small ``embed`` calls of this process are merged into one handle call
(``client_batch_size``): Ray costs milliseconds of CPU per request, a sentence
much less. A replica that dies under a request costs one retry (the router then avoids it
and waits for a live one within the same deadline); a second failure is
``ModelUnavailable``. Errors raised by model code in a replica arrive as the same
``ServingError`` the local backend raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from nlu.errors import NluError
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
from serving.ray_cluster import RayUnavailable, app_status, deploy_app, init_ray, shutdown_ray
from serving.validation import check_images, check_model_id, check_texts, check_top_k

__all__ = ["RayModels", "connect_or_start"]

log = logging.getLogger("parley.serving")
EMB, TXT, IMG, TTS, ASR = "embeddings", "text_classifier", "image_classifier", "tts", "asr"
PRON = "pronunciation"


# Requests of at most this many characters go by value, straight to the replica's gRPC
# server (whose messages are capped at 4 MB), instead of through Ray's object store:
# nlu_bench at 200 retrieves/s, p95 18.7 ms against 24-34 ms by reference.
_BY_VALUE_MAX_CHARS = 500_000


def _by_value(texts: list[str]) -> bool:
    return sum(map(len, texts)) <= _BY_VALUE_MAX_CHARS


class _Retry(Exception):
    """Internal: the replica died or vanished under the request."""


def _map_error(family: str, exc: BaseException) -> BaseException:
    """A Ray/Serve exception as the ServingError callers see (or _Retry)."""
    from ray import exceptions as rx
    from ray.serve import exceptions as sx

    retryable = (rx.RayActorError, rx.ActorUnavailableError)
    if isinstance(exc, rx.RayTaskError):  # by reference: the replica's error is its cause
        cause = getattr(exc, "cause", None)
        if isinstance(cause, ServingError | NluError):
            return cause
        if isinstance(cause, retryable):
            return _Retry(str(cause))
        if cause is not None:
            return ModelError(family, f"{type(cause).__name__}: {cause}")
    if isinstance(exc, ServingError | NluError):  # by value (gRPC): the error itself
        return exc
    if isinstance(exc, retryable):
        return _Retry(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, sx.BackPressureError):
        return ModelUnavailable(family, "overloaded (too many queued requests)")
    if isinstance(exc, sx.RayServeException | rx.RayError):
        return ModelUnavailable(family, f"{type(exc).__name__}: {exc}")
    return ModelError(family, f"{type(exc).__name__}: {exc}")


class RayModels(ModelClient):
    """Model calls through Ray Serve handles; same API and errors as ``LocalModels``."""

    backend = "ray"

    def __init__(self, config: ServingConfig | None = None, *,
                 observe: Observer | None = None) -> None:
        super().__init__(observe)
        self.config = config or load_config()
        self.families = [f for f, s in self.config.families.items() if s.enabled]
        self._handles: dict[str, Any] = {}
        self._methods: dict[tuple[str, str], Any] = {}
        self._ray_state = "none"  # "started" | "connected" | "attached" once started
        emb = self.config.families.get(EMB)
        self._embed_batcher: MicroBatcher[str, np.ndarray] | None = None
        if emb is not None and emb.client_batch_size > 1:
            self._embed_batcher = MicroBatcher(self._embed_merged, None,
                                               max_batch=emb.client_batch_size,
                                               wait_s=emb.client_batch_wait_s)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start or connect to Ray and make sure the application runs (blocking work in
        a thread). Raises ``RayUnavailable`` when Ray cannot be reached in time."""
        if self._handles:
            return  # already started
        budget = self.config.ray.start_timeout_s + self.config.ray.deploy_timeout_s
        try:
            await asyncio.wait_for(asyncio.to_thread(self._start_sync), budget)
        except TimeoutError:
            raise RayUnavailable(self.config.ray.address or "local",
                                 f"no running application within {budget:g} s") from None

    def _start_sync(self) -> None:
        from ray import serve

        self._ray_state = init_ray(self.config)
        status, deployments = app_status(self.config.app_name)
        missing = [f for f in self.families if f not in deployments]
        if status == "NOT_DEPLOYED" or missing:
            if self._ray_state == "connected" and not self.config.ray.deploy_if_missing:
                raise RayUnavailable(self.config.ray.address or "local",
                                     f"application {self.config.app_name!r} lacks "
                                     f"{', '.join(missing) or 'everything'} and "
                                     "ray.deploy_if_missing is off")
            deploy_app(self.config)
        elif status != "RUNNING":
            deploy_app(self.config)  # same config again: waits for it to come up
        for family in self.families:
            self._handles[family] = serve.get_deployment_handle(family, self.config.app_name)

    async def close(self) -> None:
        state, self._ray_state = self._ray_state, "none"
        self._handles.clear()
        self._methods.clear()
        if state in {"started", "connected"}:
            await asyncio.to_thread(shutdown_ray, state)

    # -- plumbing ----------------------------------------------------------------------

    def _handle(self, family: str, method: str, model_id: str | None, by_value: bool) -> Any:
        handle = self._handles.get(family)
        if handle is None:
            raise ModelUnavailable(family, "not deployed (disabled, or start() not called)")
        if model_id is not None:
            return handle.options(method_name=method, multiplexed_model_id=model_id,
                                  _by_reference=not by_value)
        key = (family, method, by_value)
        if key not in self._methods:
            self._methods[key] = handle.options(method_name=method, _by_reference=not by_value)
        return self._methods[key]

    async def _request(self, family: str, method: str, *args: Any,
                       model_id: str | None = None, by_value: bool = False) -> Any:
        """One handle call with the family's deadline, one retry, errors mapped."""
        timeout = self.config.family(family).timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for tries in (1, 2):
            response = self._handle(family, method, model_id, by_value).remote(*args)
            try:
                return await asyncio.wait_for(response, max(0.0, deadline - loop.time()))
            except TimeoutError:
                response.cancel()
                raise ModelTimeout(family, timeout) from None
            except asyncio.CancelledError:
                response.cancel()
                raise
            except Exception as exc:
                error = _map_error(family, exc)
                if not isinstance(error, _Retry):
                    raise error from None
                if tries == 2:
                    raise ModelUnavailable(family, f"replica failed twice: {error}") from exc
                log.warning("%s: replica failed under a request, retrying once: %s",
                            family, error)
        raise AssertionError("unreachable")

    async def _call(self, family: str, method: str, *args: Any,
                    model_id: str | None = None) -> Any:
        return await self._observed(
            family, lambda: self._request(family, method, *args, model_id=model_id))

    async def _embed_merged(self, texts: list[str]) -> list[np.ndarray]:
        """The client batcher's function: one handle call for many callers' texts."""
        rows = await self._request(EMB, "embed", texts, by_value=_by_value(texts))
        return list(np.asarray(rows, dtype=np.float32))

    # -- the API -----------------------------------------------------------------------

    async def embed(self, texts: list[str]) -> np.ndarray:
        return await self._observed(EMB, lambda: self._embed(texts))

    async def _embed(self, texts: list[str]) -> np.ndarray:
        texts = check_texts(EMB, texts)
        batcher = self._embed_batcher
        if batcher is None or not texts or len(texts) >= batcher.max_batch:
            rows = await self._request(EMB, "embed", texts, by_value=_by_value(texts))
            return np.asarray(rows, dtype=np.float32)
        timeout = self.config.family(EMB).timeout_s
        try:
            rows = await asyncio.wait_for(
                asyncio.gather(*(batcher.submit(t) for t in texts)), timeout)
        except TimeoutError:
            raise ModelTimeout(EMB, timeout) from None
        return np.stack(rows).astype(np.float32, copy=False)

    async def classify_text(self, model_id: str, texts: list[str], top_k: int = 3) -> TopK:
        async def call() -> TopK:
            check_model_id(TXT, model_id)
            checked, k = check_texts(TXT, texts), check_top_k(TXT, top_k)
            return await self._request(TXT, "classify", checked, k, model_id=model_id,
                                       by_value=_by_value(checked))

        return await self._observed(TXT, call)

    async def retrieve_text(self, model_id: str, texts: list[str], top_k: int = 3,
                            threshold: float | None = None) -> list[dict[str, Any]]:
        async def call() -> list[dict[str, Any]]:
            check_model_id(TXT, model_id)
            checked, k = check_texts(TXT, texts), check_top_k(TXT, top_k)
            return await self._request(TXT, "retrieve", checked, k, threshold,
                                       model_id=model_id, by_value=_by_value(checked))

        return await self._observed(TXT, call)

    async def train_text_classifier(self, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        handle = self._handles.get(TXT)
        if handle is None:
            raise ModelUnavailable(TXT, "not deployed (disabled, or start() not called)")
        settings = self.config.family(TXT)
        generator = handle.options(method_name="train", stream=True).remote(spec)

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                async for event in generator:
                    yield event
            except Exception as exc:
                error = _map_error(TXT, exc)
                if isinstance(error, _Retry):
                    raise ModelUnavailable(TXT, f"the training replica died: {error}") from exc
                raise error from None
            finally:
                generator.cancel()

        async for event in self._bounded_stream(TXT, events(), settings.train_timeout_s,
                                                settings.progress_timeout_s):
            yield event

    async def classify_image(self, images: list[bytes], model_id: str | None = None,
                             top_k: int = 3) -> TopK:
        async def call() -> TopK:
            checked, k = check_images(IMG, images), check_top_k(IMG, top_k)
            if model_id is not None:
                check_model_id(IMG, model_id)
            return await self._request(IMG, "classify", checked, k, model_id=model_id)

        return await self._observed(IMG, call)

    async def synthesize(self, text: str, voice: str | None = None,
                         rate: int | None = None) -> bytes:
        return await self._call(TTS, "synthesize", text, voice, rate)

    async def recognize(self, pcm: bytes, sentences: list[str] | None = None,
                        partial: bool = False) -> dict[str, Any]:
        return await self._call(ASR, "recognize", bytes(pcm), sentences, partial)

    async def recognize_stream(self, stream_id: str, pcm: bytes, sentences: list[str] | None,
                               offset: int, end: bool = False) -> dict[str, Any]:
        # the stream id is the multiplexed model id: Serve routes every chunk of an
        # utterance to the replica that holds its decoder
        return await self._call(ASR, "stream", bytes(pcm), sentences, offset, end,
                                model_id=stream_id)

    async def prepare_speech(self, sentences: list[str]) -> None:
        await self._call(ASR, "prepare", sentences)

    async def assess_pronunciation(self, pcm: bytes, reference: str,
                                   recognized: str | None = None) -> dict[str, Any]:
        return await self._call(PRON, "assess", bytes(pcm), reference, recognized)

    async def ping(self, family: str = EMB) -> str:
        """One trivial round trip to a family's replica (health, handle overhead)."""
        return await self._call(family, "ping")

    async def health(self) -> dict[str, str]:
        """{family: "ok" | "STATUS: message"} from Serve's view of each deployment."""
        try:
            _, deployments = await asyncio.wait_for(
                asyncio.to_thread(app_status, self.config.app_name),
                self.config.ray.health_timeout_s)
        except TimeoutError:
            return dict.fromkeys(self.families, "serve status timed out")
        except Exception as exc:
            return dict.fromkeys(self.families, f"unavailable: {type(exc).__name__}: {exc}")
        return {f: deployments.get(f, "not deployed") for f in self.families}

    async def stats(self) -> dict[str, dict]:
        """Each family's ``stats()`` from one of its replicas."""
        results = await asyncio.gather(*(self._request(f, "stats") for f in self.families),
                                       return_exceptions=True)
        return {f: (r if isinstance(r, dict) else {"error": str(r)})
                for f, r in zip(self.families, results, strict=True)}


async def connect_or_start(config: ServingConfig | None = None, *,
                           observe: Observer | None = None,
                           fallback_to_local: bool | None = None) -> ModelClient:
    """A started model client for ``parley serve --serving ray``.

    Ray is reached (``RAY_ADDRESS`` / ``ray.address``) or started locally and the
    application deployed. If that fails, ``RayUnavailable`` propagates (the server
    should exit non-zero) unless ``fallback_to_local`` (argument, else config) is
    set, in which case a started ``LocalModels`` is returned instead.
    """
    config = config or load_config()
    models = RayModels(config, observe=observe)
    try:
        await models.start()
        return models
    except RayUnavailable as exc:
        fallback = config.fallback_to_local if fallback_to_local is None else fallback_to_local
        await models.close()
        if not fallback:
            raise
        log.warning("Ray unavailable (%s): falling back to in-process models", exc)
    from serving.local import LocalModels

    local = LocalModels(config, observe=observe)
    await local.start()
    return local
