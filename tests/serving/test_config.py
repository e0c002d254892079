"""The serving config: packaged defaults, file overrides, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from serving.config import load_config


def test_defaults_describe_every_family():
    config = load_config(environ={})
    assert set(config.families) == {"embeddings", "text_classifier", "image_classifier", "tts",
                                    "asr", "pronunciation"}
    emb = config.family("embeddings")
    assert emb.max_batch_size > 1 and emb.autoscaling.min_replicas >= 1
    assert emb.autoscaling.look_back_period_s > 10
    assert config.ray.address is None and not config.fallback_to_local


def test_file_is_deep_merged_and_env_wins(tmp_path: Path):
    path = tmp_path / "serving.yaml"
    path.write_text("families:\n  embeddings:\n    num_gpus: 1\n    autoscaling:\n"
                    "      max_replicas: 8\n")
    config = load_config(environ={"PARLEY_SERVING_CONFIG": str(path),
                                  "PARLEY_ARTEFACTS": "/srv/heads",
                                  "RAY_ADDRESS": "ray-head:6379"})
    emb = config.family("embeddings")
    assert emb.num_gpus == 1 and emb.autoscaling.max_replicas == 8
    assert emb.autoscaling.min_replicas == 1  # untouched keys keep their defaults
    assert emb.max_batch_size == 32
    assert config.artefact_root == "/srv/heads" and config.ray.address == "ray-head:6379"


def test_gpu_cluster_example_loads():
    example = Path(__file__).resolve().parents[2] / "deploy" / "serving.gpu.yaml"
    config = load_config(example, environ={})
    assert config.family("embeddings").num_gpus > 0


@pytest.mark.parametrize("override", [
    {"families": {"embeddings": {"autoscaling": {"look_back_period_s": 5}}}},
    {"families": {"embeddings": {"autoscaling": {"min_replicas": 3, "max_replicas": 2}}}},
    {"families": {"embeddings": {"max_batch_size": 0}}},
    {"families": {"embeddings": {"no_such_knob": 1}}},
])
def test_invalid_settings_are_refused(override):
    with pytest.raises(ValidationError):
        load_config(overrides=override, environ={})


def test_unknown_family_names_the_known_ones():
    with pytest.raises(KeyError, match="embeddings"):
        load_config(environ={}).family("speech")


def test_missing_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_default_replicas_fit_a_two_cpu_machine():
    """Every family's minimum replicas must schedule on 2 logical CPUs (the laptop and CI
    machine): a replica Ray cannot place keeps the application from ever being ready."""
    config = load_config(environ={})
    wanted = sum(f.num_cpus * f.autoscaling.min_replicas
                 for f in config.families.values() if f.enabled)
    assert 1.0 < wanted <= 2.0 + 1e-9, wanted
