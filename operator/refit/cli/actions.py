"""What the CLI changes in a cluster: manual runs, approvals, champions, suspension.

Runs are built by `core.run_snapshot` (as the operator builds them); champion history follows
`core.champion` (as the operator keeps it). Status writes carry the object's resourceVersion, so
a concurrent write by the operator makes the API server refuse ours (409) instead of one of the
two silently losing; the CLI then re-reads and tries again.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from refit.adapters.mlflow import Mlflow, MlflowError, MlflowUnavailable, connect
from refit.api.enums import RunPhase, TriggerType
from refit.api.pipeline import ChampionStatus, TrainingPipeline
from refit.cli import connection
from refit.cli.connection import PIPELINES, RUNS, TIMEOUT, CliError, Cluster
from refit.cli.fleet import tracking_uri
from refit.controllers.runs import APPROVAL_ANNOTATION
from refit.core.champion import NoPreviousChampion, promote_champion, rollback_champion
from refit.core.names import run_name
from refit.core.run_snapshot import run_manifest

CONFLICT_RETRIES: Final = 5


def _pipeline(cluster: Cluster, name: str) -> TrainingPipeline:
    body = cluster.get(PIPELINES, name)
    try:
        return TrainingPipeline.model_validate(body)
    except ValidationError as error:
        raise CliError(
            f'trainingpipeline "{name}" is not valid: {error.errors()[0]["msg"]}'
        ) from error


def trigger(cluster: Cluster, name: str, reason: str | None, now: datetime) -> dict[str, Any]:
    """Create a Manual TrainingRun of the pipeline: its snapshot, owned by the pipeline."""
    tp = _pipeline(cluster, name)
    why = reason or f"refit trigger by {_user()}"
    body = run_manifest(tp, run_name(name, now, TriggerType.MANUAL), TriggerType.MANUAL, now, why)
    return cluster.create(RUNS, body)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown user"


def approve(cluster: Cluster, run: str) -> tuple[dict[str, Any], str]:
    """Set the approval annotation; returns the run and a note on what happens next."""
    body = cluster.get(RUNS, run)
    status = body.get("status") or {}
    phase = status.get("phase") or RunPhase.PENDING.value
    if phase in (RunPhase.PROMOTED.value, RunPhase.REJECTED.value, RunPhase.FAILED.value):
        raise CliError(f'trainingrun "{run}" already finished ({phase}): nothing to approve')
    patched = cluster.patch(RUNS, run, {"metadata": {"annotations": {APPROVAL_ANNOTATION: "true"}}})
    if phase == RunPhase.AWAITING_APPROVAL.value:
        note = "the operator promotes it on its next pass"
    else:
        note = f"approved in advance: it is {phase}, and will be promoted if the gate lets it"
    return patched, note


def suspend(cluster: Cluster, name: str, value: bool) -> dict[str, Any]:
    cluster.get(PIPELINES, name)  # a clear "not found" before patching
    return cluster.patch(PIPELINES, name, {"spec": {"suspend": value}})


def _mlflow(body: dict[str, Any], override: str | None) -> Mlflow:
    uri = tracking_uri(body, override)
    if not uri:
        raise CliError(
            "no MLflow tracking URI: the pipeline has no spec.mlflow.trackingUri; "
            "pass --tracking-uri or set MLFLOW_TRACKING_URI"
        )
    import os

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    return connect(uri)


def _version_champion(
    mlflow: Mlflow, tp: TrainingPipeline, version: str, now: datetime
) -> ChampionStatus:
    """What status.champion says about `version`: its run and its primary metric."""
    model, metric = tp.spec.model.name, tp.spec.evaluation.metric
    try:
        version_run = mlflow.version_run_id(model, version)
    except MlflowError as error:
        raise CliError(
            f"model {model} has no version {version} in MLflow at {mlflow.tracking_uri}"
        ) from error
    except Exception as error:  # the mlflow client's MlflowException, for local stores
        if type(error).__name__ not in {"MlflowException", "RestException"}:
            raise
        raise CliError(
            f"model {model} has no version {version} in MLflow at {mlflow.tracking_uri}"
        ) from error
    value = training_run = None
    if version_run:
        run = mlflow.read_run(version_run)
        # The evaluation's score on validation data when there is one, else the training metric.
        value = run.metrics.get(f"candidate_{metric}", run.metrics.get(metric))
        training_run = run.tags.get("refit.run") or run.tags.get("refit.training-run")
    return ChampionStatus(
        version=version,
        metric=metric,
        metric_value=value,
        run_id=version_run,
        training_run=training_run,
        promoted_at=now,
    )


Change = Callable[[TrainingPipeline, Mlflow], tuple[ChampionStatus, list[ChampionStatus]]]


def _change_champion(
    cluster: Cluster, name: str, override_uri: str | None, change: Change, reason: str
) -> tuple[ChampionStatus, ChampionStatus | None]:
    """Move the alias and record the new champion; returns (new, previous)."""
    for _ in range(CONFLICT_RETRIES):
        body = cluster.get(PIPELINES, name)
        tp = _pipeline(cluster, name)
        mlflow = _mlflow(body, override_uri)
        previous = tp.status.champion if tp.status else None
        try:
            champion, history = change(tp, mlflow)
            assert champion.version is not None
            model, alias = tp.spec.model.name, tp.spec.model.champion_alias
            mlflow.set_alias(model, alias, champion.version)
            mlflow.set_version_tags(
                model, champion.version, {"refit.decision": "promoted", "refit.reason": reason}
            )
        except MlflowUnavailable as error:
            raise CliError(str(error)) from error
        patch = {
            "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
            "status": {
                "champion": champion.wire(),
                "championHistory": [c.wire() for c in history],
            },
        }
        try:
            cluster.custom.patch_namespaced_custom_object_status(
                connection.GROUP,
                connection.VERSION,
                cluster.namespace,
                PIPELINES,
                name,
                patch,
                _request_timeout=TIMEOUT,
            )
        except ApiException as error:
            if error.status == 409:
                continue  # the operator wrote the status meanwhile: re-read, decide again
            with cluster.calls(f'status of trainingpipeline "{name}"'):
                raise
        cluster.event(
            body,
            "Normal",
            reason,
            f"champion is now version {champion.version}"
            + (f" (was {previous.version})" if previous and previous.version else "")
            + f", by {_user()}",
        )
        return champion, previous
    raise CliError(f'trainingpipeline "{name}" kept changing; try again')


def promote_version(
    cluster: Cluster, name: str, version: str, override_uri: str | None, now: datetime
) -> tuple[ChampionStatus, ChampionStatus | None]:
    def change(tp: TrainingPipeline, mlflow: Mlflow) -> tuple[ChampionStatus, list[ChampionStatus]]:
        new = _version_champion(mlflow, tp, version, now)
        status = tp.status
        return promote_champion(
            status.champion if status else None, status.champion_history if status else [], new
        )

    return _change_champion(cluster, name, override_uri, change, "ManualPromotion")


def roll_back(
    cluster: Cluster, name: str, override_uri: str | None, now: datetime
) -> tuple[ChampionStatus, ChampionStatus | None]:
    def change(tp: TrainingPipeline, mlflow: Mlflow) -> tuple[ChampionStatus, list[ChampionStatus]]:
        status = tp.status
        try:
            champion, history = rollback_champion(
                status.champion if status else None, status.champion_history if status else [], now
            )
        except NoPreviousChampion as error:
            raise CliError(
                f'trainingpipeline "{name}": {error}, nothing to roll back to'
            ) from error
        assert champion.version is not None
        # The version must still exist: rolling back to a deleted model would break serving.
        _version_champion(mlflow, tp, champion.version, now)
        return champion, history

    return _change_champion(cluster, name, override_uri, change, "RolledBack")


def utc_now() -> datetime:
    return datetime.now(UTC)
