"""Model serving: one async client, two backends (``local`` threads, ``ray`` Serve).

    models = create_models("ray", observe=histogram_observer)   # or "local"
    await models.start()          # RayUnavailable if Ray cannot be reached
    vectors = await models.embed(["hello"])

``start_models`` does both and honours ``fallback_to_local``. Backends are
imported lazily so that ``import serving`` does not load torch or Ray.
"""

from __future__ import annotations

from serving.base import (
    BadInput,
    ModelClient,
    ModelError,
    ModelNotFound,
    ModelTimeout,
    ModelUnavailable,
    Observer,
    ServingError,
)
from serving.config import ServingConfig, load_config

__all__ = [
    "BadInput",
    "ModelClient",
    "ModelError",
    "ModelNotFound",
    "ModelTimeout",
    "ModelUnavailable",
    "ServingConfig",
    "ServingError",
    "create_models",
    "load_config",
    "start_models",
]


def create_models(backend: str, *, config: ServingConfig | None = None,
                  observe: Observer | None = None) -> ModelClient:
    """An unstarted client for ``backend`` ("local" or "ray"); call ``await start()``."""
    config = config or load_config()
    if backend == "local":
        from serving.local import LocalModels

        return LocalModels(config, observe=observe)
    if backend == "ray":
        from serving.ray_backend import RayModels

        return RayModels(config, observe=observe)
    raise ValueError(f"unknown serving backend {backend!r} (use 'local' or 'ray')")


async def start_models(backend: str, *, config: ServingConfig | None = None,
                       observe: Observer | None = None,
                       fallback_to_local: bool | None = None) -> ModelClient:
    """A started client; for "ray", falls back to local when configured to."""
    if backend == "ray":
        from serving.ray_backend import connect_or_start

        return await connect_or_start(config, observe=observe,
                                      fallback_to_local=fallback_to_local)
    models = create_models(backend, config=config, observe=observe)
    await models.start()
    return models
