"""Two operator replicas at once: kopf peering keeps one active; when it dies, the standby
takes over. Nothing is done twice."""

from __future__ import annotations

import signal
from pathlib import Path

from cluster.controlplane import ClusterState
from kubernetes import client
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for


def test_two_replicas_one_active_and_failover(
    refit: Refit,
    cluster: ClusterState,
    mlflow_server: str,
    namespace: str,
    api_client: client.ApiClient,
    tmp_path: Path,
) -> None:
    # The chart creates the peering object; kopf does not.
    client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        "kopf.dev",
        "v1",
        namespace,
        "kopfpeerings",
        {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "refit"}},
    )

    def replica(priority: int) -> OperatorProcess:
        return OperatorProcess(
            cluster,
            namespace,
            mlflow_server,
            tmp_path / f"operator-{priority}.log",
            extra_env={"REFIT_PEERING": "refit", "REFIT_PRIORITY": str(priority)},
        ).start()

    quick = {"image": "busybox", "command": ["python", "-c", "pass"], "backoffLimit": 0}
    low, high = replica(10), replica(20)
    try:
        refit.apply_pipeline(pipeline_body("ha", trainer=quick, failedRunsHistoryLimit=5))
        refit.create_run("ha-1", "ha")
        wait_for("ha-1 finished", lambda: refit.terminal_run("ha-1"), timeout=300)
        assert [j.metadata.name for j in refit.jobs() if j.metadata.name.startswith("ha-1-")].count(
            "ha-1-train"
        ) == 1
        high.kill(signal.SIGKILL)
        refit.create_run("ha-2", "ha")
        done = wait_for(
            "the standby takes over ha-2", lambda: refit.terminal_run("ha-2"), timeout=300
        )
        assert done["status"]["phase"] in {"Failed", "Rejected", "Promoted"}
        names = sorted(j.metadata.name for j in refit.jobs())
        assert names.count("ha-2-train") == 1 and names.count("ha-1-train") == 1
    finally:
        low.stop()
        high.stop()
