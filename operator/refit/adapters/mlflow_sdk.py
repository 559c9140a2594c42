"""The MLflow adapter over the mlflow package's client: for the local runner and demo, whose
tracking URIs are SQLite or file stores that the REST adapter (refit.adapters.mlflow) cannot
speak to. Same methods and semantics; the operator never imports this module."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException, RestException
from mlflow.tracking import MlflowClient

from refit.adapters.mlflow import Mlflow, MlflowUnavailable, RunRecord

log = logging.getLogger(__name__)


def _not_found(error: MlflowException) -> bool:
    return (
        error.error_code in {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}
        or "not found" in str(error).lower()
    )


class MlflowSdk(Mlflow):
    """One tracking store through MlflowClient. Every method is safe to call again after a
    crash."""

    def __init__(self, tracking_uri: str) -> None:
        super().__init__(tracking_uri)
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RestException:
            raise
        except MlflowException as error:
            if error.error_code in {
                "INTERNAL_ERROR",
                "TEMPORARILY_UNAVAILABLE",
            } or "Max retries" in str(error):
                raise MlflowUnavailable(
                    f"MLflow at {self.tracking_uri} unavailable during {what}"
                ) from error
            raise
        except OSError as error:
            raise MlflowUnavailable(
                f"MLflow at {self.tracking_uri} unreachable during {what}"
            ) from error

    def ping(self) -> None:
        """Cheap reachability check (raises MlflowUnavailable)."""
        self._call("ping", self.client.search_experiments, max_results=1)

    def experiment_id(self, name: str) -> str:
        experiment = self._call("get experiment", self.client.get_experiment_by_name, name)
        if experiment is not None:
            return str(experiment.experiment_id)
        try:
            return str(self._call("create experiment", self.client.create_experiment, name))
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        experiment = self._call("get experiment", self.client.get_experiment_by_name, name)
        return str(experiment.experiment_id)

    def find_run(self, experiment_id: str, tag: str, value: str) -> RunRecord | None:
        runs = self._call(
            "search runs",
            self.client.search_runs,
            [experiment_id],
            filter_string=f"tags.`{tag}` = '{value}'",
            run_view_type=ViewType.ALL,
            max_results=2,
            order_by=["attributes.start_time ASC"],
        )
        if not runs:
            return None
        run = runs[0]
        return RunRecord(
            run.info.run_id,
            run.info.experiment_id,
            run.info.status,
            dict(run.data.metrics),
            dict(run.data.tags),
        )

    def ensure_run(
        self, experiment: str, tag: str, uid: str, run_name: str, tags: dict[str, str]
    ) -> RunRecord:
        """The run tagged `tag=uid`, created only when none exists (idempotency key)."""
        experiment_id = self.experiment_id(experiment)
        found = self.find_run(experiment_id, tag, uid)
        if found is not None:
            return found
        run = self._call(
            "create run",
            self.client.create_run,
            experiment_id,
            run_name=run_name,
            tags={**tags, tag: uid},
        )
        return RunRecord(run.info.run_id, experiment_id, run.info.status, {}, dict(run.data.tags))

    def read_run(self, run_id: str) -> RunRecord:
        run = self._call("get run", self.client.get_run, run_id)
        return RunRecord(
            run.info.run_id,
            run.info.experiment_id,
            run.info.status,
            dict(run.data.metrics),
            dict(run.data.tags),
        )

    def set_run_tags(self, run_id: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._call("set tag", self.client.set_tag, run_id, key, value)

    def finish_run(self, run_id: str, status: str) -> None:
        """Mark the run FINISHED/FAILED unless it already is terminal."""
        run = self.read_run(run_id)
        if run.status in {"FINISHED", "FAILED", "KILLED"}:
            return
        self._call("terminate run", self.client.set_terminated, run_id, status=status)

    def download_artifact(self, run_id: str, path: str, dst_dir: str | Path) -> Path:
        return Path(self.client.download_artifacts(run_id, path, dst_path=str(dst_dir)))

    # -- registry ---------------------------------------------------------------------------

    def version_for_run(self, model: str, run_id: str) -> str | None:
        try:
            versions = self._call(
                "search versions",
                self.client.search_model_versions,
                f"name = '{model}' and run_id = '{run_id}'",
            )
        except MlflowException as error:
            if _not_found(error):
                return None
            raise
        if not versions:
            return None
        return str(min(int(v.version) for v in versions))

    def ensure_version(self, model: str, run_id: str, tags: dict[str, str]) -> str:
        """The registered version of the run's `model` artifact, registered only once."""
        existing = self.version_for_run(model, run_id)
        if existing is not None:
            return existing
        try:
            self._call("create registered model", self.client.create_registered_model, model)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        source, model_id = self._model_source(run_id)
        extra = {"model_id": model_id} if model_id else {}
        version = self._call(
            "create version",
            self.client.create_model_version,
            model,
            source,
            run_id=run_id,
            tags=tags,
            **extra,
        )
        return str(version.version)

    def _model_source(self, run_id: str) -> tuple[str, str | None]:
        """Where the run's `model` lives: a logged model (MLflow 3, with its id) or the run's
        artifact path (MLflow 2)."""
        search = getattr(self.client, "search_logged_models", None)
        if search is not None:
            run = self.read_run(run_id)
            try:
                models = search(
                    experiment_ids=[run.experiment_id],
                    filter_string=f"source_run_id = '{run_id}' AND name = 'model'",
                )
            except MlflowException:
                models = []
            if models:
                return f"models:/{models[0].model_id}", str(models[0].model_id)
        return f"runs:/{run_id}/model", None

    def alias_version(self, model: str, alias: str) -> str | None:
        try:
            version = self._call("get alias", self.client.get_model_version_by_alias, model, alias)
        except MlflowException as error:
            if _not_found(error) or error.error_code == "INVALID_PARAMETER_VALUE":
                return None
            raise
        return str(version.version)

    def set_alias(self, model: str, alias: str, version: str) -> None:
        self._call("set alias", self.client.set_registered_model_alias, model, alias, version)

    def set_version_tags(self, model: str, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._call(
                "set version tag", self.client.set_model_version_tag, model, version, key, value
            )

    def version_run_id(self, model: str, version: str) -> str | None:
        mv = self._call("get version", self.client.get_model_version, model, version)
        return str(mv.run_id) if mv.run_id else None
