"""The Ray Serve application built from the config (no cluster needed to build it)."""

from __future__ import annotations

import pytest

from serving.app import build_app, build_application, deployment_options, resolve_num_gpus
from serving.config import load_config


def test_gpu_requests_follow_the_cluster():
    assert resolve_num_gpus("embeddings", 1, 0) == 0  # never ask a CPU cluster for a GPU
    assert resolve_num_gpus("embeddings", 1, 4) == 1
    assert resolve_num_gpus("embeddings", 2, 1) == 1
    assert resolve_num_gpus("embeddings", 0.25, 1) == 0.25
    assert resolve_num_gpus("embeddings", 1, None) == 1  # unknown: trust the config


def test_deployment_options_come_from_the_config():
    config = load_config(overrides={"families": {"embeddings": {"num_gpus": 1}}}, environ={})
    options, resolved = deployment_options("embeddings", config.family("embeddings"), 0)
    assert options["ray_actor_options"] == {"num_cpus": 0.5, "num_gpus": 0.0}
    assert resolved.num_gpus == 0
    auto = options["autoscaling_config"]
    assert auto["min_replicas"] == 1 and auto["max_replicas"] == 2
    assert auto["look_back_period_s"] > 10 and "upscale_delay_s" in auto
    assert options["max_ongoing_requests"] == 64


def test_application_binds_every_enabled_family():
    config = load_config(overrides={"families": {"image_classifier": {"enabled": False,
                                                                       "num_gpus": 1}}},
                         environ={})
    app = build_application(config, available_gpus=0)
    ingress = app._bound_deployment
    assert ingress.name == "gateway"
    bound = {name: dep for name, dep in ingress.init_kwargs.items()}
    assert set(bound) == {"embeddings", "text_classifier", "tts", "asr", "pronunciation"}
    settings = bound["embeddings"]._bound_deployment.init_args[0]
    assert settings["max_batch_size"] == 32


def test_build_app_refuses_unknown_args():
    with pytest.raises(ValueError, match="bogus"):
        build_app({"bogus": 1})


def test_serve_config_file_is_valid_and_builds():
    from pathlib import Path

    import yaml
    from ray.serve.schema import ServeDeploySchema

    root = Path(__file__).resolve().parents[2]
    schema = ServeDeploySchema.model_validate(yaml.safe_load((root / "deploy" /
                                                              "serve.yaml").read_text()))
    (app,) = schema.applications
    assert app.import_path == "serving.app:build_app" and app.route_prefix is None
    built = build_app({"config": str(root / app.args["config"])})
    families = built._bound_deployment.init_kwargs
    assert set(families) == {"embeddings", "text_classifier", "image_classifier", "tts",
                             "asr", "pronunciation"}
