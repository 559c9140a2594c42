"""MLflow access for trainer Jobs: find (or create) the run, and translate MLflow failures
into the contract's exit codes.

Results travel through MLflow, so an MLflow failure is never swallowed: unreachable or
failing servers end the Job with exit 4 (retryable); a request MLflow refuses because of
the Job's configuration (no such run, no permission) ends it with exit 2.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from refit_trainer.contract import JobContext
from refit_trainer.errors import MlflowUnavailableError, UsageError, one_line

if TYPE_CHECKING:
    from mlflow import MlflowClient

# MLflow's own default retries a dead server for minutes; a Job should fail fast and let
# the Job's backoffLimit retry. Set only where the pod's env does not choose otherwise.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
_CONFIG_ERRORS = {
    "RESOURCE_DOES_NOT_EXIST",
    "INVALID_PARAMETER_VALUE",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "INVALID_STATE",
}


def apply_http_defaults() -> None:
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)


@contextlib.contextmanager
def mlflow_errors(action: str) -> Iterator[None]:
    """Turn exceptions from MLflow calls into contract errors with a one-line reason."""
    import requests
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        message = one_line(exc.message, 300)
        if exc.error_code in _CONFIG_ERRORS:
            raise UsageError(f"MLflow refused to {action}: {message}") from exc
        raise MlflowUnavailableError(f"MLflow failed to {action}: {message}") from exc
    except requests.exceptions.RequestException as exc:
        raise MlflowUnavailableError(
            f"MLflow unreachable while trying to {action}: {one_line(str(exc), 300)}"
        ) from exc


def client_for(ctx: JobContext) -> MlflowClient:
    if not ctx.tracking_uri:
        raise UsageError("MLFLOW_TRACKING_URI is not set")
    import mlflow

    mlflow.set_tracking_uri(ctx.tracking_uri)
    return mlflow.MlflowClient(tracking_uri=ctx.tracking_uri)


def open_run(client: MlflowClient, ctx: JobContext, kind: str) -> str:
    """The run named by MLFLOW_RUN_ID, or a new one in MLFLOW_EXPERIMENT_NAME.

    The operator always passes MLFLOW_RUN_ID; creating a run is for people running the
    image by hand. Either way the call doubles as the reachability check, before any
    expensive work starts.
    """
    if ctx.run_id:
        with mlflow_errors(f"find run {ctx.run_id}"):
            run = client.get_run(ctx.run_id)
        if run.info.lifecycle_stage == "deleted":
            raise UsageError(f"MLflow run {ctx.run_id} is deleted")
        return ctx.run_id
    name = ctx.experiment_name or "Default"
    with mlflow_errors(f"create a run in experiment {name!r}"):
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        tags = {**ctx.identity_tags(), "refit.kind": kind}
        return str(client.create_run(experiment_id, tags=tags).info.run_id)


def set_tags(client: MlflowClient, run_id: str, tags: dict[str, Any]) -> None:
    from mlflow.entities import RunTag

    with mlflow_errors("log tags"):
        client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


def log_metrics(client: MlflowClient, run_id: str, metrics: dict[str, float]) -> None:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    with mlflow_errors("log metrics"):
        client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()])


def log_params(client: MlflowClient, run_id: str, params: dict[str, Any]) -> None:
    """Log params, skipping those the run already has with the same value (Job retries)."""
    from mlflow.entities import Param

    with mlflow_errors("read run params"):
        existing = client.get_run(run_id).data.params
    fresh = {k: str(v) for k, v in params.items() if existing.get(k) != str(v)}
    clashes = {k: v for k, v in fresh.items() if k in existing}
    if clashes:
        # Params are immutable in MLflow: a retry that computed different values must say so.
        raise UsageError(f"run {run_id} already has different values for params {sorted(clashes)}")
    if fresh:
        with mlflow_errors("log params"):
            client.log_batch(run_id, params=[Param(k, v) for k, v in fresh.items()])


def finish_run(client: MlflowClient, run_id: str) -> None:
    with mlflow_errors("finish the run"):
        client.set_terminated(run_id, "FINISHED")


def record_failure(tracking_uri: str | None, run_id: str | None, reason: str, code: int) -> None:
    """Best effort: tag the run with the failure and mark it FAILED. Never raises."""
    if not tracking_uri or not run_id:
        return
    # The server may be the reason we are failing: try once, quickly.
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "5"
    try:
        import mlflow
        from mlflow.entities import RunTag

        client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        client.log_batch(
            run_id,
            tags=[RunTag("refit.failure_reason", reason), RunTag("refit.exit_code", str(code))],
        )
        client.set_terminated(run_id, "FAILED")
    except Exception:
        pass
