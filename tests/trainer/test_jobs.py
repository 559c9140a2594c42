"""The trainer as Jobs run it: subprocesses with the contract's env against a real MLflow.

One module fixture plays the operator: it creates the MLflow runs, runs the train Jobs
(and the custom example trainer, a drift check and a failing Job) in parallel, registers
a champion, then runs the evaluation Jobs. The tests read what landed in MLflow.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest

from refit_trainer.recipes.daily_sales import HOLDOUT_DAYS

from .jobs import CDNOW, REPO, TELCO, Finished, Job, contract_env, run_jobs

CUTOFF = "1998-03-01T00:00:00Z"
# The MLflow server is shared by the session: names unique to this module's run.
_SUFFIX = uuid.uuid4().hex[:8]
EXPERIMENT = f"trainer-tests-{_SUFFIX}"
CHURN_MODEL = f"telco-churn-{_SUFFIX}"
SALES_MODEL = f"daily-sales-unregistered-{_SUFFIX}"


def _run(client: mlflow.MlflowClient, experiment_id: str, name: str) -> str:
    tags = {"refit.pipeline": name, "refit.run": f"{name}-1", "refit.namespace": "ml"}
    return str(client.create_run(experiment_id, tags=tags, run_name=name).info.run_id)


@pytest.fixture(scope="module")
def world(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("jobs")
    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    experiment_id = client.create_experiment(EXPERIMENT)
    runs = {
        name: _run(client, experiment_id, name)
        for name in ("sales", "churn", "custom", "drift", "bad")
    }

    telco = pd.read_csv(TELCO)
    reference = tmp / "reference.parquet"
    current = tmp / "current.csv.gz"
    telco[telco["contract"] == "Month-to-month"].to_parquet(reference)
    telco[telco["contract"] == "Two year"].to_csv(current, index=False)
    latin1 = tmp / "latin1.csv"
    latin1.write_bytes("churn,city\nYes,Zürich\nNo,Genève\n".encode("latin-1"))

    def env(run: str, **extra: str) -> dict[str, str]:
        return contract_env(
            mlflow_server,
            MLFLOW_EXPERIMENT_NAME=EXPERIMENT,
            MLFLOW_RUN_ID=runs[run],
            REFIT_PIPELINE=run,
            REFIT_RUN=f"{run}-1",
            REFIT_NAMESPACE="ml",
            REFIT_TRIGGER="Schedule",
            **extra,
        )

    first = run_jobs(
        [
            Job(
                ["train", "--recipe", "daily-sales"],
                env("sales", REFIT_TRAIN_DATA=str(CDNOW), REFIT_SCHEDULED_TIME=CUTOFF),
            ),
            # A non-default seed: evaluate must rebuild the same seeded split.
            Job(
                ["train", "--recipe", "churn", "--seed", "3"],
                env("churn", REFIT_TRAIN_DATA=str(TELCO)),
            ),
            Job(
                [],
                env("custom", REFIT_TRAIN_DATA=str(TELCO)),
                script=REPO / "trainer-image" / "examples" / "custom_trainer.py",
            ),
            Job(
                ["drift"],
                env(
                    "drift",
                    REFIT_REFERENCE_DATA=str(reference),
                    REFIT_CURRENT_DATA=f"file://{current}",
                    REFIT_DRIFT_CONFIG=json.dumps({"thresholds": {"wasserstein": 0.2}}),
                ),
            ),
            Job(["train", "--recipe", "churn"], env("bad", REFIT_TRAIN_DATA=str(latin1))),
        ],
        tmp,
    )
    for job in first[:4]:
        assert job.returncode == 0, job.stderr[-3000:]

    # The operator's part: the custom model is the deployed champion of the churn pipeline.
    version = _register(mlflow_server, runs["custom"])
    client.set_registered_model_alias(CHURN_MODEL, "champion", version.version)

    second = run_jobs(
        [
            Job(
                ["evaluate"],
                env("churn", REFIT_TRAIN_DATA=str(TELCO), REFIT_MODEL_NAME=CHURN_MODEL),
            ),
            Job(
                ["evaluate"],
                env(
                    "sales",
                    REFIT_TRAIN_DATA=str(CDNOW),
                    REFIT_SCHEDULED_TIME=CUTOFF,
                    REFIT_MODEL_NAME=SALES_MODEL,
                ),
            ),
        ],
        tmp,
    )
    for job in second:
        assert job.returncode == 0, job.stderr[-3000:]
    return {
        "uri": mlflow_server,
        "client": client,
        "runs": runs,
        "bad": first[4],
        "champion_version": str(version.version),
        "reference": reference,
        "current": current,
    }


def _register(uri: str, run_id: str) -> Any:
    mlflow.set_tracking_uri(uri)
    return mlflow.register_model(f"runs:/{run_id}/model", CHURN_MODEL)


def _data(world: dict[str, Any], run: str) -> Any:
    return world["client"].get_run(world["runs"][run])


def test_daily_sales_logs_metrics_params_lineage_and_a_loadable_model(
    world: dict[str, Any],
) -> None:
    run = _data(world, "sales")
    metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
    assert {"rmse", "mae", "mape"} <= set(metrics)
    assert 0 < metrics["mae"] <= metrics["rmse"] < 2000  # daily revenue is ~2,500 $
    assert 0 < metrics["mape"] < 1
    assert params["cutoff"] == CUTOFF and params["holdout_days"] == str(HOLDOUT_DAYS)
    assert tags["refit.task"] == "regression" and tags["refit.recipe"] == "daily-sales"
    assert tags["refit.pipeline"] == "sales" and tags["refit.trigger"] == "Schedule"

    # Lineage: the exact bytes read and how many rows were before the cutoff.
    assert tags["refit.data.train.sha256"] == hashlib.sha256(CDNOW.read_bytes()).hexdigest()
    dates = pd.to_datetime(pd.read_csv(CDNOW)["date"])
    assert tags["refit.data.train.rows"] == str(len(dates))
    assert tags["refit.data.train.rows_used"] == str(int((dates < "1998-03-01").sum()))
    assert tags["refit.data.train.last_day"] == "1998-02-28"  # nothing from the cutoff on

    model = mlflow.pyfunc.load_model(f"runs:/{world['runs']['sales']}/model")
    assert model.metadata.signature is not None
    assert model.metadata.saved_input_example_info is not None
    example = model.input_example
    predictions = np.asarray(model.predict(example))
    assert predictions.shape == (len(example),) and np.isfinite(predictions).all()


def test_churn_logs_classification_metrics_and_a_probability_model(world: dict[str, Any]) -> None:
    run = _data(world, "churn")
    metrics = run.data.metrics
    assert metrics["roc_auc"] > 0.8  # logistic regression on this data: about 0.85
    assert 0 < metrics["log_loss"] < 0.6 and 0 < metrics["f1"] < 1
    assert run.data.tags["refit.task"] == "classification"
    assert run.data.params["validation"] == "stratified split"

    model = mlflow.pyfunc.load_model(f"runs:/{world['runs']['churn']}/model")
    rows = pd.read_csv(TELCO).drop(columns=["churn"]).head(20)
    proba = np.asarray(model.predict(rows))
    assert proba.shape == (20, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_evaluate_logs_candidate_and_champion_metrics(world: dict[str, Any]) -> None:
    run = _data(world, "churn")
    metrics, tags, params = run.data.metrics, run.data.tags, run.data.params
    for name in ("roc_auc", "log_loss", "f1"):
        assert f"candidate_{name}" in metrics and f"champion_{name}" in metrics
    assert tags["refit.champion_version"] == world["champion_version"]
    assert params["refit.champion_version"] == world["champion_version"]
    assert tags["refit.champion_run_id"] == world["runs"]["custom"]
    # Same validation rows as training (same seeded split): the candidate scores what it
    # scored when trained.
    assert metrics["candidate_roc_auc"] == pytest.approx(metrics["roc_auc"], rel=1e-9)
    # The champion is the 2-feature example model; the full pipeline beats it.
    assert metrics["candidate_roc_auc"] > metrics["champion_roc_auc"] > 0.6
    assert run.info.status == "FINISHED"


def test_evaluate_without_a_champion_logs_candidate_metrics_only(world: dict[str, Any]) -> None:
    run = _data(world, "sales")
    metrics = run.data.metrics
    assert {"candidate_rmse", "candidate_mae", "candidate_mape"} <= set(metrics)
    assert not [k for k in metrics if k.startswith("champion_")]
    assert run.data.tags["refit.champion_version"] == "none"
    assert metrics["candidate_rmse"] == pytest.approx(metrics["rmse"], rel=1e-9)


def test_custom_trainer_example_follows_the_contract(world: dict[str, Any]) -> None:
    run = _data(world, "custom")
    assert run.info.status == "FINISHED"
    assert run.data.tags["refit.task"] == "classification"
    artifacts = {a.path for a in world["client"].list_artifacts(world["runs"]["custom"])}
    assert "model" in artifacts  # a plain run artifact, as a non-Python trainer would upload


def test_drift_job_logs_verdict_metrics_and_report(world: dict[str, Any], tmp_path: Path) -> None:
    run = _data(world, "drift")
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["refit.dataset_drift"] == "true"
    assert float(tags["refit.drift_share"]) >= 0.5
    assert metrics["drift.tenure.drifted"] == 1.0
    assert metrics["drift.tenure.threshold"] == 0.2  # the per-test override
    assert metrics["drift.female.drifted"] == 0.0
    path = mlflow.artifacts.download_artifacts(
        run_id=world["runs"]["drift"], artifact_path="drift/report.json", dst_path=str(tmp_path)
    )
    report = json.loads(Path(path).read_text())
    assert report["dataset"]["dataset_drift"] is True
    by_name = {f["feature"]: f for f in report["features"]}
    assert by_name["tenure"]["stattest"] == "wasserstein"
    assert by_name["contract"]["stattest"] == "jensenshannon"
    assert report["data"]["reference"]["rows"] == 3875


def test_bad_data_job_fails_with_code_reason_log_and_tag(world: dict[str, Any]) -> None:
    bad: Finished = world["bad"]
    assert bad.returncode == 3
    assert "not UTF-8" in bad.reason and "\n" not in bad.reason
    assert bad.termination_log == bad.reason + "\n"
    run = _data(world, "bad")
    assert run.data.tags["refit.failure_reason"] == bad.reason
    assert run.data.tags["refit.exit_code"] == "3"
    assert run.info.status == "FAILED"
