"""Synchronous Ray plumbing for the web tier: start or connect, deploy, wait, stop.

These calls block for seconds (``ray.init`` 4-12 s, a cold deploy 10-30 s), so
``RayModels.start`` runs them in a worker thread. That also keeps Ray from taking
over the server's SIGTERM: ``ray.init`` installs its own SIGTERM handler only when
called on the main thread, and :func:`init_ray` restores the previous handlers if
it is called there anyway.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from serving.base import ModelUnavailable
from serving.config import ServingConfig

__all__ = ["RayUnavailable", "app_status", "deploy_app", "init_ray", "shutdown_ray"]

log = logging.getLogger("parley.serving")
_REPO_ROOT = Path(__file__).resolve().parent.parent


class RayUnavailable(ModelUnavailable):
    """Ray could not be started or reached, or the application did not come up."""

    def __init__(self, address: str, reason: str) -> None:
        self.address, self.reason = address, reason
        self._init((address, reason), "ray", reason,
                   f"Ray at {address} is unavailable: {reason}")


@contextmanager
def _keep_signal_handlers() -> Iterator[None]:
    """Undo the SIGTERM/SIGINT handlers ``ray.init`` installs on the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)


def init_ray(config: ServingConfig) -> str:
    """Connect to ``config.ray.address``, or start a local single-node Ray.

    Returns "started" (this call started a local cluster: the caller owns it and
    stops it on close), "connected" (to an existing cluster: disconnect on close)
    or "attached" (Ray was already initialised by someone else: leave it alone).
    """
    import ray

    if ray.is_initialized():
        return "attached"
    address = config.ray.address
    try:
        with _keep_signal_handlers():
            if address:
                # log_to_driver off: the cluster's logs stay in the cluster's log files
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
                return "connected"
            # A local test/laptop cluster: no token auth (Ray >= 2.5x enables it by
            # default), no dashboard, and workers that can import this checkout.
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            path = os.environ.get("PYTHONPATH", "")
            if str(_REPO_ROOT) not in path.split(os.pathsep):
                os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO_ROOT), path) if p)
            ray.init(
                num_cpus=config.ray.num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                object_store_memory=config.ray.object_store_memory_mb * 2**20,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
            return "started"
    except Exception as exc:
        raise RayUnavailable(address or "local", f"{type(exc).__name__}: {exc}") from exc


def app_status(app_name: str) -> tuple[str, dict[str, str]]:
    """(application status, {deployment: "ok" | "STATUS: message"}) from ``serve.status()``."""
    from ray import serve

    app = serve.status().applications.get(app_name)
    if app is None:
        return "NOT_DEPLOYED", {}
    out = {}
    for name, dep in app.deployments.items():
        status = str(getattr(dep.status, "value", dep.status))
        healthy = status in {"HEALTHY", "UPSCALING", "DOWNSCALING"}
        out[name] = "ok" if healthy else f"{status}: {dep.message}".rstrip(": ")
    return str(getattr(app.status, "value", app.status)), out


def deploy_app(config: ServingConfig) -> None:
    """Deploy (or update) the application and wait until every deployment is healthy."""
    from ray import serve

    from serving.app import build_application

    serve.start(proxy_location="Disabled", http_options={"host": "127.0.0.1"})
    target = serve.RunTarget(build_application(config), name=config.app_name,
                             route_prefix=None,
                             logging_config={"enable_access_log": False})
    serve.run_many([target], wait_for_ingress_deployment_creation=False,
                   wait_for_applications_running=False)
    deadline = time.monotonic() + config.ray.deploy_timeout_s
    status, deployments = "", {}
    while time.monotonic() < deadline:
        status, deployments = app_status(config.app_name)
        if status == "RUNNING":
            return
        if status == "DEPLOY_FAILED":
            break
        time.sleep(0.5)
    raise RayUnavailable(
        config.ray.address or "local",
        f"application {config.app_name!r} is {status or 'unknown'} "
        f"({'; '.join(f'{k}: {v}' for k, v in deployments.items()) or 'no deployments'})")


def shutdown_ray(how: str) -> None:
    """Undo :func:`init_ray`: stop Serve and a cluster we "started", disconnect if
    "connected", nothing if "attached"."""
    import ray

    if how not in {"started", "connected"} or not ray.is_initialized():
        return
    if how == "started":
        from ray import serve

        try:
            serve.shutdown()
        except Exception:  # the cluster is going away anyway
            log.warning("serve.shutdown failed", exc_info=True)
    ray.shutdown()
