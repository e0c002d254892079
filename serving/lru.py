"""A small thread-safe LRU of loaded models: the local backend's ``@serve.multiplexed``."""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["ModelLRU"]

M = TypeVar("M")


class ModelLRU(Generic[M]):
    """Keeps at most ``capacity`` models; loads on miss, evicts the least recently used."""

    def __init__(self, load: Callable[[str], M], capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._load, self.capacity = load, capacity
        self._models: OrderedDict[str, M] = OrderedDict()
        self._lock = threading.Lock()
        self.loads: Counter[str] = Counter()
        self.evictions: Counter[str] = Counter()

    def get(self, model_id: str) -> M:
        """The model for ``model_id`` (loading it in the calling thread on a miss)."""
        with self._lock:
            if model_id in self._models:
                self._models.move_to_end(model_id)
                return self._models[model_id]
            model = self._load(model_id)  # raises for unknown ids: nothing cached
            self.loads[model_id] += 1
            while len(self._models) >= self.capacity:
                evicted, _ = self._models.popitem(last=False)
                self.evictions[evicted] += 1
            self._models[model_id] = model
            return model

    def loaded(self) -> list[str]:
        """Model ids held now, least recently used first."""
        with self._lock:
            return list(self._models)

    def stats(self) -> dict[str, object]:
        return {"loaded": self.loaded(), "loads": dict(self.loads),
                "evictions": dict(self.evictions), "capacity": self.capacity}
