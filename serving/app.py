"""The Ray Serve application: one deployment per model family, options from the config.

``build_app`` is the import path for ``serve run``/``serve deploy`` and KubeRay's
RayService (``import_path: serving.app:build_app``); ``build_application`` is what
the web tier's start-up calls with an already loaded config.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

from ray.serve import Application

from serving.config import FamilySettings, ServingConfig, load_config

__all__ = ["FAMILIES", "build_app", "build_application", "deployment_options", "resolve_num_gpus"]

log = logging.getLogger("parley.serving")


@dataclass(frozen=True)
class FamilySpec:
    module: str
    cls: str
    needs_artefacts: bool = False


#: Model family -> its deployment class. Adding a family: one entry here.
FAMILIES: dict[str, FamilySpec] = {
    "embeddings": FamilySpec("serving.deployments.embeddings", "EmbeddingsDeployment"),
    "text_classifier": FamilySpec("serving.deployments.text_classifier",
                                  "TextClassifierDeployment", needs_artefacts=True),
    "image_classifier": FamilySpec("serving.deployments.image_classifier",
                                   "ImageClassifierDeployment", needs_artefacts=True),
    "tts": FamilySpec("serving.deployments.tts", "TtsDeployment"),
    "asr": FamilySpec("serving.deployments.asr", "AsrDeployment"),
    "pronunciation": FamilySpec("serving.deployments.pronunciation", "PronunciationDeployment"),
}


def cluster_gpus() -> float | None:
    """GPUs the connected Ray cluster has now; None when Ray is not initialised."""
    import ray

    if not ray.is_initialized():
        return None
    return float(ray.cluster_resources().get("GPU", 0))


def resolve_num_gpus(family: str, requested: float, available: float | None) -> float:
    """Never ask for a GPU the cluster does not have (the replica would stay DEPLOYING)."""
    if requested <= 0 or available is None:
        return max(0.0, requested)
    if available <= 0:
        log.warning("%s asks for %s GPU but the cluster has none: running on CPU",
                    family, requested)
        return 0.0
    if requested > available:
        log.warning("%s asks for %s GPU, the cluster has %s: using %s",
                    family, requested, available, available)
        return available
    return requested


def deployment_options(family: str, settings: FamilySettings,
                       available_gpus: float | None) -> tuple[dict[str, Any], FamilySettings]:
    """Ray ``.options(...)`` for a family, and its settings with the GPU count resolved."""
    num_gpus = resolve_num_gpus(family, settings.num_gpus, available_gpus)
    resolved = settings.model_copy(update={"num_gpus": num_gpus})
    options = {
        "autoscaling_config": settings.autoscaling.to_ray(),
        "max_ongoing_requests": settings.max_ongoing_requests,
        "ray_actor_options": {"num_cpus": settings.num_cpus, "num_gpus": num_gpus},
        "health_check_period_s": settings.health_check_period_s,
        "graceful_shutdown_timeout_s": settings.graceful_shutdown_timeout_s,
    }
    return options, resolved


def build_application(config: ServingConfig, available_gpus: float | None = None,
                      check_gpus: bool | None = None) -> Application:
    """Bind every enabled family into the ``Gateway`` ingress."""
    from serving.deployments.gateway import Gateway

    if check_gpus is None:
        check_gpus = config.ray.check_gpus
    if available_gpus is None and check_gpus:
        available_gpus = cluster_gpus()
    root = str(config.artefact_path())
    bound: dict[str, Any] = {}
    for family, settings in config.families.items():
        if not settings.enabled:
            continue
        spec = FAMILIES.get(family)
        if spec is None:
            raise ValueError(f"no deployment for model family {family!r} "
                             f"(known: {', '.join(sorted(FAMILIES))})")
        deployment = getattr(importlib.import_module(spec.module), spec.cls)
        options, resolved = deployment_options(
            family, settings, available_gpus if check_gpus else None)
        args: tuple[Any, ...] = (resolved.model_dump(),)
        if spec.needs_artefacts:
            args += (root,)
        bound[family] = deployment.options(**options).bind(*args)
    return Gateway.bind(**bound)


def build_app(args: dict[str, Any] | None = None) -> Application:
    """Application builder for ``serve run`` / ``serve deploy`` / RayService.

    ``args`` (the ``args:`` of the Serve config) may carry ``config`` (a serving
    YAML path, else ``$PARLEY_SERVING_CONFIG``) and ``overrides`` (a mapping
    deep-merged last, e.g. ``{"artefact_root": "/mnt/artefacts"}``).
    """
    args = dict(args or {})
    config = load_config(args.pop("config", None), overrides=args.pop("overrides", None))
    if args:
        raise ValueError(f"unknown build_app args: {', '.join(sorted(args))}")
    return build_application(config)
