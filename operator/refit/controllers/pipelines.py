"""TrainingPipeline reconcile: read → core decides (plan_pipeline) → adapters act → one status patch."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from refit.adapters import metrics
from refit.adapters.kube import PIPELINES, RUNS, status_patch
from refit.adapters.kube_jobs import observe_job, termination_message
from refit.adapters.mlflow import DRIFT_CHECK_UID_TAG, MlflowUnavailable
from refit.api.base import API_VERSION
from refit.api.conditions import READY, Reason
from refit.api.enums import ConditionStatus
from refit.api.manifests import problems_from_validation_error
from refit.api.pipeline import TrainingPipeline, TrainingPipelineStatus
from refit.controllers.context import Context
from refit.core.conditions import get_condition, set_condition
from refit.core.job_spec import (
    JobRequest,
    Owner,
    Step,
    build_job,
    drift_check_data,
    drift_config,
    experiment_name,
)
from refit.core.pipeline_plan import (
    DriftObservation,
    PipelinePlan,
    RunSummary,
    plan_pipeline,
)
from refit.core.run_snapshot import run_manifest
from refit.core.run_state import JobState
from refit.core.validation import errors, ready_reason, validate_pipeline_spec

log = logging.getLogger(__name__)

DRIFT_REPORT_ARTIFACT = "drift/report.json"


def _invalid(ctx: Context, body: dict[str, Any], reason: str, message: str) -> None:
    """Ready=False with the reason, one event per new reason; nothing else is touched."""
    status = (
        TrainingPipelineStatus.model_validate(body.get("status") or {})
        if body.get("status")
        else None
    )
    conditions = status.conditions if status else []
    existing = get_condition(conditions, READY)
    conditions = set_condition(
        conditions,
        READY,
        False,
        reason,
        message,
        now=ctx.clock(),
        observed_generation=body["metadata"].get("generation"),
    )
    patch = {
        "conditions": [c.wire() for c in conditions],
        "observedGeneration": body["metadata"].get("generation"),
    }
    meta = body["metadata"]
    ctx.kube.patch_status(
        PIPELINES, meta["namespace"], meta["name"], patch, meta.get("resourceVersion")
    )
    if existing is None or existing.reason != reason or existing.status != ConditionStatus.FALSE:
        ctx.kube.event(body, "Warning", reason, message)
    metrics.READY.labels(body["metadata"]["namespace"], body["metadata"]["name"]).set(0)


def parse_pipeline(ctx: Context, body: dict[str, Any]) -> TrainingPipeline | None:
    try:
        tp = TrainingPipeline.model_validate(body)
    except ValidationError as error:
        problems = problems_from_validation_error(error)
        _invalid(ctx, body, Reason.INVALID_SPEC, "; ".join(str(p) for p in problems))
        return None
    semantic = errors(
        validate_pipeline_spec(tp.spec, tp.metadata.namespace or "default", tp.metadata.name or "")
    )
    if semantic:
        message = "; ".join(str(p) for p in semantic)
        _invalid(ctx, body, ready_reason(semantic) or Reason.INVALID_SPEC, message)
        return None
    return tp


def blockers(ctx: Context, tp: TrainingPipeline) -> list[tuple[str, str]]:
    """What keeps the pipeline from starting anything: missing Secrets, MLflow unreachable."""
    namespace = tp.metadata.namespace or "default"
    found: list[tuple[str, str]] = []
    secrets = {
        ref.name
        for ref in (tp.spec.data.credentials_secret_ref, tp.spec.mlflow.credentials_secret_ref)
        if ref is not None
    }
    secrets |= {
        e.value_from.secret_key_ref.name
        for e in tp.spec.trainer.env
        if e.value_from and e.value_from.secret_key_ref
    }
    for name in sorted(secrets):
        if not ctx.kube.secret_exists(namespace, name):
            found.append(
                (
                    Reason.SECRET_NOT_FOUND,
                    f"Secret {name} referenced by the pipeline does not exist",
                )
            )
    try:
        ctx.mlflow_reachable(tp.spec.mlflow.tracking_uri)
    except (MlflowUnavailable, LookupError) as error:
        found.append((Reason.MLFLOW_UNREACHABLE, str(error)))
    return found


def _drift_observation(ctx: Context, tp: TrainingPipeline) -> DriftObservation | None:
    last = tp.status.last_drift_check if tp.status else None
    if last is None or last.result != "Pending" or not last.job_name:
        return None
    namespace = tp.metadata.namespace or "default"
    job = observe_job(ctx.kube.get_job(namespace, last.job_name))
    if job.state is JobState.ABSENT:
        if last.mlflow_run_id is None:
            return None  # the Job is being created by this very pass (crash before it was)
        return DriftObservation(finished=True, error=f"drift-check Job {last.job_name} not found")
    if job.state is JobState.FAILED:
        reason = (
            termination_message(ctx.kube, namespace, last.job_name) or job.message or job.reason
        )
        return DriftObservation(finished=True, error=reason or "drift-check Job failed")
    if job.state is not JobState.SUCCEEDED:
        return DriftObservation(finished=False)
    if not last.mlflow_run_id:
        return DriftObservation(finished=True, error="drift check has no MLflow run")
    mlflow = ctx.mlflow(tp.spec.mlflow.tracking_uri)
    try:
        with tempfile.TemporaryDirectory(prefix="refit-drift-") as folder:
            path = mlflow.download_artifact(last.mlflow_run_id, DRIFT_REPORT_ARTIFACT, folder)
            report = json.loads(path.read_text(encoding="utf-8"))
    except Exception as error:
        return DriftObservation(finished=True, error=f"drift report unreadable: {error}")
    return DriftObservation(finished=True, report=report)


def _start_drift_check(ctx: Context, tp: TrainingPipeline, plan: PipelinePlan) -> None:
    start = plan.start_drift_check
    trigger = tp.spec.triggers.drift
    assert start is not None and trigger is not None
    namespace = tp.metadata.namespace or "default"
    name = tp.metadata.name or ""
    tracking_uri = tp.spec.mlflow.tracking_uri or ctx.config.mlflow_tracking_uri or ""
    experiment = experiment_name(tp.spec.mlflow, namespace, name)
    mlflow = ctx.mlflow(tracking_uri)
    record = mlflow.ensure_run(
        experiment,
        DRIFT_CHECK_UID_TAG,
        f"{tp.metadata.uid}-{int(start.scheduled_time.timestamp())}",
        start.job_name,
        {"refit.pipeline": name, "refit.namespace": namespace, "refit.step": "drift"},
    )
    manifest = build_job(
        JobRequest(
            name=start.job_name,
            namespace=namespace,
            step=Step.DRIFT,
            pipeline=name,
            run=start.job_name,
            owner=Owner(API_VERSION, "TrainingPipeline", name, tp.metadata.uid or ""),
            trainer=tp.spec.trainer,
            data=drift_check_data(tp.spec),
            model=tp.spec.model,
            mlflow=tp.spec.mlflow,
            tracking_uri=tracking_uri,
            experiment=experiment,
            mlflow_run_id=record.run_id,
            trigger="DriftCheck",
            scheduled_time=start.scheduled_time,
            extra_env={"REFIT_DRIFT_CONFIG": drift_config(trigger)},
            labels=tp.metadata.labels,
        )
    )
    ctx.kube.create_job(manifest)
    if plan.status.last_drift_check is not None:
        plan.status.last_drift_check.mlflow_run_id = record.run_id


def reconcile_pipeline(
    ctx: Context, body: dict[str, Any], runs: Sequence[RunSummary]
) -> datetime | None:
    """One pass over a pipeline. Returns when to look again (besides watch events)."""
    tp = parse_pipeline(ctx, body)
    if tp is None:
        return None
    namespace, name = tp.metadata.namespace or "default", tp.metadata.name or ""
    now = ctx.clock()
    drift = _drift_observation(ctx, tp)
    plan = plan_pipeline(tp, runs, now=now, drift=drift)
    old_status = body.get("status") or {}
    ready_before = get_condition(tp.status.conditions if tp.status else [], READY)
    needs_check = (
        plan.create_runs
        or plan.start_drift_check
        or ready_before is None
        or ready_before.status != ConditionStatus.TRUE
        or old_status.get("observedGeneration") != tp.metadata.generation
    )
    if needs_check:
        found = blockers(ctx, tp)
        if found:
            plan = plan_pipeline(tp, runs, now=now, drift=drift, blockers=found)

    for run_name in plan.delete_runs:
        ctx.kube.delete(RUNS, namespace, run_name)
    for new in plan.create_runs:
        _, created = ctx.kube.create(
            RUNS,
            namespace,
            run_manifest(tp, new.name, new.trigger, new.scheduled_time, new.reason),
        )
        if created:
            metrics.RUNS_CREATED.labels(namespace, name, new.trigger.value).inc()
            ctx.kube.event(
                body,
                "Normal",
                "RunCreated",
                f"created {new.name} ({new.trigger.value}): {new.reason}",
            )
    if plan.start_drift_check is not None:
        _start_drift_check(ctx, tp, plan)
    new_status = plan.status.wire()
    if new_status != old_status:
        # Conditional on the version this pass decided from: a stale pass must not overwrite a
        # newer write (`refit promote`, `refit rollback`); Conflict makes the daemon re-read.
        ctx.kube.patch_status(
            PIPELINES,
            namespace,
            name,
            status_patch(old_status, new_status),
            body["metadata"].get("resourceVersion"),
        )
    # After the status write: a pass retried after a Conflict does not repeat its events.
    for event in plan.events:
        ctx.kube.event(body, event.type, event.reason, event.message)
    _record_metrics(namespace, name, plan, (old_status.get("lastDriftCheck") or {}).get("result"))
    return plan.wake_at


def _record_metrics(
    namespace: str, name: str, plan: PipelinePlan, previous_drift_result: str | None
) -> None:
    metrics.declare_pipeline(namespace, name)
    status = plan.status
    ready = get_condition(status.conditions, READY)
    metrics.READY.labels(namespace, name).set(
        1 if ready and ready.status == ConditionStatus.TRUE else 0
    )
    if status.next_schedule_time:
        metrics.NEXT_SCHEDULE.labels(namespace, name).set(status.next_schedule_time.timestamp())
    else:  # suspended or unscheduled: no "next tick" for RefitScheduleMissed to wait for
        metrics.NEXT_SCHEDULE.remove(namespace, name)
    if plan.missed:
        metrics.MISSED_SCHEDULES.labels(namespace, name, "policy").inc(plan.missed)
    check = status.last_drift_check
    if check is not None and check.result not in (None, "Pending"):
        if previous_drift_result == "Pending":
            metrics.DRIFT_CHECKS.labels(namespace, name, check.result).inc()
        metrics.DRIFT_SHARE.labels(namespace, name).set(check.drift_share or 0.0)
        metrics.DRIFT_DETECTED.labels(namespace, name).set(1 if check.dataset_drift else 0)
    if status.champion and status.champion.metric and status.champion.metric_value is not None:
        metrics.CHAMPION_METRIC.labels(namespace, name, status.champion.metric).set(
            status.champion.metric_value
        )
