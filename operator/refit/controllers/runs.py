"""TrainingRun reconcile: read → core decides (run_state) → adapters act → one status patch."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

from pydantic import ValidationError

from refit.adapters import metrics
from refit.adapters.kube import PIPELINES, RUNS, status_patch
from refit.adapters.kube_jobs import KubeJobBackend
from refit.adapters.mlflow import MlflowUnavailable
from refit.adapters.run_driver import RunDriver
from refit.api.base import API_VERSION
from refit.api.conditions import EVALUATED, PROMOTED, TRAINED, Reason
from refit.api.enums import RunPhase
from refit.api.manifests import problems_from_validation_error
from refit.api.pipeline import TrainingPipeline
from refit.api.run import TrainingRun, TrainingRunStatus
from refit.controllers.context import Context
from refit.core.conditions import get_condition, is_true, set_condition
from refit.core.job_spec import JobRequest, Step, run_job_request
from refit.core.run_snapshot import SNAPSHOT_FIELDS
from refit.core.run_state import RunIdentity

log = logging.getLogger(__name__)

APPROVAL_ANNOTATION = "refit.dev/approved"


def snapshot_patch(pipeline: TrainingPipeline, run_body: dict[str, Any]) -> dict[str, Any]:
    """Fill a hand-made run's spec from its pipeline and make the pipeline its owner (for GC)."""
    pipeline_spec = pipeline.spec.wire()
    patch: dict[str, Any] = {
        "spec": {k: pipeline_spec[k] for k in SNAPSHOT_FIELDS if k in pipeline_spec}
    }
    owners = run_body["metadata"].get("ownerReferences") or []
    if not any(o.get("uid") == pipeline.metadata.uid for o in owners):
        patch["metadata"] = {
            "ownerReferences": [
                *owners,
                {
                    "apiVersion": API_VERSION,
                    "kind": "TrainingPipeline",
                    "name": pipeline.metadata.name,
                    "uid": pipeline.metadata.uid,
                    "blockOwnerDeletion": True,
                },
            ]
        }
    return patch


def _job_request_factory(run: TrainingRun, tracking_uri: str) -> Any:
    def request(job_name: str, step: Step, mlflow_run_id: str) -> JobRequest:
        return run_job_request(run, job_name, step, mlflow_run_id, tracking_uri)

    return request


def _fail_invalid(ctx: Context, body: dict[str, Any], message: str) -> None:
    now = ctx.clock()
    status = {
        "phase": RunPhase.FAILED.value,
        "failureReason": message[:4096],
        "completionTime": now.isoformat(),
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "InvalidSpec",
                "message": message[:32768],
                "lastTransitionTime": now.isoformat(),
            }
        ],
    }
    meta = body["metadata"]
    ctx.kube.patch_status(
        RUNS, meta["namespace"], meta["name"], status, meta.get("resourceVersion")
    )
    ctx.kube.event(body, "Warning", "InvalidSpec", message)


def reconcile_run(
    ctx: Context, body: dict[str, Any], jobs: Sequence[dict[str, Any]] | None = None
) -> float | None:
    """One pass over a TrainingRun. Returns seconds until the next pass, None once terminal.

    `jobs`: the run's Jobs from the operator's watch (kube_jobs.job_summary); None lists them."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    try:
        run = TrainingRun.model_validate(body)
    except ValidationError as error:
        _fail_invalid(ctx, body, "; ".join(str(p) for p in problems_from_validation_error(error)))
        return None
    if run.status is not None and run.status.phase.terminal:
        return None

    if run.spec.trainer is None:
        pipeline_body = ctx.kube.get(PIPELINES, namespace, run.spec.pipeline_ref.name)
        if pipeline_body is None:
            _fail_invalid(
                ctx, body, f"pipeline {run.spec.pipeline_ref.name} not found in {namespace}"
            )
            return None
        pipeline = TrainingPipeline.model_validate(pipeline_body)
        # The patch answers with the completed run: go on with it in this pass rather than
        # waiting for its update event (one watch round trip less before the training Job).
        body = cast(
            dict[str, Any],
            ctx.kube.custom.patch_namespaced_custom_object(
                "refit.dev", "v1alpha1", namespace, RUNS, name, snapshot_patch(pipeline, body)
            ),
        )
        meta = body["metadata"]
        try:
            run = TrainingRun.model_validate(body)
        except ValidationError as error:
            problems = problems_from_validation_error(error)
            _fail_invalid(ctx, body, "; ".join(str(p) for p in problems))
            return None
        if run.spec.trainer is None:
            return 0.0  # the update event brings the completed spec

    spec = run.spec
    tracking_uri = (
        spec.mlflow.tracking_uri if spec.mlflow else None
    ) or ctx.config.mlflow_tracking_uri
    if not tracking_uri:
        _fail_invalid(
            ctx, body, "no MLflow tracking URI: set spec.mlflow.trackingUri or the operator default"
        )
        return None
    before = run.status or TrainingRunStatus()
    driver = RunDriver(
        spec=spec,
        identity=RunIdentity(
            name=name,
            namespace=namespace,
            uid=meta.get("uid", ""),
            generation=meta.get("generation"),
        ),
        mlflow=ctx.mlflow(tracking_uri),
        jobs=KubeJobBackend(
            ctx.kube, namespace, name, _job_request_factory(run, tracking_uri), indexed=jobs
        ),
        clock=ctx.clock,
    )
    run_key, pipeline_key = f"{namespace}/{name}", f"{namespace}/{spec.pipeline_ref.name}"
    trained = is_true(before.conditions, TRAINED)
    if before.training_job is None and not trained:
        since = run.metadata.creation_timestamp or ctx.clock()
        if not ctx.admit_training(run_key, pipeline_key, since):
            _wait_for_slot(ctx, body, before)
            return ctx.config.requeue_seconds
    elif not trained:
        ctx.training_started(run_key, pipeline_key)
    approved = (meta.get("annotations") or {}).get(APPROVAL_ANNOTATION, "").lower() == "true"
    try:
        # A pass whose Jobs are running needs no MLflow call, so an outage would stay invisible
        # until a step needs the server: ping it (at most every 30 s per server) to say so now.
        ctx.mlflow_reachable(tracking_uri)
        result = driver.drive(
            before, approved=approved, deleting=bool(meta.get("deletionTimestamp"))
        )
    except MlflowUnavailable as error:
        log.warning("run %s/%s: %s; retrying", namespace, name, error)
        _mlflow_unreachable(ctx, body, before, str(error))
        return ctx.config.requeue_seconds

    new_status = result.status.wire()
    old_status = body.get("status") or {}
    if new_status != old_status:
        # Conditional on the version this pass decided from (see Kube.patch_status): on Conflict
        # the daemon re-reads the run and drives it again; every action above is idempotent.
        ctx.kube.patch_status(
            RUNS, namespace, name, status_patch(old_status, new_status), meta.get("resourceVersion")
        )
    # After the status write: a pass retried after a Conflict does not repeat its events.
    for event in result.events:
        ctx.kube.event(body, event.type, event.reason, event.message)
    if is_true(result.status.conditions, TRAINED) or result.status.phase.terminal:
        ctx.training_done(run_key)
    metrics.ACTIVE_JOBS.set(ctx.training_slots()[0])
    _record_metrics(namespace, run, before, result.status)
    return None if result.status.phase.terminal else ctx.config.requeue_seconds


def _mlflow_unreachable(
    ctx: Context, body: dict[str, Any], before: TrainingRunStatus, message: str
) -> None:
    """The milestone the run waits for (Trained, else Evaluated, else Promoted) says, Unknown
    with reason MLflowUnreachable, why it does not progress; the next pass that reaches MLflow
    overwrites it with the step's own reason. Nothing else changes: Jobs keep running, and
    nothing is retried blindly. One event per outage, not one per pass."""
    conditions = before.conditions
    waiting_for = next((c for c in (TRAINED, EVALUATED) if not is_true(conditions, c)), PROMOTED)
    already = get_condition(conditions, waiting_for)
    if already is not None and already.reason == Reason.MLFLOW_UNREACHABLE:
        return
    message = f"{message}; the run waits for it (its Jobs keep running) and retries"
    updated = set_condition(
        conditions, waiting_for, None, Reason.MLFLOW_UNREACHABLE, message, now=ctx.clock()
    )
    meta = body["metadata"]
    ctx.kube.patch_status(
        RUNS,
        meta["namespace"],
        meta["name"],
        before.model_copy(update={"conditions": updated}).wire(),
        meta.get("resourceVersion"),
    )
    ctx.kube.event(body, "Warning", Reason.MLFLOW_UNREACHABLE, message)


def _wait_for_slot(ctx: Context, body: dict[str, Any], before: TrainingRunStatus) -> None:
    """Pending, with the reason in the Trained condition: the global cap is reached."""
    running, waiting = ctx.training_slots()
    message = (
        f"waiting for a training slot: {running} of {ctx.config.max_concurrent_jobs} "
        f"(REFIT_MAX_CONCURRENT_JOBS) in use, {waiting} run(s) waiting"
    )
    conditions = set_condition(
        before.conditions, TRAINED, None, Reason.QUEUED, message, now=ctx.clock()
    )
    if conditions != before.conditions:
        status = before.model_copy(update={"conditions": conditions})
        meta = body["metadata"]
        ctx.kube.patch_status(
            RUNS, meta["namespace"], meta["name"], status.wire(), meta.get("resourceVersion")
        )


def _record_metrics(
    namespace: str, run: TrainingRun, before: TrainingRunStatus, after: TrainingRunStatus
) -> None:
    if before.phase.terminal or not after.phase.terminal:
        return
    pipeline = run.spec.pipeline_ref.name
    labels = (namespace, pipeline)
    metrics.RUNS.labels(*labels, run.spec.trigger.type.value, after.phase.value).inc()
    if after.start_time and after.completion_time:
        metrics.RUN_DURATION.labels(*labels, after.phase.value).observe(
            (after.completion_time - after.start_time).total_seconds()
        )
    metric = run.spec.evaluation.metric if run.spec.evaluation else None
    if metric and after.candidate and metric in after.candidate.metrics:
        metrics.CANDIDATE_METRIC.labels(*labels, metric).set(after.candidate.metrics[metric])
    if after.phase in (RunPhase.PROMOTED, RunPhase.REJECTED) and after.completion_time:
        metrics.LAST_SUCCESS.labels(*labels).set(after.completion_time.timestamp())
    if after.phase is RunPhase.PROMOTED:
        metrics.PROMOTIONS.labels(*labels).inc()
        if after.completion_time:
            metrics.LAST_PROMOTION.labels(*labels).set(after.completion_time.timestamp())
        if metric and after.candidate and metric in after.candidate.metrics:
            metrics.CHAMPION_METRIC.labels(*labels, metric).set(after.candidate.metrics[metric])
