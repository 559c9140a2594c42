"""Operator configuration, from environment variables (the Helm chart sets them) or flags."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorConfig:
    mlflow_tracking_uri: str | None = None
    """Default MLflow tracking URI for pipelines that do not set spec.mlflow.trackingUri."""
    namespaces: tuple[str, ...] = ()
    """Namespaces to serve; empty means cluster-wide."""
    max_concurrent_jobs: int = 0
    """Global cap on running training Jobs (0: no cap). Waiting runs are served fairly by pipeline."""
    metrics_port: int = 9090
    health_port: int = 8080
    peering: str | None = "refit"
    """kopf peering object; only the highest-priority live replica is active. None: standalone."""
    priority: int = 0
    """kopf peering priority; REFIT_PRIORITY, else random per process so replicas differ."""
    log_format: str = "text"
    requeue_seconds: float = 30.0
    """How long a run or pipeline waits before re-checking after a transient error."""
    job_watch_labels: str = "app.kubernetes.io/managed-by=refit"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env
        namespaces = tuple(
            n.strip() for n in env.get("REFIT_NAMESPACES", "").split(",") if n.strip()
        )
        peering = env.get("REFIT_PEERING", "refit").strip()
        return cls(
            mlflow_tracking_uri=env.get("REFIT_MLFLOW_TRACKING_URI")
            or env.get("MLFLOW_TRACKING_URI")
            or None,
            namespaces=namespaces,
            max_concurrent_jobs=int(env.get("REFIT_MAX_CONCURRENT_JOBS", "0")),
            metrics_port=int(env.get("REFIT_METRICS_PORT", "9090")),
            health_port=int(env.get("REFIT_HEALTH_PORT", "8080")),
            peering=None if peering in {"", "none", "standalone"} else peering,
            log_format=env.get("REFIT_LOG_FORMAT", "text"),
            priority=int(env.get("REFIT_PRIORITY") or secrets.randbelow(1_000_000) + 1),
            requeue_seconds=float(env.get("REFIT_REQUEUE_SECONDS", "30")),
        )
