"""Serving configuration: one YAML file for both backends, typed with pydantic.

The defaults live in ``serving/serving.yaml`` (laptop sized). A deployment points
``PARLEY_SERVING_CONFIG`` at its own file (``deploy/serving.gpu.yaml``), which is
deep-merged over the defaults, so it only names what differs. Two environment
variables override single keys: ``PARLEY_ARTEFACTS`` (artefact_root) and
``RAY_ADDRESS`` (ray.address). Nothing else in ``serving/`` reads the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AutoscalingSettings",
    "FamilySettings",
    "RaySettings",
    "ServingConfig",
    "default_config_path",
    "load_config",
]

#: Ray Serve pushes autoscaling metrics every 10 s by default; a look-back window
#: at or under that makes decisions on a single sample (and Ray warns).
RAY_METRICS_INTERVAL_S = 10.0
CONFIG_ENV, ARTEFACTS_ENV, ADDRESS_ENV = "PARLEY_SERVING_CONFIG", "PARLEY_ARTEFACTS", "RAY_ADDRESS"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AutoscalingSettings(_Strict):
    """Ray Serve ``autoscaling_config`` of one deployment."""

    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    initial_replicas: int | None = Field(None, ge=0)
    target_ongoing_requests: float = Field(8.0, gt=0)
    upscale_delay_s: float = Field(10.0, ge=0)
    downscale_delay_s: float = Field(120.0, ge=0)
    look_back_period_s: float = Field(15.0, gt=RAY_METRICS_INTERVAL_S)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalingSettings:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas must be >= min_replicas")
        return self

    def to_ray(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class FamilySettings(_Strict):
    """One model family: its deployment options and the knobs both backends share."""

    enabled: bool = True
    num_cpus: float = Field(0.5, ge=0)
    num_gpus: float = Field(0.0, ge=0)
    torch_threads: int | None = Field(None, ge=1, description="None: max(1, round(num_cpus))")
    nice: int = Field(0, ge=0, le=19, description="ray backend: added to the replica process's "
                      "CPU niceness (Ray starts workers at 15, 19 is the floor): > 0 lets the "
                      "other families go first when the CPUs are saturated")
    timeout_s: float = Field(10.0, gt=0, description="deadline of one client call")
    max_ongoing_requests: int = Field(32, ge=1)
    health_check_period_s: float = Field(10.0, gt=0)
    graceful_shutdown_timeout_s: float = Field(5.0, ge=0)
    max_batch_size: int = Field(1, ge=1, description="> 1 turns on request batching")
    batch_wait_timeout_s: float = Field(0.005, ge=0)
    max_models_per_replica: int = Field(4, ge=1, description="multiplexed heads kept (LRU)")
    train_timeout_s: float = Field(3600.0, gt=0, description="text_classifier: deadline of "
                                   "one training run")
    progress_timeout_s: float = Field(600.0, gt=0, description="text_classifier: longest "
                                      "silence between two progress events of a training run")
    client_batch_size: int = Field(0, ge=0, description="ray backend: > 1 merges concurrent "
                                   "small calls of this web process into one handle call")
    client_batch_wait_s: float = Field(0.002, ge=0)
    engine: str | None = Field(None, description="which implementation (asr: pocketsphinx, "
                               "whisper, ctc; pronunciation: auto, whisper, learned, gop); "
                               "None: the family's default")
    engine_options: dict[str, Any] = Field(default_factory=dict, description="engine kwargs")
    autoscaling: AutoscalingSettings = Field(default_factory=AutoscalingSettings)

    @property
    def threads(self) -> int:
        return self.torch_threads or max(1, round(self.num_cpus))


class RaySettings(_Strict):
    """How the web tier reaches Ray: start a local single-node Ray, or connect."""

    address: str | None = Field(None, description="None: start a local Ray (RAY_ADDRESS wins)")
    num_cpus: int | None = Field(None, ge=1, description="local Ray only; None: os.cpu_count()")
    object_store_memory_mb: int = Field(256, ge=78)
    deploy_if_missing: bool = Field(True, description="deploy the app when connecting finds none")
    deploy_timeout_s: float = Field(300.0, gt=0)
    health_timeout_s: float = Field(2.0, gt=0)
    start_timeout_s: float = Field(120.0, gt=0)
    check_gpus: bool = Field(True, description="clamp num_gpus to the GPUs the cluster has; "
                             "off for clusters that add GPU nodes on demand")


class ServingConfig(_Strict):
    app_name: str = "parley"
    artefact_root: str = "./artefacts"
    fallback_to_local: bool = False
    local_device: str = Field("auto", description="local backend: auto | cpu | cuda")
    ray: RaySettings = Field(default_factory=RaySettings)
    families: dict[str, FamilySettings] = Field(default_factory=dict)

    def family(self, name: str) -> FamilySettings:
        try:
            return self.families[name]
        except KeyError:
            raise KeyError(f"model family {name!r} is not configured "
                           f"(known: {', '.join(sorted(self.families))})") from None

    def artefact_path(self) -> Path:
        return Path(self.artefact_root).expanduser().resolve()


def default_config_path() -> Path:
    return Path(__file__).with_name("serving.yaml")


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"serving config {path} not found") from None
    if not isinstance(data, dict):
        raise ValueError(f"serving config {path} must be a mapping at the top level")
    return data


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                environ: dict[str, str] | None = None) -> ServingConfig:
    """Defaults, then ``path`` (or ``$PARLEY_SERVING_CONFIG``), then env, then ``overrides``."""
    env = os.environ if environ is None else environ
    data = _read_yaml(default_config_path())
    chosen = path or env.get(CONFIG_ENV)
    if chosen:
        data = _deep_merge(data, _read_yaml(Path(chosen)))
    if env.get(ARTEFACTS_ENV):
        data["artefact_root"] = env[ARTEFACTS_ENV]
    if env.get(ADDRESS_ENV):
        data = _deep_merge(data, {"ray": {"address": env[ADDRESS_ENV]}})
    if overrides:
        data = _deep_merge(data, overrides)
    return ServingConfig.model_validate(data)
