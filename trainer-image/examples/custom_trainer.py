"""A minimal custom trainer that follows Refit's Job contract (see ../CONTRACT.md).

Any language works the same way: read the env, write to the MLflow run the operator made,
upload an MLflow model directory as the run's artifact `model`, exit 0; on failure write
one line to the termination log, tag the run, and exit with the contract's code.

This one predicts churn from two numeric columns of the telco data with a logistic
regression. It deliberately uses the plain MLflow client and a model directory uploaded
as run artifacts (what a Go or R trainer would do through the REST API), not Refit code.

    MLFLOW_TRACKING_URI=... MLFLOW_RUN_ID=... REFIT_TRAIN_DATA=telco.csv.gz \
        python custom_trainer.py
"""

from __future__ import annotations

import os
import sys
import tempfile

EXIT_BAD_DATA, EXIT_MLFLOW, EXIT_USAGE = 3, 4, 2
FEATURES = ["tenure", "monthly_charges"]
TARGET = "churn"


def fail(code: int, reason: str, client: object = None, run_id: str | None = None) -> int:
    reason = " ".join(reason.split())[:1000]
    print(f"custom-trainer: {reason}", file=sys.stderr)
    path = os.environ.get("REFIT_TERMINATION_LOG") or "/dev/termination-log"
    if os.environ.get("REFIT_TERMINATION_LOG") or os.path.exists(path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(reason + "\n")
    if client is not None and run_id:
        try:
            client.set_tag(run_id, "refit.failure_reason", reason)  # type: ignore[attr-defined]
            client.set_terminated(run_id, "FAILED")  # type: ignore[attr-defined]
        except Exception:  # already reported on stderr and in the log
            pass
    return code


def main() -> int:
    import mlflow
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    uri, run_id = os.environ.get("MLFLOW_TRACKING_URI"), os.environ.get("MLFLOW_RUN_ID")
    data_uri = os.environ.get("REFIT_TRAIN_DATA")
    if not uri or not run_id or not data_uri:
        return fail(
            EXIT_USAGE, "MLFLOW_TRACKING_URI, MLFLOW_RUN_ID and REFIT_TRAIN_DATA are required"
        )
    client = mlflow.MlflowClient(tracking_uri=uri)
    try:
        client.get_run(run_id)
    except Exception as exc:
        return fail(EXIT_MLFLOW, f"MLflow unreachable or run missing: {exc}")

    try:
        frame = pd.read_csv(data_uri)
        # Keep the columns' own dtypes: the logged signature must match the data that
        # evaluation passes in (MLflow refuses to convert int64 to float64 silently).
        X = frame[FEATURES]
        y = (frame[TARGET].astype(str).str.lower() == "yes").astype(int)
    except (OSError, KeyError, ValueError, UnicodeDecodeError) as exc:
        return fail(EXIT_BAD_DATA, f"cannot use {data_uri}: {exc}", client, run_id)
    if X.isna().any().any():
        return fail(EXIT_BAD_DATA, f"{data_uri}: missing values in {FEATURES}", client, run_id)
    if y.nunique() < 2:
        return fail(EXIT_BAD_DATA, f"{data_uri}: a single class", client, run_id)

    model = LogisticRegression(max_iter=500).fit(X, y)
    # Tags that tell `refit-trainer evaluate` how to score this model.
    client.set_tag(run_id, "refit.task", "classification")
    client.set_tag(run_id, "refit.target", TARGET)
    client.log_param(run_id, "features", ",".join(FEATURES))
    client.log_metric(run_id, "roc_auc", float(roc_auc_score(y, model.predict_proba(X)[:, 1])))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model")
        # A pyfunc model whose predict returns P(churn): the classification contract.
        mlflow.sklearn.save_model(
            model,
            path,
            pyfunc_predict_fn="predict_proba",
            input_example=X.head(3),
            serialization_format="skops",
            skops_trusted_types=["numpy.dtype"],
        )
        client.log_artifacts(run_id, path, artifact_path="model")
    client.set_terminated(run_id, "FINISHED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
