"""Bad data reaches a real training Job: the run fails with the trainer's one-line reason in its
status, in its event and on its MLflow run, and nothing is promoted. Real operator process,
control plane and MLflow server; the trainer (`refit-trainer`) runs as the Job's process.

The trainer's own handling of each kind of bad data (empty, wrong columns, all-NaN, single
class, undecodable bytes, no validation rows) is tested in tests/trainer/test_bad_data.py; this
test proves the reason travels from the pod's termination message to every place a user looks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient
from operator_harness import DATA, OperatorProcess, Refit, pipeline_body, wait_for

from .fault_checks import versions_of


def _telco() -> pd.DataFrame:
    return pd.read_csv(DATA / "telco_churn.csv.gz")


def _single_class(path: Path) -> None:
    telco = _telco()
    telco[telco["churn"] == "No"].to_csv(path, index=False)


def _without_target(path: Path) -> None:
    _telco().drop(columns=["churn"]).to_csv(path, index=False)


def _header_only(path: Path) -> None:
    _telco().head(0).to_csv(path, index=False)


# case -> (writes the training file, a phrase the trainer's reason must contain)
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "single-class": (_single_class, "single class"),
    "no-target": (_without_target, "missing required column(s): churn"),
    "no-rows": (_header_only, "no rows"),
}


def test_bad_data_fails_the_run_with_the_trainers_reason_everywhere(
    refit: Refit, operator_process: OperatorProcess, mlflow_server: str, tmp_path: Path
) -> None:
    models: dict[str, str] = {}
    for case, (write, _) in CASES.items():
        data = tmp_path / f"{case}.csv"
        write(data)
        body = pipeline_body(
            case, recipe="churn", train=data, metric="roc_auc", direction="maximize"
        )
        models[case] = body["spec"]["model"]["name"]
        refit.apply_pipeline(body)
        refit.create_run(f"{case}-1", case)

    mlflow = MlflowClient(mlflow_server)
    for case, (_, phrase) in CASES.items():
        run = wait_for(f"{case} run to finish", lambda c=case: refit.terminal_run(f"{c}-1"), 300)
        status = run["status"]
        assert status["phase"] == "Failed", status
        reason = status["failureReason"]
        assert phrase in reason, reason
        assert "\n" not in reason
        succeeded = next(c for c in status["conditions"] if c["type"] == "Succeeded")
        assert succeeded["status"] == "False" and phrase in succeeded["message"], succeeded
        assert status.get("evaluationJob") is None  # stopped at training: nothing to evaluate

        tracked = mlflow.get_run(status["mlflowRunId"])
        assert tracked.info.status == "FAILED"
        assert phrase in tracked.data.tags["refit.failure_reason"]
        assert versions_of(mlflow_server, models[case]) == []  # nothing registered or promoted

        refit.await_events(
            f"RunFailed naming {phrase!r}",
            lambda e, p=phrase: e.reason == "RunFailed" and p in (e.message or ""),
        )
        pipeline = refit.pipeline(case)["status"]
        assert not pipeline.get("champion"), pipeline
