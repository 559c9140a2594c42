"""`refit operator`: run the controllers (kopf) with metrics, liveness and peering."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sys

import kopf

from refit import __version__
from refit.adapters import metrics
from refit.adapters.kube import Kube, load_config
from refit.controllers.config import OperatorConfig
from refit.controllers.context import Context
from refit.controllers.handlers import register


class JsonFormatter(logging.Formatter):
    """One JSON object per line: what log shippers expect. Never includes secret values,
    because nothing Refit logs contains them (references only)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("k8s_obj", "object"):
            if hasattr(record, key):
                payload[key] = str(getattr(record, key))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload)


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("kubernetes", "urllib3", "mlflow", "alembic", "kopf.objects"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


M_ARENA_MAX = -8  # glibc mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas (default 8 per core), unless MALLOC_ARENA_MAX says otherwise.

    Reconcile passes run in thread pools; each thread that allocates gets an arena of its own,
    and a thousand pipelines' start-up passes spread over them fragment memory that is never
    given back. Two arenas keep the operator's resident set near what it actually holds, at no
    measurable cost here: the threads mostly wait on HTTP."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # not glibc (musl has no arenas to cap)
        return


def run_operator(config: OperatorConfig, kubeconfig: str | None = None) -> None:
    limit_malloc_arenas()
    configure_logging(config.log_format)
    # MLflow's client retries a dead server for minutes by default; a reconcile pass must give
    # up fast, report MLflowUnreachable, and try again on its own schedule.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    metrics.BUILD_INFO.labels(__version__).set(1)
    if config.metrics_port:
        metrics.serve(config.metrics_port)
    ctx = Context(config=config, kube=Kube(load_config(kubeconfig)))
    registry = kopf.OperatorRegistry()
    register(registry, ctx)
    kopf.run(
        registry=registry,
        clusterwide=not config.namespaces,
        namespaces=list(config.namespaces),
        standalone=config.peering is None,
        peering_name=config.peering,
        # kopf pauses every replica when peers share a priority; distinct priorities make the
        # highest live replica the only active one and the others hot standbys.
        priority=config.priority,
        liveness_endpoint=f"http://0.0.0.0:{config.health_port}/healthz"
        if config.health_port
        else None,
    )
