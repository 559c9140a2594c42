"""What a new TrainingRun of a pipeline looks like: a snapshot of the pipeline's specs.

One definition for every creator of runs: the operator (schedule and drift ticks), the CLI
(`refit trigger`, a Manual run) and the local runner (`refit run`, `refit demo`). The snapshot
freezes data, trainer, evaluation, model, MLflow and promotion at creation, so editing the
pipeline never changes a run in flight; the owner reference makes the run go with its pipeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from refit.api.base import API_VERSION
from refit.api.enums import TriggerType
from refit.api.pipeline import TrainingPipeline
from refit.api.run import PipelineRef, TrainingRun, TrainingRunSpec, Trigger
from refit.core.job_spec import LABEL_PIPELINE, child_labels

__all__ = ["SNAPSHOT_FIELDS", "pipeline_owner_reference", "run_manifest", "snapshot_run"]

SNAPSHOT_FIELDS: Final = ("data", "trainer", "evaluation", "model", "mlflow", "promotion")
MAX_REASON_LENGTH: Final = 1024


def snapshot_run(
    tp: TrainingPipeline,
    name: str,
    trigger: TriggerType,
    scheduled_time: datetime | None,
    reason: str,
) -> TrainingRun:
    """The TrainingRun `name` of pipeline `tp` (no status: nothing has happened yet)."""
    spec = tp.spec
    return TrainingRun(
        metadata={  # type: ignore[arg-type]
            "name": name,
            "namespace": tp.metadata.namespace,
            "labels": {**child_labels(tp.metadata.labels), LABEL_PIPELINE: tp.metadata.name or ""},
        },
        spec=TrainingRunSpec(
            pipeline_ref=PipelineRef(name=tp.metadata.name or ""),
            trigger=Trigger(
                type=trigger, scheduled_time=scheduled_time, reason=reason[:MAX_REASON_LENGTH]
            ),
            **{field: getattr(spec, field) for field in SNAPSHOT_FIELDS},
        ),
    )


def pipeline_owner_reference(tp: TrainingPipeline) -> dict[str, Any]:
    """The pipeline as the controlling owner of a run (garbage collection, `kubectl tree`)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "TrainingPipeline",
        "name": tp.metadata.name,
        "uid": tp.metadata.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def run_manifest(
    tp: TrainingPipeline,
    name: str,
    trigger: TriggerType,
    scheduled_time: datetime | None,
    reason: str,
) -> dict[str, Any]:
    """The run as the body to POST: the snapshot, owned by the pipeline, without status."""
    body = snapshot_run(tp, name, trigger, scheduled_time, reason).wire()
    body["metadata"]["ownerReferences"] = [pipeline_owner_reference(tp)]
    body.pop("status", None)
    return body
