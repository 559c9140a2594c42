"""What every fault test asserts once a run has finished: nothing lost, nothing duplicated.

Exactly one Job per step (and one pod per Job: backoffLimit is 0, so a second pod would be a
second attempt), one MLflow run per TrainingRun (by its `refit.run-uid` tag) and one model
version per MLflow run, at most one promotion, the run in a terminal phase with the conditions
that say why.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from mlflow.tracking import MlflowClient
from operator_harness import Refit

TERMINAL = {"Promoted", "Rejected", "Failed"}


def mlflow_runs_of(tracking_uri: str, uid: str) -> list[Any]:
    mlflow = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in mlflow.search_experiments()]
    return list(mlflow.search_runs(experiments, filter_string=f"tags.`refit.run-uid` = '{uid}'"))


def versions_of(tracking_uri: str, model: str) -> list[Any]:
    return list(MlflowClient(tracking_uri).search_model_versions(f"name = '{model}'"))


def jobs_and_pods(refit: Refit, api_client: client.ApiClient, run: str) -> dict[str, int]:
    """Each Job of the run, by name, with how many pods it has had."""
    pods = client.CoreV1Api(api_client).list_namespaced_pod(refit.namespace).items
    per_job: dict[str, int] = {}
    for job in refit.jobs():
        if (job.metadata.labels or {}).get("refit.dev/run") == run:
            per_job[job.metadata.name] = 0
    for pod in pods:
        owner = (pod.metadata.labels or {}).get("batch.kubernetes.io/job-name")
        if owner in per_job:
            per_job[owner] += 1
    return per_job


def assert_nothing_duplicated_so_far(
    refit: Refit, api_client: client.ApiClient, tracking_uri: str, run: str, model: str
) -> None:
    """Mid-run (e.g. right after a crash): at most one of everything."""
    uid = refit.run(run)["metadata"]["uid"]
    assert all(pods <= 1 for pods in jobs_and_pods(refit, api_client, run).values())
    assert len(mlflow_runs_of(tracking_uri, uid)) <= 1
    assert len(versions_of(tracking_uri, model)) <= 1


def assert_finished_once(
    refit: Refit,
    api_client: client.ApiClient,
    tracking_uri: str,
    run: str,
    model: str,
    *,
    phase: str = "Promoted",
    pods_per_job: int = 1,
) -> dict[str, Any]:
    """The full set of assertions after a fault; returns the run. `pods_per_job` > 1 allows the
    Job controller's own retries (backoffLimit) of a pod that failed during the fault."""
    body = refit.run(run)
    status = body.get("status") or {}
    assert status.get("phase") == phase, status
    assert phase in TERMINAL

    jobs = jobs_and_pods(refit, api_client, run)
    assert sorted(jobs) == [f"{run}-eval", f"{run}-train"], jobs
    assert all(1 <= pods <= pods_per_job for pods in jobs.values()), jobs

    mlflow_runs = mlflow_runs_of(tracking_uri, body["metadata"]["uid"])
    assert [r.info.run_id for r in mlflow_runs] == [status["mlflowRunId"]]
    assert mlflow_runs[0].info.status == "FINISHED"

    versions = versions_of(tracking_uri, model)
    assert [v.run_id for v in versions] == [status["mlflowRunId"]], versions
    version = versions[0].version
    assert status["candidate"]["version"] == version

    promoted_tags = [v for v in versions if v.tags.get("refit.decision") == "promoted"]

    def promotion_event(e: Any) -> bool:
        return e.involved_object.name == run and (e.message or "").startswith("Promoted:")

    mlflow = MlflowClient(tracking_uri)
    if phase == "Promoted":
        assert len(promoted_tags) == 1
        promotion_events = refit.await_events(f"Promoted for {run}", promotion_event)
        assert len(promotion_events) == 1, [e.message for e in promotion_events]
        assert mlflow.get_model_version_by_alias(model, "champion").version == version
    else:
        assert promoted_tags == []
        assert not [e for e in refit.events() if promotion_event(e)]

    conditions = {c["type"]: c for c in status.get("conditions") or []}
    assert conditions["Succeeded"]["status"] == ("False" if phase == "Failed" else "True")
    if phase != "Failed":
        assert conditions["Trained"]["status"] == "True", conditions["Trained"]
        assert conditions["Evaluated"]["status"] == "True", conditions["Evaluated"]
        assert conditions["Promoted"]["status"] == ("True" if phase == "Promoted" else "False")
    return body
