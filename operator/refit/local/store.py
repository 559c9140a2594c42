"""Where local runs keep their MLflow data: `.refit/` in the working directory, by default.

The tracking URI is SQLite (`.refit/mlflow.db`) with artifacts in `.refit/artifacts`, so
`mlflow ui --backend-store-uri sqlite:///.refit/mlflow.db` opens everything a local run did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from refit.api.run import TrainingRun

DEFAULT_ROOT = Path(".refit")
MLFLOW_UI = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class LocalStore:
    """The `.refit/` folder: MLflow store, job logs and the status of finished local runs."""

    root: Path = DEFAULT_ROOT

    @property
    def database(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def tracking_uri(self) -> str:
        # Absolute: the trainer processes may run with another working directory.
        return f"sqlite:///{self.database.resolve()}"

    @property
    def artifact_root(self) -> str:
        return (self.root / "artifacts").resolve().as_uri()

    def artifact_location(self, experiment: str) -> str:
        """A folder per experiment under the artifact root, named after it."""
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", experiment).strip("-") or "experiment"
        return f"{self.artifact_root}/{slug}"

    @property
    def ui_command(self) -> str:
        return f"mlflow ui --backend-store-uri sqlite:///{self.database}"

    def logs(self, namespace: str, owner: str) -> Path:
        path = self.root / "logs" / namespace / owner
        path.mkdir(parents=True, exist_ok=True)
        return path

    def runs(self, namespace: str) -> Path:
        path = self.root / "runs" / namespace
        path.mkdir(parents=True, exist_ok=True)
        return path

    def holds(self, run: TrainingRun) -> bool:
        """Whether the run recorded into this store (not a --tracking-uri elsewhere)."""
        return run.spec.mlflow is not None and run.spec.mlflow.tracking_uri == self.tracking_uri

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


def ensure_experiment(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    """The experiment's id; created with `artifact_location` so artifacts land in the store's
    folder rather than in `./mlruns` of whatever directory a trainer runs in."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name, artifact_location=artifact_location))
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    found = client.get_experiment_by_name(name)
    assert found is not None
    return str(found.experiment_id)
