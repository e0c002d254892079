"""What every Parley replica shares: settings, device choice, a worker thread, ping."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import ray
from ray import serve

from serving.config import FamilySettings

__all__ = ["Multiplexer", "ReplicaBase", "replica_device"]

T = TypeVar("T")
M = TypeVar("M")


def replica_device(settings: FamilySettings) -> str:
    """CUDA when this replica was given a GPU and torch sees one, else CPU."""
    if settings.num_gpus > 0:
        import torch

        if torch.cuda.is_available():
            return "cuda"
    return "cpu"


class ReplicaBase:
    """Base of the deployment classes: model work goes to one thread, off the replica loop."""

    family = "base"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = FamilySettings.model_validate(settings)
        if self.settings.nice:  # an increment needs no privilege; a replica is one process
            os.nice(self.settings.nice)
        self.device = replica_device(self.settings)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.family)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def ping(self) -> str:
        """Cheap health probe; also measures the handle's own overhead."""
        return "ok"

    def _identity(self) -> dict[str, Any]:
        return {"replica": ray.get_runtime_context().get_actor_name(), "device": self.device,
                "nice": os.nice(0)}


class Multiplexer(Generic[M]):
    """``@serve.multiplexed`` with its LRU size chosen at run time (from the config).

    The decorator reads ``max_num_models_per_replica`` when it decorates, so the
    loader is decorated per replica in ``__init__`` rather than on the class.
    """

    _WRAPPER_ATTR = "__serve_multiplex_wrapper"

    def __init__(self, load: Callable[[str], Awaitable[M]], capacity: int,
                 count_loads: bool = True) -> None:
        self.loads: dict[str, int] = {}

        async def load_model(model_id: str) -> M:
            model = await load(model_id)
            if count_loads:  # off for one-off ids (utterances): the counts would only grow
                self.loads[model_id] = self.loads.get(model_id, 0) + 1
            return model

        self._inner = load_model
        self.capacity = capacity
        self.get: Callable[[str], Awaitable[M]] = serve.multiplexed(
            max_num_models_per_replica=capacity)(load_model)

    def loaded(self) -> list[str]:
        """Model ids the replica holds now, least recently used first."""
        wrapper = getattr(self._inner, self._WRAPPER_ATTR, None)
        return list(wrapper.models) if wrapper is not None else []

    def stats(self) -> dict[str, Any]:
        loaded = self.loaded()
        evictions = {mid: n - (1 if mid in loaded else 0) for mid, n in self.loads.items()}
        return {"loaded": loaded, "loads": dict(self.loads),
                "evictions": {k: v for k, v in evictions.items() if v},
                "capacity": self.capacity}
