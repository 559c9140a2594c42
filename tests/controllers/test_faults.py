"""Crash the operator at precise points of a run (failpoints, refit.adapters.failpoints) and
restart it: the run finishes with exactly one Job per step, one MLflow run, one model version and
at most one promotion. Real operator process, control plane and MLflow server; no mocks.

Each point is armed in the operator's environment and fires once (a marker file records it); the
operator exits with 137 as SIGKILL would leave it, and the restarted operator (same environment)
goes on past the point. A point that is never reached fails the test: the crash must happen.
"""

from __future__ import annotations

from pathlib import Path

from cluster.controlplane import ClusterState
from kubernetes import client
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for

from .fault_checks import assert_finished_once, assert_nothing_duplicated_so_far

# In the order a run reaches them. A pipeline without a champion: the candidate is promoted.
CRASH_POINTS = (
    "after-mlflow-run-create",
    "before-job-create-train",
    "after-job-create-train",
    "after-version-register",
    "before-job-create-evaluate",
    "after-job-create-evaluate",
    "after-alias-move",  # the alias moved, the run's status does not say so yet
)


def crash_and_restart(operator: OperatorProcess, point: str, markers: Path) -> OperatorProcess:
    """Wait for the operator to hit `point` (and no other), then start it again."""
    assert operator.proc is not None
    wait_for(f"the operator to crash at {point}", lambda: operator.proc.poll() is not None, 600)
    assert operator.proc.returncode == 137, operator.log_tail()
    fired = sorted(p.name for p in markers.iterdir())
    assert point in fired, f"crashed, but not at {point}: fired {fired}\n{operator.log_tail()}"
    return OperatorProcess(
        operator.cluster,
        operator.namespace,
        operator.tracking_uri,
        operator.log_path,
        extra_env=operator.extra_env,
    ).start(wait_healthy=False)  # it may reach the next point before its first health check


def test_crash_at_every_failpoint_then_restart(
    refit: Refit,
    cluster: ClusterState,
    mlflow_server: str,
    namespace: str,
    api_client: client.ApiClient,
    tmp_path: Path,
) -> None:
    """All points armed at once: one run crashes the operator at each in turn (seven crashes,
    eight operator processes). One run instead of one per point keeps this at about two minutes
    on two shared cores instead of eight; every crash is still checked on its own."""
    markers = tmp_path / "failpoints"
    markers.mkdir()
    env = {"REFIT_FAILPOINTS": ",".join(CRASH_POINTS), "REFIT_FAILPOINTS_DIR": str(markers)}
    log = tmp_path / "operator.log"
    operator = OperatorProcess(cluster, namespace, mlflow_server, log, extra_env=env).start()
    try:
        body = pipeline_body("crash")
        model = body["spec"]["model"]["name"]
        refit.apply_pipeline(body)
        refit.create_run("crash-1", "crash")

        for n, point in enumerate(CRASH_POINTS, 1):
            operator = crash_and_restart(operator, point, markers)
            # Exactly the points so far fired, in order: nothing skipped, nothing fired twice.
            assert sorted(p.name for p in markers.iterdir()) == sorted(CRASH_POINTS[:n])
            assert refit.terminal_run("crash-1") is None  # each crash left the run unfinished
            assert_nothing_duplicated_so_far(refit, api_client, mlflow_server, "crash-1", model)

        wait_for("the run to finish", lambda: refit.terminal_run("crash-1"), timeout=600)
        assert_finished_once(refit, api_client, mlflow_server, "crash-1", model)
        # No further crash: each point fires once.
        wait_for("the last operator to be healthy", operator.alive_and_healthy, timeout=60)
    finally:
        operator.stop()
        print(f"--- operator log ({log}) ---\n{operator.log_tail(80)}")
