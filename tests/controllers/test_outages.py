"""Dependencies fail while a run is in flight: the MLflow server stops for two minutes, the
kube-apiserver restarts. The operator says what is wrong while it is wrong, and the run then
finishes with one Job per step, one MLflow run, one model version and one promotion."""

from __future__ import annotations

import time
from pathlib import Path

from cluster.controlplane import ClusterState, restart_apiserver
from cluster.mlflow_proc import MlflowServer
from kubernetes import client
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for

from .fault_checks import assert_finished_once

MLFLOW_OUTAGE_SECONDS = 120
APISERVER_DOWN_SECONDS = 15


def phase(refit: Refit, run: str) -> str | None:
    return (refit.run(run).get("status") or {}).get("phase")


def unreachable_condition(refit: Refit, run: str) -> dict[str, str] | None:
    for condition in (refit.run(run).get("status") or {}).get("conditions") or []:
        if condition.get("reason") == "MLflowUnreachable":
            return dict(condition)
    return None


def test_mlflow_down_two_minutes_mid_training(
    refit: Refit,
    cluster: ClusterState,
    namespace: str,
    api_client: client.ApiClient,
    tmp_path: Path,
) -> None:
    # Our own server: the session's is shared by other tests. Restarted on the same port with
    # the same sqlite store and artifact root, as a real outage would leave it.
    mlflow = MlflowServer(tmp_path / "mlflow").start()
    log = tmp_path / "operator.log"
    operator = OperatorProcess(cluster, namespace, mlflow.uri, log).start()
    try:
        # The trainer fails fast when MLflow is unreachable (trainer-image/CONTRACT.md) and the
        # Job controller retries its pod with backoff (10 s, 20 s, 40 s, ...): six retries
        # outlast two minutes.
        body = pipeline_body("outage")
        body["spec"]["trainer"]["backoffLimit"] = 6
        model = body["spec"]["model"]["name"]
        refit.apply_pipeline(body)
        refit.create_run("outage-1", "outage")
        wait_for("training", lambda: phase(refit, "outage-1") == "Training", timeout=300)

        mlflow.stop()
        down_at = time.monotonic()
        # While it is down the run says so, in a condition and an event.
        condition = wait_for(
            "a condition naming the MLflow outage",
            lambda: unreachable_condition(refit, "outage-1"),
            timeout=MLFLOW_OUTAGE_SECONDS,
        )
        assert condition["status"] == "Unknown" and mlflow.uri in condition["message"], condition
        refit.await_events(
            "MLflowUnreachable for outage-1",
            lambda e: e.reason == "MLflowUnreachable" and e.involved_object.name == "outage-1",
        )
        assert refit.terminal_run("outage-1") is None  # waiting, not failed
        time.sleep(max(0.0, MLFLOW_OUTAGE_SECONDS - (time.monotonic() - down_at)))
        assert refit.terminal_run("outage-1") is None
        mlflow.start()

        wait_for("the run to finish", lambda: refit.terminal_run("outage-1"), timeout=900)
        assert_finished_once(refit, api_client, mlflow.uri, "outage-1", model, pods_per_job=7)
        assert unreachable_condition(refit, "outage-1") is None  # replaced once it recovered
        assert operator.alive_and_healthy()
    finally:
        operator.stop()
        mlflow.stop()
        print(f"--- operator log ({log}) ---\n{operator.log_tail(80)}")


def test_apiserver_restart_mid_run(
    refit: Refit,
    cluster: ClusterState,
    mlflow_server: str,
    namespace: str,
    api_client: client.ApiClient,
    tmp_path: Path,
) -> None:
    log = tmp_path / "operator.log"
    operator = OperatorProcess(cluster, namespace, mlflow_server, log).start()
    try:
        body = pipeline_body("apirestart")
        model = body["spec"]["model"]["name"]
        refit.apply_pipeline(body)
        refit.create_run("apirestart-1", "apirestart")
        wait_for("training", lambda: phase(refit, "apirestart-1") == "Training", timeout=300)
        pid = operator.proc.pid if operator.proc else None

        # The whole API goes away (watches end, requests are refused) and comes back on the
        # same port with the same etcd. Other tests share this cluster: the helper returns
        # only once /readyz is ok again.
        restart_apiserver(cluster, downtime=APISERVER_DOWN_SECONDS)

        wait_for("the run to finish", lambda: refit.terminal_run("apirestart-1"), timeout=600)
        assert_finished_once(refit, api_client, mlflow_server, "apirestart-1", model)
        # The same operator process reconnected: it neither crashed nor needed a restart.
        assert operator.proc is not None and operator.proc.pid == pid
        assert operator.alive_and_healthy()
    finally:
        operator.stop()
        print(f"--- operator log ({log}) ---\n{operator.log_tail(80)}")
