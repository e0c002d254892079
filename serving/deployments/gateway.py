"""The ingress of the ``parley`` application: it binds the model deployments together.

A Serve application has one ingress; binding every family into it deploys them all
with one ``serve.run`` (or one RayService entry). Clients do not go through it:
they hold a handle per family (``serve.get_deployment_handle(family, app)``), so the
gateway adds no hop to model calls. It needs no CPU and does not import torch.
"""

from __future__ import annotations

from typing import Any

from ray import serve

__all__ = ["Gateway"]


@serve.deployment(name="gateway", ray_actor_options={"num_cpus": 0}, num_replicas=1)
class Gateway:
    def __init__(self, **families: Any) -> None:
        self._families = sorted(families)

    async def ping(self) -> str:
        return "ok"

    async def families(self) -> list[str]:
        return self._families
