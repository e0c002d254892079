"""The one client the server uses to reach models, whatever runs them.

Both backends (``local``: threads in this process; ``ray``: Ray Serve deployments)
implement :class:`ModelClient` and raise the same :class:`ServingError` subclasses,
so the server maps errors once. Every error passes exactly its constructor
arguments to ``Exception.__init__``: that is what lets it cross a Ray boundary by
pickling and arrive as the same type with the same fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import numpy as np

from nlu.errors import NluError

__all__ = [
    "BadInput",
    "ModelClient",
    "ModelError",
    "ModelNotFound",
    "ModelTimeout",
    "ModelUnavailable",
    "Observer",
    "ServingError",
    "TopK",
]

T = TypeVar("T")

#: ``observe(model, status, seconds)``: called once per client call; status is "ok"
#: or the error's ``code`` ("model_timeout", "model_not_found", ...).
Observer = Callable[[str, str, float], None]

#: Per input: ``[(label, probability), ...]``, best first.
TopK = list[list[tuple[str, float]]]


class ServingError(Exception):
    """Root of serving errors; carries the HTTP status and code the server maps it to.

    ``args[0]`` (and ``str()``) is the human message, as for the server's own errors;
    ``__reduce__`` rebuilds the error from its constructor arguments, so it crosses
    a Ray boundary by pickling and arrives as the same type with the same fields.
    """

    status: int = 503
    code: str = "serving_error"

    def __init__(self, model: str, detail: str = "") -> None:
        self._init((model, detail), model, detail)

    def _init(self, init_args: tuple, model: str, detail: str, message: str = "") -> None:
        self._init_args, self.model, self.detail = init_args, model, detail
        super().__init__(message or (f"{model}: {detail}" if detail else model))

    def __reduce__(self) -> tuple:
        return (type(self), self._init_args, self.__dict__)


class ModelUnavailable(ServingError):
    """The model family cannot answer now (not loaded, replica died twice, Ray down)."""

    status = 503
    code = "model_unavailable"

    def __init__(self, model: str, reason: str = "") -> None:
        self.reason = reason
        self._init((model, reason), model, reason,
                   f"model {model!r} is unavailable" + (f": {reason}" if reason else ""))


class ModelTimeout(ServingError):
    """The call ran past its family's deadline and was cancelled."""

    status = 504
    code = "model_timeout"

    def __init__(self, model: str, timeout_s: float) -> None:
        self.timeout_s = float(timeout_s)
        detail = f"no answer within {self.timeout_s:g} s"
        self._init((model, timeout_s), model, detail, f"model {model!r} timed out: {detail}")


class ModelError(ServingError):
    """The model code failed in a way no other error describes (a bug: status 500)."""

    status = 500
    code = "model_error"

    def __init__(self, model: str, detail: str) -> None:
        self._init((model, detail), model, detail)


class ModelNotFound(ServingError):
    """No artefact for this model id (tenant/classifier/version)."""

    status = 404
    code = "model_not_found"

    def __init__(self, model: str, model_id: str) -> None:
        self.model_id = model_id
        self._init((model, model_id), model, f"no model {model_id!r}")


class BadInput(ServingError):
    """The request itself is wrong (undecodable image, bad model id, wrong types)."""

    status = 400
    code = "bad_input"

    def __init__(self, model: str, detail: str, code: str = "bad_input") -> None:
        self.code = code
        self._init((model, detail, code), model, detail)


class ModelClient(ABC):
    """Async model calls. Backends: ``local`` (threads in this process) and ``ray``."""

    backend: str

    def __init__(self, observe: Observer | None = None) -> None:
        self._observe = observe

    @abstractmethod
    async def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised sentence embeddings, one float32 row per text."""

    @abstractmethod
    async def classify_text(self, model_id: str, texts: list[str], top_k: int = 3) -> TopK:
        """A tenant's text classifier: ``top_k`` (label, probability) pairs per text."""

    @abstractmethod
    async def retrieve_text(self, model_id: str, texts: list[str], top_k: int = 3,
                            threshold: float | None = None) -> list[dict[str, Any]]:
        """A trained classifier version: per text ``{label, score, out_of_scope, labels}``
        (``labels``: the ``top_k`` calibrated scores; ``threshold`` overrides the version's)."""

    @abstractmethod
    def train_text_classifier(self, spec: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Train and save a version: ``spec`` is ``{model_id, algorithm, params, texts,
        labels, oos_rate}``. Yields ``{stage, progress}`` events and last ``{stage: "done",
        result}``; the fit's errors (``nlu.errors.NluError``, ``ServingError``) are raised."""

    @abstractmethod
    async def classify_image(self, images: list[bytes], model_id: str | None = None,
                             top_k: int = 3) -> TopK:
        """Encoded images (JPEG/PNG/...): ImageNet-1k labels, or a tenant's head."""

    @abstractmethod
    async def synthesize(self, text: str, voice: str | None = None,
                         rate: int | None = None) -> bytes:
        """A bot line spoken: 16-bit PCM WAV bytes (``voice`` e.g. ``en-us``, ``en-gb+f3``)."""

    @abstractmethod
    async def recognize(self, pcm: bytes, sentences: list[str] | None = None,
                        partial: bool = False) -> dict[str, Any]:
        """16-bit mono 16 kHz PCM → ``{text, confidence, path, expected, words, ...}``.

        ``sentences`` are the dialog state's expected answers (its language model);
        ``partial=True`` asks for a quick ``{text}`` of an utterance still in progress.
        """

    @abstractmethod
    async def recognize_stream(self, stream_id: str, pcm: bytes, sentences: list[str] | None,
                               offset: int, end: bool = False) -> dict[str, Any]:
        """The next chunk of an utterance decoded as it arrives (``{text}`` partials);
        with ``end``, the final result ~10 ms later instead of a pass over it all.

        Calls of one ``stream_id`` reach the same replica; ``offset`` is the samples
        sent before this chunk. ``BadInput`` code ``stream_lost`` means the replica
        lost the stream: recognise the whole utterance with :meth:`recognize`.
        """

    @abstractmethod
    async def assess_pronunciation(self, pcm: bytes, reference: str,
                                   recognized: str | None = None) -> dict[str, Any]:
        """16-bit mono 16 kHz PCM scored against ``reference`` (the shape of
        :meth:`speech.pronunciation.base.Assessment.to_dict`); ``recognized`` is what
        the recogniser heard, for omissions and insertions."""

    async def prepare_speech(self, sentences: list[str]) -> None:  # noqa: B027
        """Build a state's recognition model ahead of its first turn (best effort)."""

    @abstractmethod
    async def health(self) -> dict[str, str]:
        """Each model family's status ("ok" or why not)."""

    async def stats(self) -> dict[str, dict]:
        """Per family counters (batch sizes, loaded models) for tests and debugging."""
        return {}

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Load or connect; called once from the server's lifespan."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release threads, handles or connections."""

    async def _bounded_stream(self, model: str, stream: AsyncIterator[dict[str, Any]],
                              total_s: float, idle_s: float) -> AsyncIterator[dict[str, Any]]:
        """``stream`` with an overall deadline and a longest silence between events."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + total_s
        try:
            while True:
                wait = min(idle_s, deadline - loop.time())
                try:
                    event = await asyncio.wait_for(anext(stream), max(0.0, wait))
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise ModelTimeout(model, total_s if wait < idle_s else idle_s) from None
                except (ServingError, NluError):
                    raise
                except Exception as exc:
                    raise ModelError(model, f"{type(exc).__name__}: {exc}") from exc
                yield event
        finally:
            await stream.aclose()

    async def _observed(self, model: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run one call and report its latency and outcome to the observer."""
        start = time.perf_counter()
        status = "ok"
        try:
            return await call()
        except ServingError as exc:
            status = exc.code
            raise
        except asyncio.CancelledError:
            status = "cancelled"
            raise
        except BaseException:
            status = "error"
            raise
        finally:
            if self._observe is not None:
                # a broken metric must never fail a model call
                with contextlib.suppress(Exception):
                    self._observe(model, status, time.perf_counter() - start)
