"""Run the real operator (`refit operator`) as a process against the test control plane."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cluster.controlplane import ClusterState, free_port
from kubernetes import client

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "examples" / "data"
GROUP, VERSION = "refit.dev", "v1alpha1"


def wait_for(
    what: str, check: Callable[[], T | None], timeout: float = 240, interval: float = 0.5
) -> T:
    """Poll until `check` returns something truthy; fail with `what` otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class OperatorProcess:
    """One `refit operator` process serving one namespace."""

    cluster: ClusterState
    namespace: str
    tracking_uri: str
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    # Credentials the operator runs with; default: the cluster's admin kubeconfig. The RBAC test
    # passes one with a ServiceAccount token, to run the operator with the chart's permissions.
    kubeconfig: Path | None = None
    metrics_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, wait_healthy: bool = True) -> OperatorProcess:
        """Start the process; unless `wait_healthy` is False (an operator armed with failpoints
        may crash before its first health check), wait until /healthz answers."""
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig or self.cluster.kubeconfig),
            "REFIT_NAMESPACES": self.namespace,
            "REFIT_MLFLOW_TRACKING_URI": self.tracking_uri,
            "REFIT_PEERING": "standalone",
            "REFIT_METRICS_PORT": str(self.metrics_port),
            "REFIT_HEALTH_PORT": str(self.health_port),
            "REFIT_REQUEUE_SECONDS": "5",
            **self.extra_env,
        }
        out = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "refit.cli.main", "operator"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait_healthy:
            wait_for("operator liveness", self.alive_and_healthy, timeout=60)
        return self

    def alive_and_healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"operator exited with {self.proc.returncode}:\n{self.log_tail()}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.health_port}/healthz", timeout=2
            ) as r:
                return r.status == 200
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as r:
            return r.read().decode()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Refit:
    """Small client for the test's namespace."""

    api: client.ApiClient
    namespace: str

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def apply_pipeline(self, body: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "TrainingPipeline", **body}
        body.setdefault("metadata", {})["namespace"] = self.namespace
        obj: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "trainingpipelines", body
        )
        return obj

    def patch_pipeline(self, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "trainingpipelines", name, patch
        )

    def pipeline(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "trainingpipelines", name
        )
        return obj

    def create_run(self, name: str, pipeline: str, **trigger: Any) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "TrainingRun",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"pipelineRef": {"name": pipeline}, "trigger": {"type": "Manual", **trigger}},
        }
        obj: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "trainingruns", body
        )
        return obj

    def runs(self) -> list[dict[str, Any]]:
        result: dict[str, Any] = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "trainingruns"
        )
        return list(result["items"])

    def run(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "trainingruns", name
        )
        return obj

    def jobs(self) -> list[Any]:
        return list(client.BatchV1Api(self.api).list_namespaced_job(self.namespace).items)

    def events(self) -> list[Any]:
        return list(client.CoreV1Api(self.api).list_namespaced_event(self.namespace).items)

    def await_events(
        self, what: str, matches: Callable[[Any], bool], timeout: float = 60
    ) -> list[Any]:
        """The events that match, once there is one. The operator posts an event after the status
        write it describes (so a retried write never repeats it): a test that has just seen the
        status must wait for the event, not read the list once."""
        try:
            return wait_for(
                f"event {what}", lambda: [e for e in self.events() if matches(e)], timeout
            )
        except AssertionError as timed_out:
            seen = [(e.reason, e.involved_object.name, e.message) for e in self.events()]
            raise AssertionError(f"{timed_out}; events: {seen}") from None

    def condition(self, obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
        for cond in (obj.get("status") or {}).get("conditions") or []:
            if cond.get("type") == type_:
                return dict(cond)
        return None

    def terminal_run(self, name: str) -> dict[str, Any] | None:
        run = self.run(name)
        phase = (run.get("status") or {}).get("phase")
        return run if phase in {"Promoted", "Rejected", "Failed"} else None


def pipeline_body(
    name: str,
    *,
    recipe: str = "daily-sales",
    train: Path = DATA / "cdnow_transactions.csv.gz",
    metric: str = "rmse",
    direction: str = "minimize",
    **spec: Any,
) -> dict[str, Any]:
    """A TrainingPipeline whose Jobs run the real trainer (`refit-trainer`) on real data."""
    body: dict[str, Any] = {
        "data": {"train": f"file://{train}"},
        "trainer": {"image": "refit-trainer:test", "args": ["--recipe", recipe], "backoffLimit": 0},
        "evaluation": {"metric": metric, "direction": direction},
        "model": {"name": f"{name}-{os.getpid()}-{time.monotonic_ns() % 10**6}"},
    }
    body.update(spec)
    return {"metadata": {"name": name}, "spec": body}
