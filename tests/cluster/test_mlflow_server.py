"""The real MLflow tracking server: runs, metrics, a model uploaded over HTTP, the registry
and aliases, all read back through the REST API."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mlflow import MlflowClient


@pytest.fixture
def tracking(mlflow_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlflowClient]:
    """Point the fluent API at the server for this test only."""
    import mlflow  # imported here: mlflow and sklearn take seconds to import

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    mlflow.set_tracking_uri(mlflow_server)
    try:
        yield mlflow.MlflowClient(tracking_uri=mlflow_server)
    finally:
        mlflow.set_tracking_uri(None)  # type: ignore[arg-type]


def test_run_metrics_model_and_alias_round_trip(tracking: MlflowClient) -> None:
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    suffix = secrets.token_hex(3)
    experiment, model_name = f"harness-{suffix}", f"harness-model-{suffix}"
    x = np.array([[0.0, 0.1], [0.2, 0.0], [0.9, 1.0], [1.0, 0.8], [0.1, 0.3], [0.8, 0.9]])
    y = np.array([0, 0, 1, 1, 0, 1])
    model = LogisticRegression().fit(x, y)

    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_param("C", model.C)
        for step, loss in enumerate([0.9, 0.5, 0.2]):
            mlflow.log_metric("loss", loss, step=step)
        mlflow.log_metric("accuracy", float(model.score(x, y)))
        mlflow.set_tag("refit.run-uid", suffix)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            registered_model_name=model_name,
            pip_requirements=["scikit-learn"],  # skip requirement inference: faster
        )
    run_id = run.info.run_id

    # Artifacts went to the server, not to a local path: the run's root is the proxy.
    got = tracking.get_run(run_id)
    assert got.info.artifact_uri.startswith("mlflow-artifacts:")
    assert got.info.status == "FINISHED"
    assert got.data.params == {"C": "1.0"}
    assert got.data.metrics == {"loss": 0.2, "accuracy": 1.0}
    assert got.data.tags["refit.run-uid"] == suffix
    history = tracking.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5), (2, 0.2)]
    found = tracking.search_runs(
        [got.info.experiment_id], filter_string=f"tags.`refit.run-uid` = '{suffix}'"
    )
    assert [r.info.run_id for r in found] == [run_id]

    [version] = tracking.search_model_versions(f"name = '{model_name}'")
    assert version.run_id == run_id
    tracking.set_registered_model_alias(model_name, "champion", version.version)
    champion = tracking.get_model_version_by_alias(model_name, "champion")
    assert (champion.version, champion.run_id) == (version.version, run_id)
    assert tracking.get_registered_model(model_name).aliases == {"champion": version.version}

    # Download the model over HTTP by alias and score with it.
    loaded = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    assert list(loaded.predict(x)) == list(model.predict(x))
    assert info.model_uri  # the logged model's own URI resolves as well
    assert list(mlflow.pyfunc.load_model(info.model_uri).predict(x)) == list(y)
