"""refit.core.validation: semantic problems of a pipeline spec, with wire paths."""

from __future__ import annotations

from typing import Any

import pytest

from refit.api.conditions import Reason
from refit.api.pipeline import TrainingPipelineSpec
from refit.core.validation import Problem, errors, ready_reason, validate_pipeline_spec


def pipeline(**overrides: Any) -> TrainingPipelineSpec:
    body: dict[str, Any] = {
        "schedule": {"cron": "H H * * *", "timeZone": "Europe/Berlin"},
        "data": {"train": "s3://bucket/train.csv", "current": "s3://bucket/current.csv"},
        "trainer": {"image": "ghcr.io/refit/trainer:1"},
        "evaluation": {"metric": "rmse", "direction": "minimize"},
        "model": {"name": "sales"},
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        elif isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return TrainingPipelineSpec.model_validate(body)


DRIFT = {"checkSchedule": "H/15 * * * *"}

CASES = [
    # id, overrides, expected (path, severity, words) list
    ("valid", {}, []),
    ("manual-only pipeline", {"schedule": None}, []),
    (
        "bad cron field",
        {"schedule": {"cron": "61 * * * *"}},
        [("spec.schedule.cron", "error", "minute field '61': 61 is out of range 0-59")],
    ),
    (
        "unknown time zone",
        {"schedule": {"cron": "0 2 * * *", "timeZone": "Europe/Berlinn"}},
        [("spec.schedule.timeZone", "error", "unknown time zone 'Europe/Berlinn'")],
    ),
    (
        "never fires",
        {"schedule": {"cron": "0 0 31 2 *"}},
        [("spec.schedule.cron", "error", "never fires")],
    ),
    (
        "tiny deadline",
        {"schedule": {"cron": "@daily", "startingDeadlineSeconds": 5}},
        [("spec.schedule.startingDeadlineSeconds", "warning", "5s")],
    ),
    (
        "RunAll with Forbid",
        {"schedule": {"cron": "@hourly", "missedRunPolicy": "RunAll"}},
        [("spec.schedule.missedRunPolicy", "warning", "only the newest")],
    ),
    (
        "RunAll with Allow",
        {
            "schedule": {"cron": "@hourly", "missedRunPolicy": "RunAll"},
            "concurrencyPolicy": "Allow",
        },
        [],
    ),
    ("drift ok", {"triggers": {"drift": DRIFT}}, []),
    (
        "drift bad check schedule",
        {"triggers": {"drift": {"checkSchedule": "*/0 * * * *"}}},
        [("spec.triggers.drift.checkSchedule", "error", "step")],
    ),
    (
        "drift bad zone",
        {"triggers": {"drift": DRIFT | {"timeZone": "Nowhere/City"}}},
        [("spec.triggers.drift.timeZone", "error", "Nowhere/City")],
    ),
    (
        "drift without current data",
        {"data": {"train": "s3://b/t.csv", "current": None}, "triggers": {"drift": DRIFT}},
        [("spec.triggers.drift.currentData", "error", "needs current data")],
    ),
    (
        "drift current data on the trigger",
        {
            "data": {"train": "s3://b/t.csv", "current": None},
            "triggers": {"drift": DRIFT | {"currentData": "s3://b/c.csv"}},
        },
        [],
    ),
    (
        "p-value threshold ≥ 1",
        {"triggers": {"drift": DRIFT | {"stattest": "ks", "threshold": 1.5}}},
        [("spec.triggers.drift.threshold", "error", "must be below 1")],
    ),
    (
        "distance threshold ≥ 1 is fine",
        {"triggers": {"drift": DRIFT | {"stattest": "psi", "threshold": 1.5}}},
        [],
    ),
    (
        "auto with one threshold",
        {"triggers": {"drift": DRIFT | {"threshold": 0.2}}},
        [("spec.triggers.drift.threshold", "warning", "mix p-values")],
    ),
    (
        "mixed per-feature tests",
        {
            "triggers": {
                "drift": DRIFT
                | {"stattest": "ks", "threshold": 0.01, "featureStattests": {"a": "psi"}}
            }
        },
        [("spec.triggers.drift.threshold", "warning", "mix")],
    ),
    (
        "override for an untested feature",
        {"triggers": {"drift": DRIFT | {"features": ["a"], "featureStattests": {"b": "psi"}}}},
        [("spec.triggers.drift.featureStattests", "warning", "b not in features")],
    ),
    (
        "feature listed twice",
        {"triggers": {"drift": DRIFT | {"features": ["a", "a"]}}},
        [("spec.triggers.drift.features", "error", "a")],
    ),
    (
        "guardrail on the primary metric",
        {"evaluation": {"guardrails": [{"metric": "rmse", "direction": "minimize"}]}},
        [("spec.evaluation.guardrails[0].metric", "error", "primary metric")],
    ),
    (
        "two guardrails on one metric",
        {
            "evaluation": {
                "guardrails": [
                    {"metric": "mae", "direction": "minimize"},
                    {"metric": "mae", "direction": "minimize"},
                ]
            }
        },
        [("spec.evaluation.guardrails[1].metric", "error", "two guardrails")],
    ),
    (
        "same aliases",
        {"model": {"championAlias": "prod", "challengerAlias": "prod"}},
        [("spec.model.challengerAlias", "error", "must differ")],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_validate(overrides: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    problems = validate_pipeline_spec(pipeline(**overrides), "shop", "sales")
    assert [(p.path, p.severity) for p in problems] == [
        (path, severity) for path, severity, _ in expected
    ]
    for problem, (_, _, words) in zip(problems, expected, strict=True):
        assert words in problem.message, problem.message


def test_ready_reason_and_formatting() -> None:
    zone = validate_pipeline_spec(
        pipeline(schedule={"cron": "0 2 * * *", "timeZone": "Mars/Base"}), "ns", "p"
    )
    assert ready_reason(zone) == Reason.INVALID_TIME_ZONE
    cron = validate_pipeline_spec(pipeline(schedule={"cron": "0 25 * * *"}), "ns", "p")
    assert ready_reason(cron) == Reason.INVALID_SCHEDULE
    fine = validate_pipeline_spec(
        pipeline(schedule={"cron": "@daily", "startingDeadlineSeconds": 1}), "ns", "p"
    )
    assert errors(fine) == [] and ready_reason(fine) is None
    assert str(Problem("spec.x", "bad")) == "spec.x: bad"
    assert str(fine[0]).endswith("(warning)")


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"model": {"name": "cafe\u0301"}}, "spec.model.name"),
        (
            {"evaluation": {"metric": "pre\u0301cision", "direction": "minimize"}},
            "spec.evaluation.metric",
        ),
        (
            {"triggers": {"drift": {**DRIFT, "features": ["tenure", "re\u0301sume\u0301"]}}},
            "spec.triggers.drift.features[1]",
        ),
        (
            {"triggers": {"drift": {**DRIFT, "featureStattests": {"n\u0303": "ks"}}}},
            "spec.triggers.drift.featureStattests[n\u0303]",
        ),
    ],
)
def test_names_not_in_nfc_are_errors(overrides: dict[str, Any], path: str) -> None:
    problems = errors(validate_pipeline_spec(pipeline(**overrides), "ns", "p"))
    assert [p.path for p in problems] == [path]
    assert "NFC" in problems[0].message and problems[0].reason == Reason.INVALID_SPEC


def test_names_in_any_script_in_nfc_are_fine() -> None:
    # r + combining diaeresis has no precomposed form: already NFC, so legal.
    spec = pipeline(
        model={"name": "café 🚀 مبيعات 販売"},
        triggers={"drift": {**DRIFT, "features": ["résumé", "नमस्ते", "r\u0308"]}},
    )
    assert errors(validate_pipeline_spec(spec, "ns", "p")) == []
