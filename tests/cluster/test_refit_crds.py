"""The generated Refit CRDs on the real API server: examples accepted, malformed manifests
refused at apply time by the schema or a CEL rule naming the field, status not pruned."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from refit.api.base import Condition
from refit.api.enums import ConditionStatus, RunPhase, TriggerType
from refit.api.pipeline import (
    ChampionStatus,
    DriftCheckStatus,
    LastRunSummary,
    RunReference,
    TrainingPipelineStatus,
)
from tests.manifests.corpus import CORPUS, Case

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").rglob("*.yaml"))
PLURALS = {"TrainingPipeline": "trainingpipelines", "TrainingRun": "trainingruns"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _create(
    api: client.ApiClient, namespace: str, doc: dict[str, Any], dry_run: bool = True
) -> Any:
    doc = json.loads(json.dumps(doc))
    doc["metadata"]["namespace"] = namespace
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        "refit.dev",
        "v1alpha1",
        namespace,
        PLURALS[doc["kind"]],
        doc,
        dry_run="All" if dry_run else None,
        field_validation="Strict",  # what kubectl apply does: unknown fields are errors
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO)))
def test_examples_are_accepted(api_client: client.ApiClient, namespace: str, path: Path) -> None:
    for doc in _docs(path):
        if doc.get("kind") in PLURALS:
            _create(api_client, namespace, doc)


@pytest.mark.parametrize("case", CORPUS, ids=lambda c: c.name)
def test_malformed_manifest_is_refused_at_apply_time(
    api_client: client.ApiClient, namespace: str, case: Case
) -> None:
    if not case.refused_at_apply:
        # Legal for the schema, caught by the operator's semantic checks (Ready=False,
        # tests/controllers/test_invalid_pipelines.py): the cron pattern checks the shape, not
        # each field's range; the schema cannot know the IANA database nor normalise Unicode.
        _create(api_client, namespace, case.body())
        return
    # A real create, not a dry run: a dry run never reaches etcd and its size limit.
    with pytest.raises(ApiException) as raised:
        _create(api_client, namespace, case.body(), dry_run=False)
    assert raised.value.status in case.api_status, raised.value.body
    message = json.loads(raised.value.body)["message"]
    assert (case.api_says or case.field) in message, message
    # …and nothing was stored.
    plural = PLURALS[case.kind]
    stored = client.CustomObjectsApi(api_client).list_namespaced_custom_object(
        "refit.dev", "v1alpha1", namespace, plural
    )
    assert stored["items"] == []


def test_pipeline_ref_and_trigger_are_immutable(
    api_client: client.ApiClient, namespace: str
) -> None:
    run = {
        "apiVersion": "refit.dev/v1alpha1",
        "kind": "TrainingRun",
        "metadata": {"name": "r1"},
        "spec": {"pipelineRef": {"name": "a"}, "trigger": {"type": "Manual"}},
    }
    _create(api_client, namespace, run, dry_run=False)
    custom = client.CustomObjectsApi(api_client)
    for patch, field in (
        ({"spec": {"pipelineRef": {"name": "b"}}}, "spec.pipelineRef"),
        ({"spec": {"trigger": {"type": "Drift"}}}, "spec.trigger"),
    ):
        with pytest.raises(ApiException) as raised:
            custom.patch_namespaced_custom_object(
                "refit.dev", "v1alpha1", namespace, "trainingruns", "r1", patch
            )
        message = json.loads(raised.value.body)["message"]
        assert field in message and "immutable" in message, message


def test_full_status_survives_the_status_subresource(
    api_client: client.ApiClient, namespace: str
) -> None:
    doc = _docs(REPO / "examples" / "daily-sales" / "pipeline.yaml")[0]
    created = _create(api_client, namespace, doc, dry_run=False)
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    status = TrainingPipelineStatus(
        observed_generation=1,
        conditions=[
            Condition(
                type="Ready",
                status=ConditionStatus.TRUE,
                reason="Reconciled",
                message="ok",
                last_transition_time=now,
                observed_generation=1,
            )
        ],
        last_schedule_time=now,
        next_schedule_time=now,
        last_drift_check_time=now,
        next_drift_check_time=now,
        last_drift_run_time=now,
        active_runs=[RunReference(name="r", uid="u")],
        last_run=LastRunSummary(
            name="r",
            trigger=TriggerType.SCHEDULE,
            phase=RunPhase.PROMOTED,
            scheduled_time=now,
            start_time=now,
            completion_time=now,
            metric_value=1.5,
            decision="won",
        ),
        champion=ChampionStatus(
            version="3",
            metric="rmse",
            metric_value=1.5,
            run_id="abc",
            training_run="r",
            promoted_at=now,
        ),
        champion_history=[
            ChampionStatus(version="2", metric="rmse", metric_value=2.0, promoted_at=now)
        ],
        last_drift_check=DriftCheckStatus(
            time=now,
            scheduled_time=now,
            job_name="j",
            mlflow_run_id="m",
            dataset_drift=True,
            drift_share=0.5,
            drifted_features=["tenure"],
            result="Drift",
            message="drift",
        ),
        missed_schedules=2,
    ).wire()
    custom = client.CustomObjectsApi(api_client)
    name = created["metadata"]["name"]
    custom.patch_namespaced_custom_object_status(
        "refit.dev", "v1alpha1", namespace, "trainingpipelines", name, {"status": status}
    )
    back = custom.get_namespaced_custom_object(
        "refit.dev", "v1alpha1", namespace, "trainingpipelines", name
    )
    assert back["status"] == status
