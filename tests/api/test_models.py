"""API models: defaults, camelCase wire format, round trips."""

from __future__ import annotations

from pathlib import Path

import yaml

from refit.api import TrainingPipeline, TrainingRun
from refit.api.enums import ConcurrencyPolicy, MissedRunPolicy, PromotionMode, StatTest

REPO = Path(__file__).resolve().parents[2]


def _load(path: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / path).read_text())  # type: ignore[no-any-return]


def test_daily_sales_example_parses_with_defaults() -> None:
    tp = TrainingPipeline.model_validate(_load("examples/daily-sales/pipeline.yaml"))
    assert tp.spec.schedule is not None
    assert tp.spec.schedule.time_zone == "Europe/Berlin"
    assert tp.spec.schedule.missed_run_policy is MissedRunPolicy.RUN_LATEST
    assert tp.spec.concurrency_policy is ConcurrencyPolicy.FORBID
    assert tp.spec.model.champion_alias == "champion"
    assert tp.spec.promotion.mode is PromotionMode.AUTO
    assert tp.spec.trainer.command == ["refit-trainer", "train"]
    assert tp.spec.evaluation.min_improvement.relative == 0.01


def test_churn_example_drift_defaults() -> None:
    tp = TrainingPipeline.model_validate(_load("examples/churn-drift/pipeline.yaml"))
    drift = tp.spec.triggers.drift
    assert drift is not None
    assert drift.stattest is StatTest.AUTO
    assert drift.drift_share == 0.4 and drift.cooldown == "12h"
    assert tp.spec.promotion.mode is PromotionMode.MANUAL


def test_wire_round_trip_is_camel_case_and_lossless() -> None:
    doc = _load("examples/daily-sales/pipeline.yaml")
    tp = TrainingPipeline.model_validate(doc)
    wire = tp.wire()
    assert "startingDeadlineSeconds" in wire["spec"]["schedule"]
    assert "starting_deadline_seconds" not in str(wire)
    assert TrainingPipeline.model_validate(wire) == tp


def test_run_defaults_to_manual_trigger_and_pending() -> None:
    run = TrainingRun.model_validate(
        {
            "apiVersion": "refit.dev/v1alpha1",
            "kind": "TrainingRun",
            "metadata": {"name": "r1"},
            "spec": {"pipelineRef": {"name": "daily-sales"}},
        }
    )
    assert run.spec.trigger.type.value == "Manual"
    assert run.status is None
