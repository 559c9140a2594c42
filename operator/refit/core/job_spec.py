"""What Job to create for a step of a run: the Job contract of DESIGN.md §2, as a pure function.

The manifest is a plain dict so that this module stays free of the Kubernetes client. The
operator posts it as is; the node agent in tests and the kubelet in production both run it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from refit.api.base import API_VERSION
from refit.api.enums import StatTest
from refit.api.pipeline import (
    DataSpec,
    DriftTriggerSpec,
    MlflowSpec,
    ModelSpec,
    TrainerSpec,
    TrainingPipelineSpec,
)
from refit.api.run import TrainingRun

MANAGED_BY = "refit"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PIPELINE = "refit.dev/pipeline"
LABEL_RUN = "refit.dev/run"
LABEL_STEP = "refit.dev/step"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
# Argo CD marks the objects it tracks with these; copying them to children would make Argo CD
# think it owns (and prune) our Jobs.
ARGOCD_TRACKING = ("app.kubernetes.io/instance", "argocd.argoproj.io/instance")
CONTAINER_NAME = "trainer"


class Step(StrEnum):
    TRAIN = "train"
    EVALUATE = "evaluate"
    DRIFT = "drift"


@dataclass(frozen=True)
class Owner:
    """The object that owns the Job (a TrainingRun, or the pipeline for drift checks)."""

    api_version: str
    kind: str
    name: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass(frozen=True)
class JobRequest:
    """Everything that decides a Job's manifest."""

    name: str
    namespace: str
    step: Step
    pipeline: str
    run: str
    owner: Owner
    trainer: TrainerSpec
    data: DataSpec
    model: ModelSpec
    mlflow: MlflowSpec
    tracking_uri: str
    experiment: str
    mlflow_run_id: str
    trigger: str
    scheduled_time: datetime | None
    extra_env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def rfc3339(moment: datetime) -> str:
    """UTC, second precision, `Z` suffix: the form the Job contract promises."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def contract_env(request: JobRequest) -> dict[str, str]:
    """The environment every trainer image receives (trainer-image/CONTRACT.md)."""
    env = {
        "MLFLOW_TRACKING_URI": request.tracking_uri,
        "MLFLOW_EXPERIMENT_NAME": request.experiment,
        "MLFLOW_RUN_ID": request.mlflow_run_id,
        "REFIT_PIPELINE": request.pipeline,
        "REFIT_RUN": request.run,
        "REFIT_NAMESPACE": request.namespace,
        "REFIT_STEP": request.step.value,
        "REFIT_TRIGGER": request.trigger,
        "REFIT_SCHEDULED_TIME": rfc3339(request.scheduled_time) if request.scheduled_time else "",
        "REFIT_TRAIN_DATA": request.data.train,
        "REFIT_VALIDATION_DATA": request.data.validation or "",
        "REFIT_MODEL_NAME": request.model.name,
        "REFIT_CHAMPION_ALIAS": request.model.champion_alias,
    }
    if request.data.reference:
        env["REFIT_REFERENCE_DATA"] = request.data.reference
    if request.data.current:
        env["REFIT_CURRENT_DATA"] = request.data.current
    env.update(request.extra_env)
    return env


def _command(request: JobRequest) -> tuple[list[str], list[str]]:
    trainer = request.trainer
    if request.step is Step.TRAIN:
        return list(trainer.command), list(trainer.args)
    if request.step is Step.EVALUATE:
        return list(trainer.evaluate_command), []
    return list(trainer.drift_command), []


RESTRICTED_POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
RESTRICTED_CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def child_labels(parent_labels: dict[str, str]) -> dict[str, str]:
    """Labels a child may inherit from its parent: everything but Argo CD's tracking labels."""
    return {k: v for k, v in parent_labels.items() if k not in ARGOCD_TRACKING}


def build_job(request: JobRequest) -> dict[str, Any]:
    """The Job manifest for one step. Deterministic: same request, same manifest."""
    trainer = request.trainer
    labels = {
        **child_labels(request.labels),
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_PIPELINE: request.pipeline,
        LABEL_RUN: request.run,
        LABEL_STEP: request.step.value,
    }
    if trainer.queue_name:
        labels[KUEUE_QUEUE_LABEL] = trainer.queue_name
    command, args = _command(request)

    env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in contract_env(request).items()]
    env += [item.wire() for item in trainer.env]
    env_from: list[dict[str, Any]] = []
    for secret in (request.data.credentials_secret_ref, request.mlflow.credentials_secret_ref):
        if secret is not None and {"secretRef": {"name": secret.name}} not in env_from:
            env_from.append({"secretRef": {"name": secret.name}})

    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": trainer.image,
        "command": command,
        "args": args,
        "env": env,
        "resources": trainer.resources.wire(),
        "securityContext": RESTRICTED_CONTAINER_SECURITY,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if env_from:
        container["envFrom"] = env_from
    if trainer.image_pull_policy:
        container["imagePullPolicy"] = trainer.image_pull_policy
    if trainer.volume_mounts:
        container["volumeMounts"] = trainer.volume_mounts

    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [container],
        "securityContext": RESTRICTED_POD_SECURITY,
        # Training pods never talk to the Kubernetes API.
        "automountServiceAccountToken": False,
    }
    optional: dict[str, Any] = {
        "serviceAccountName": trainer.service_account_name,
        "priorityClassName": trainer.priority_class_name,
        "nodeSelector": trainer.node_selector or None,
        "tolerations": [t.wire() for t in trainer.tolerations] or None,
        "affinity": trainer.affinity,
        "volumes": trainer.volumes or None,
        "imagePullSecrets": [s.wire() for s in trainer.image_pull_secrets] or None,
    }
    pod_spec.update({k: v for k, v in optional.items() if v is not None})

    # A GPU step (or any step with a pod failure policy) gets the same backoff as training;
    # evaluation and drift checks are cheap and deterministic, so one retry is enough.
    backoff = trainer.backoff_limit if request.step is Step.TRAIN else min(trainer.backoff_limit, 1)
    job_spec: dict[str, Any] = {
        "backoffLimit": backoff,
        "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
    }
    if trainer.active_deadline_seconds:
        job_spec["activeDeadlineSeconds"] = trainer.active_deadline_seconds
    if trainer.ttl_seconds_after_finished is not None:
        job_spec["ttlSecondsAfterFinished"] = trainer.ttl_seconds_after_finished
    if trainer.pod_failure_policy:
        job_spec["podFailurePolicy"] = trainer.pod_failure_policy
    if trainer.queue_name:
        # Kueue admits the Job by unsuspending it once its queue has quota.
        job_spec["suspend"] = True

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": request.name,
            "namespace": request.namespace,
            "labels": labels,
            "ownerReferences": [request.owner.reference()],
        },
        "spec": job_spec,
    }


# --- requests for the steps of a run and for drift checks -----------------------------------------


def experiment_name(mlflow: MlflowSpec | None, namespace: str, pipeline: str) -> str:
    """The MLflow experiment of a pipeline's runs: spec.mlflow.experiment, else <namespace>/<name>."""
    if mlflow is not None and mlflow.experiment:
        return mlflow.experiment
    return f"{namespace}/{pipeline}"


def run_job_request(
    run: TrainingRun,
    job_name: str,
    step: Step,
    mlflow_run_id: str,
    tracking_uri: str,
    extra_env: dict[str, str] | None = None,
) -> JobRequest:
    """The request for one Job of a TrainingRun (its spec must carry the pipeline snapshot)."""
    spec, meta = run.spec, run.metadata
    if spec.trainer is None or spec.data is None or spec.model is None:
        raise ValueError(f"run {meta.name} has no pipeline snapshot (spec.trainer/data/model)")
    namespace = meta.namespace or "default"
    return JobRequest(
        name=job_name,
        namespace=namespace,
        step=step,
        pipeline=spec.pipeline_ref.name,
        run=meta.name or "",
        owner=Owner(API_VERSION, "TrainingRun", meta.name or "", meta.uid or ""),
        trainer=spec.trainer,
        data=spec.data,
        model=spec.model,
        mlflow=spec.mlflow or MlflowSpec(),
        tracking_uri=tracking_uri,
        experiment=experiment_name(spec.mlflow, namespace, spec.pipeline_ref.name),
        mlflow_run_id=mlflow_run_id,
        trigger=spec.trigger.type.value,
        scheduled_time=spec.trigger.scheduled_time,
        extra_env=dict(extra_env or {}),
        labels=meta.labels,
    )


def drift_check_data(spec: TrainingPipelineSpec) -> DataSpec:
    """The data of a drift check: the trigger's reference/current, else the pipeline's
    reference (then train) and current."""
    trigger = spec.triggers.drift
    if trigger is None:
        raise ValueError("the pipeline has no drift trigger")
    return spec.data.model_copy(
        update={
            "reference": trigger.reference_data or spec.data.reference or spec.data.train,
            "current": trigger.current_data or spec.data.current,
        }
    )


def drift_config(trigger: DriftTriggerSpec) -> str:
    """REFIT_DRIFT_CONFIG of the drift-check Job (the keys refit_trainer.drift.config reads)."""
    config: dict[str, Any] = {
        "features": trigger.features or None,
        "stattest": trigger.stattest.value,
        "driftShare": trigger.drift_share,
        "minSampleSize": trigger.min_sample_size,
    }
    if trigger.threshold is not None and trigger.stattest is not StatTest.AUTO:
        config["thresholds"] = {trigger.stattest.value: trigger.threshold}
    if trigger.feature_stattests:
        config["featureStattests"] = {k: v.value for k, v in trigger.feature_stattests.items()}
    return json.dumps(config)
