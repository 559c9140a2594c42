"""A new run is a snapshot of its pipeline, owned by it; its Jobs' requests come from the run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from refit.api.enums import TriggerType
from refit.api.pipeline import TrainingPipeline
from refit.api.run import TrainingRun
from refit.core.job_spec import (
    Step,
    contract_env,
    drift_check_data,
    drift_config,
    experiment_name,
    run_job_request,
)
from refit.core.run_snapshot import run_manifest, snapshot_run

AT = datetime(1997, 6, 2, tzinfo=UTC)


def pipeline(**spec: object) -> TrainingPipeline:
    body = {
        "apiVersion": "refit.dev/v1alpha1",
        "kind": "TrainingPipeline",
        "metadata": {
            "name": "sales",
            "namespace": "shop",
            "uid": "u-1",
            "labels": {"team": "a", "argocd.argoproj.io/instance": "apps"},
        },
        "spec": {
            "data": {"train": "file:///d/train.csv", "current": "file:///d/now.csv"},
            "trainer": {"image": "t:1", "args": ["--recipe", "daily-sales"]},
            "evaluation": {"metric": "rmse", "direction": "minimize"},
            "model": {"name": "sales"},
            **spec,
        },
    }
    return TrainingPipeline.model_validate(body)


def test_snapshot_copies_the_pipeline_specs_and_the_trigger() -> None:
    tp = pipeline(promotion={"mode": "Manual"})
    run = snapshot_run(tp, "sales-1", TriggerType.MANUAL, AT, "because " * 200)
    assert run.spec.pipeline_ref.name == "sales"
    assert run.spec.trigger.type is TriggerType.MANUAL and run.spec.trigger.scheduled_time == AT
    assert run.spec.trigger.reason is not None and len(run.spec.trigger.reason) == 1024
    for field in ("data", "trainer", "evaluation", "model", "mlflow", "promotion"):
        assert getattr(run.spec, field) == getattr(tp.spec, field)
    # Argo CD's tracking label is not inherited: Argo CD would prune the run as its own.
    assert run.metadata.labels == {"team": "a", "refit.dev/pipeline": "sales"}


def test_manifest_is_owned_by_the_pipeline_and_round_trips() -> None:
    body = run_manifest(pipeline(), "sales-1", TriggerType.SCHEDULE, AT, "tick")
    assert "status" not in body
    [owner] = body["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "refit.dev/v1alpha1",
        "kind": "TrainingPipeline",
        "name": "sales",
        "uid": "u-1",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert TrainingRun.model_validate(body).spec.trigger.type is TriggerType.SCHEDULE


def test_job_request_of_a_run_carries_the_contract() -> None:
    run = snapshot_run(pipeline(), "sales-1", TriggerType.SCHEDULE, AT, "tick")
    run.metadata.uid = "r-1"
    request = run_job_request(run, "sales-1-train", Step.TRAIN, "m-1", "sqlite:///x.db")
    env = contract_env(request)
    assert env["MLFLOW_EXPERIMENT_NAME"] == "shop/sales"
    assert env["REFIT_SCHEDULED_TIME"] == "1997-06-02T00:00:00Z"
    assert env["REFIT_RUN"] == "sales-1" and env["MLFLOW_RUN_ID"] == "m-1"
    assert request.owner.uid == "r-1"


def test_experiment_name_defaults_to_namespace_and_pipeline() -> None:
    assert experiment_name(None, "ns", "p") == "ns/p"
    assert experiment_name(pipeline(mlflow={"experiment": "e"}).spec.mlflow, "ns", "p") == "e"


def test_drift_check_data_and_config() -> None:
    tp = pipeline(
        triggers={
            "drift": {
                "checkSchedule": "0 * * * *",
                "features": ["a"],
                "stattest": "psi",
                "threshold": 0.2,
            }
        }
    )
    data = drift_check_data(tp.spec)
    assert data.reference == "file:///d/train.csv"  # no reference anywhere: the train data
    assert data.current == "file:///d/now.csv"
    assert tp.spec.triggers.drift is not None
    config = json.loads(drift_config(tp.spec.triggers.drift))
    assert config == {
        "features": ["a"],
        "stattest": "psi",
        "driftShare": 0.5,
        "minSampleSize": 30,
        "thresholds": {"psi": 0.2},
    }
