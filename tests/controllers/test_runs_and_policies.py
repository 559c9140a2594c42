"""Manual runs, Forbid, suspend, garbage collection, and bad references — on the real cluster."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for

# A trainer that takes a while and then fails cleanly: enough to test lifecycles quickly.
SLEEPER = {
    "image": "busybox",
    "command": ["python", "-c", "import time, sys; time.sleep(110); sys.exit(1)"],
    "backoffLimit": 0,
}


def test_manual_run_forbid_suspend_and_garbage_collection(
    refit: Refit, operator_process: OperatorProcess, api_client: client.ApiClient
) -> None:
    # Every minute, Forbid: while the manual run is active, ticks are skipped, not piled up.
    refit.apply_pipeline(pipeline_body("busy", schedule={"cron": "* * * * *"}, trainer=SLEEPER))
    refit.create_run("busy-manual", "busy")
    wait_for(
        "manual run training",
        lambda: (refit.run("busy-manual").get("status") or {}).get("phase") == "Training",
        timeout=120,
    )
    # Let at least one tick pass while the run is active.
    time.sleep(65)
    pipeline = refit.pipeline("busy")
    active_names = [r["name"] for r in pipeline["status"].get("activeRuns", [])]
    assert active_names == ["busy-manual"], pipeline["status"]
    assert pipeline["status"].get("missedSchedules", 0) >= 1
    refit.await_events("MissedSchedule", lambda e: e.reason == "MissedSchedule")
    assert len(refit.runs()) == 1

    failed = wait_for("manual run to fail", lambda: refit.terminal_run("busy-manual"), timeout=120)
    assert failed["status"]["phase"] == "Failed"
    assert "busy-manual-train" in failed["status"]["failureReason"]

    # Suspend: no new runs however many ticks pass.
    refit.patch_pipeline("busy", {"spec": {"suspend": True}})
    wait_for(
        "Suspended=True",
        lambda: (
            (c := refit.condition(refit.pipeline("busy"), "Suspended")) and c["status"] == "True"
        ),
    )
    count = len(refit.runs())
    time.sleep(65)
    assert len(refit.runs()) == count

    # Deleting the pipeline garbage-collects its runs, their Jobs and pods.
    assert refit.jobs()
    client.CustomObjectsApi(api_client).delete_namespaced_custom_object(
        "refit.dev",
        "v1alpha1",
        refit.namespace,
        "trainingpipelines",
        "busy",
        propagation_policy="Background",
    )
    core = client.CoreV1Api(api_client)
    wait_for("runs gone", lambda: not refit.runs(), timeout=120)
    wait_for("jobs gone", lambda: not refit.jobs(), timeout=120)
    wait_for("pods gone", lambda: not core.list_namespaced_pod(refit.namespace).items, timeout=120)


def test_missing_secret_sets_ready_false_and_other_pipelines_keep_working(
    refit: Refit, operator_process: OperatorProcess, api_client: client.ApiClient
) -> None:
    broken = pipeline_body("broken", schedule={"cron": "* * * * *"})
    broken["spec"]["data"]["credentialsSecretRef"] = {"name": "no-such-secret"}
    refit.apply_pipeline(broken)
    cond: dict[str, Any] = wait_for(
        "Ready=False",
        lambda: (
            (c := refit.condition(refit.pipeline("broken"), "Ready"))
            and c["status"] == "False"
            and c
        ),
    )
    assert cond["reason"] == "SecretNotFound" and "no-such-secret" in cond["message"]
    refit.await_events(
        "SecretNotFound for broken",
        lambda e: e.reason == "SecretNotFound" and e.involved_object.name == "broken",
    )

    unreachable = pipeline_body("unreachable", mlflow={"trackingUri": "http://127.0.0.1:9"})
    refit.apply_pipeline(unreachable)
    cond = wait_for(
        "Ready=False for MLflow",
        lambda: (
            (c := refit.condition(refit.pipeline("unreachable"), "Ready"))
            and c["status"] == "False"
            and c
        ),
        timeout=120,
    )
    assert cond["reason"] == "MLflowUnreachable"

    # The operator keeps serving: a healthy pipeline still becomes Ready, nothing ran for the others.
    refit.apply_pipeline(pipeline_body("healthy", schedule={"cron": "0 0 1 1 *"}))
    wait_for(
        "healthy Ready",
        lambda: (
            (c := refit.condition(refit.pipeline("healthy"), "Ready")) and c["status"] == "True"
        ),
    )
    assert operator_process.alive_and_healthy()

    # Fixing the reference makes it Ready.
    client.CoreV1Api(api_client).create_namespaced_secret(
        refit.namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="no-such-secret"),
            string_data={"AWS_ACCESS_KEY_ID": "x"},
        ),
    )
    refit.patch_pipeline(
        "broken", {"metadata": {"labels": {"touched": "yes"}}, "spec": {"suspend": False}}
    )
    wait_for(
        "broken becomes Ready",
        lambda: (c := refit.condition(refit.pipeline("broken"), "Ready")) and c["status"] == "True",
        timeout=120,
    )


def test_global_cap_queues_training_jobs(
    refit: Refit, cluster: Any, mlflow_server: str, namespace: str, tmp_path: Any
) -> None:
    operator = OperatorProcess(
        cluster,
        namespace,
        mlflow_server,
        tmp_path / "operator.log",
        # Requeue far beyond the test's timeouts: the queued run must be woken when the slot
        # frees, not find it on a periodic re-check.
        extra_env={"REFIT_MAX_CONCURRENT_JOBS": "1", "REFIT_REQUEUE_SECONDS": "900"},
    ).start()
    try:
        quick = {
            "image": "busybox",
            "command": ["python", "-c", "import time; time.sleep(15)"],
            "backoffLimit": 0,
        }
        refit.apply_pipeline(pipeline_body("capped", trainer=quick))
        refit.create_run("capped-a", "capped")
        refit.create_run("capped-b", "capped")
        first = wait_for(
            "one training Job", lambda: [j.metadata.name for j in refit.jobs()], timeout=120
        )
        assert len(first) == 1
        waiting = "capped-b" if first[0].startswith("capped-a") else "capped-a"
        cond = wait_for(
            "the other run queued",
            lambda: (
                (c := refit.condition(refit.run(waiting), "Trained"))
                and c["reason"] == "Queued"
                and c
            ),
        )
        assert "1 of 1" in cond["message"]
        assert len([j for j in refit.jobs() if j.metadata.name.endswith("-train")]) == 1
        # Once the first training finishes, the queued run gets the slot (woken, not polling).
        wait_for(
            "second training Job",
            lambda: len([j for j in refit.jobs() if j.metadata.name.endswith("-train")]) == 2,
            timeout=180,
        )
    finally:
        operator.stop()
