"""The operator killed (SIGKILL) and restarted at each phase of a run: exactly one Job per step,
one MLflow run, one model version, at most one promotion, and the run completes."""

from __future__ import annotations

import signal
from pathlib import Path

from cluster.controlplane import ClusterState
from kubernetes import client
from mlflow.tracking import MlflowClient
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for


def phase(refit: Refit, name: str) -> str | None:
    return (refit.run(name).get("status") or {}).get("phase")


def test_sigkill_at_each_phase_duplicates_nothing(
    refit: Refit,
    cluster: ClusterState,
    mlflow_server: str,
    namespace: str,
    api_client: client.ApiClient,
    tmp_path: Path,
) -> None:
    def start() -> OperatorProcess:
        return OperatorProcess(cluster, namespace, mlflow_server, tmp_path / "operator.log").start()

    operator = start()
    try:
        body = pipeline_body("crash")
        model = body["spec"]["model"]["name"]
        refit.apply_pipeline(body)
        run = refit.create_run("crash-1", "crash")
        uid = run["metadata"]["uid"]

        # 1. Killed while the run is brand new (MLflow run and Job being created).
        operator.kill(signal.SIGKILL)
        operator = start()
        # 2. Killed while training, 3. while evaluating.
        for wanted in ("Training", "Evaluating"):
            wait_for(
                f"phase {wanted}",
                lambda wanted=wanted: phase(refit, "crash-1") == wanted,
                timeout=300,
            )
            operator.kill(signal.SIGKILL)
            operator = start()

        done = wait_for("run to finish", lambda: refit.terminal_run("crash-1"), timeout=400)
        assert done["status"]["phase"] == "Promoted", done["status"]
        assert sorted(j.metadata.name for j in refit.jobs()) == ["crash-1-eval", "crash-1-train"]
        pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace).items
        assert len(pods) == 2  # one pod per Job: no retried or duplicate Job

        mlflow = MlflowClient(mlflow_server)
        runs = mlflow.search_runs(
            [e.experiment_id for e in mlflow.search_experiments()],
            filter_string=f"tags.`refit.run-uid` = '{uid}'",
        )
        assert len(runs) == 1
        versions = mlflow.search_model_versions(f"name = '{model}'")
        assert [v.version for v in versions] == ["1"]
        assert mlflow.get_model_version_by_alias(model, "champion").version == "1"
        refit.await_events(
            "NoChampion for crash-1",
            lambda e: e.reason == "NoChampion" and e.involved_object.name == "crash-1",
        )
    finally:
        operator.stop()
