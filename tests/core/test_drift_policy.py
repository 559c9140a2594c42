"""refit.core.drift_policy: per-feature drift, dataset verdicts, the Drift-run decision."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from refit.api.conditions import Reason
from refit.api.enums import ConditionStatus, StatTest
from refit.api.pipeline import DriftTriggerSpec
from refit.core.drift_policy import (
    DriftAssessment,
    DriftCheckResult,
    DriftReason,
    DriftVerdict,
    FeatureResult,
    assess_drift,
    decide_drift_run,
    default_threshold,
    drift_condition,
    feature_drifted,
    result_from_report,
)

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)


def trigger(**overrides: Any) -> DriftTriggerSpec:
    base: dict[str, Any] = {"check_schedule": "0 * * * *"}
    base.update(overrides)
    return DriftTriggerSpec.model_validate(base)


@pytest.mark.parametrize(
    ("test", "statistic", "threshold", "drifted"),
    [
        (StatTest.KS, 0.01, 0.05, True),  # p-value below the threshold
        (StatTest.KS, 0.05, 0.05, False),  # p == threshold is not drift
        (StatTest.CHISQUARE, 0.2, 0.05, False),
        (StatTest.ZTEST, 0.049, 0.05, True),
        (StatTest.WASSERSTEIN, 0.1, 0.1, True),  # distance at the threshold is drift
        (StatTest.JENSENSHANNON, 0.09, 0.1, False),
        (StatTest.PSI, 0.25, 0.1, True),
    ],
)
def test_feature_drifted(test: StatTest, statistic: float, threshold: float, drifted: bool) -> None:
    assert feature_drifted(test, statistic, threshold) is drifted


def test_default_thresholds() -> None:
    assert default_threshold(StatTest.KS) == 0.05
    assert default_threshold(StatTest.PSI) == 0.1
    with pytest.raises(ValueError, match="auto"):
        default_threshold(StatTest.AUTO)
    with pytest.raises(ValueError, match="resolved"):
        feature_drifted(StatTest.AUTO, 0.1, 0.1)


def features(*flags: bool) -> tuple[FeatureResult, ...]:
    return tuple(
        FeatureResult(f"f{i}", StatTest.KS, 0.001 if flag else 0.5) for i, flag in enumerate(flags)
    )


ASSESS_CASES = [
    # id, spec overrides, result, verdict, reason, share, drifted
    (
        "half drifted meets 0.5",
        {},
        DriftCheckResult(features(True, False), 1000, 1000),
        DriftVerdict.DRIFT,
        Reason.DATASET_DRIFT,
        0.5,
        ("f0",),
    ),
    (
        "one of three is below 0.5",
        {},
        DriftCheckResult(features(True, False, False), 1000, 1000),
        DriftVerdict.NO_DRIFT,
        Reason.NO_DRIFT,
        1 / 3,
        ("f0",),
    ),
    (
        "lower driftShare",
        {"drift_share": 0.3},
        DriftCheckResult(features(True, False, False), 1000, 1000),
        DriftVerdict.DRIFT,
        Reason.DATASET_DRIFT,
        1 / 3,
        ("f0",),
    ),
    (
        "nothing drifted",
        {},
        DriftCheckResult(features(False, False), 1000, 1000),
        DriftVerdict.NO_DRIFT,
        Reason.NO_DRIFT,
        0.0,
        (),
    ),
    (
        "too few current rows",
        {"min_sample_size": 100},
        DriftCheckResult(features(True), 5000, 99),
        DriftVerdict.INSUFFICIENT_DATA,
        Reason.INSUFFICIENT_DATA,
        None,
        (),
    ),
    (
        "exactly minSampleSize is enough",
        {"min_sample_size": 100},
        DriftCheckResult(features(True), 100, 100),
        DriftVerdict.DRIFT,
        Reason.DATASET_DRIFT,
        1.0,
        ("f0",),
    ),
    (
        "no features",
        {},
        DriftCheckResult((), 1000, 1000),
        DriftVerdict.INSUFFICIENT_DATA,
        Reason.INSUFFICIENT_DATA,
        None,
        (),
    ),
    (
        "NaN statistics are not judged",
        {},
        DriftCheckResult(
            (FeatureResult("a", StatTest.KS, math.nan), FeatureResult("b", StatTest.KS, 0.001)),
            1000,
            1000,
        ),
        DriftVerdict.DRIFT,
        Reason.DATASET_DRIFT,
        1.0,
        ("b",),
    ),
    (
        "check failed",
        {},
        DriftCheckResult(failed=True, error="reference data not found"),
        DriftVerdict.FAILED,
        Reason.DRIFT_CHECK_FAILED,
        None,
        (),
    ),
    (
        "spec threshold applies to every feature",
        {"threshold": 0.3, "stattest": "wasserstein"},
        DriftCheckResult(
            (
                FeatureResult("a", StatTest.WASSERSTEIN, 0.2),
                FeatureResult("b", StatTest.WASSERSTEIN, 0.35),
            ),
            1000,
            1000,
        ),
        DriftVerdict.DRIFT,
        Reason.DATASET_DRIFT,
        0.5,
        ("b",),
    ),
    (
        "the check's own flag wins",
        {},
        DriftCheckResult(
            (
                FeatureResult("a", StatTest.PSI, 0.0, drifted=True),
                FeatureResult("b", StatTest.PSI, 9.0, drifted=False),
            ),
            1000,
            1000,
        ),
        DriftVerdict.DRIFT,
        Reason.DATASET_DRIFT,
        0.5,
        ("a",),
    ),
    (
        "per-feature threshold",
        {},
        DriftCheckResult(
            (
                FeatureResult("a", StatTest.PSI, 0.15, threshold=0.2),
                FeatureResult("b", StatTest.PSI, 0.15),
            ),
            1000,
            1000,
        ),
        DriftVerdict.DRIFT,
        Reason.DATASET_DRIFT,
        0.5,
        ("b",),
    ),
]


@pytest.mark.parametrize(
    ("overrides", "result", "verdict", "reason", "share", "drifted"),
    [case[1:] for case in ASSESS_CASES],
    ids=[case[0] for case in ASSESS_CASES],
)
def test_assess(
    overrides: dict[str, Any],
    result: DriftCheckResult,
    verdict: DriftVerdict,
    reason: str,
    share: float | None,
    drifted: tuple[str, ...],
) -> None:
    assessment = assess_drift(trigger(**overrides), result)
    assert (assessment.verdict, assessment.reason) == (verdict, reason), assessment.message
    assert assessment.share == (pytest.approx(share) if share is not None else None)
    assert assessment.drifted_features == drifted
    assert assessment.message


def test_result_from_the_trainer_report() -> None:
    report = {
        "schema": "refit.dev/drift-report/v1",
        "dataset": {"reference_rows": 5000, "current_rows": 2000, "dataset_drift": True},
        "features": [
            {
                "feature": "tenure",
                "status": "tested",
                "drifted": True,
                "stattest": "wasserstein",
                "score": 0.31,
                "threshold": 0.1,
            },
            {
                "feature": "contract",
                "status": "tested",
                "drifted": False,
                "stattest": "jensenshannon",
                "score": 0.02,
                "threshold": 0.1,
            },
            {"feature": "notes", "status": "skipped", "drifted": False},
        ],
    }
    result = result_from_report(report)
    assert result.reference_rows == 5000 and result.current_rows == 2000 and not result.failed
    assert [f.status for f in result.features] == ["tested", "tested", "skipped"]
    assert result.features[0].test is StatTest.WASSERSTEIN and result.features[0].score == 0.31
    assessment = assess_drift(trigger(), result)
    assert (assessment.verdict, assessment.share, assessment.drifted_features) == (
        DriftVerdict.DRIFT,
        0.5,
        ("tenure",),
    )
    failed = result_from_report({"error": "reference data not found"})
    assert failed.failed and assess_drift(trigger(), failed).verdict is DriftVerdict.FAILED


def test_messages_name_the_numbers() -> None:
    drift = assess_drift(trigger(), DriftCheckResult(features(True, True, False), 1000, 1000))
    assert drift.message == "2 of 3 features drifted (67%; driftShare 0.5): f0, f1"
    small = assess_drift(trigger(min_sample_size=30), DriftCheckResult(features(True), 10, 500))
    assert "10 rows" in small.message and "minSampleSize 30" in small.message


DRIFT = assess_drift(trigger(), DriftCheckResult(features(True, True), 1000, 1000))
NO_DRIFT = assess_drift(trigger(), DriftCheckResult(features(False, False), 1000, 1000))
INSUFFICIENT = assess_drift(trigger(), DriftCheckResult(features(True), 3, 3))
FAILED = assess_drift(trigger(), DriftCheckResult(failed=True))

DECIDE_CASES = [
    # id, assessment, last drift run, cooldown, suspended, create, reason, cooldown_until
    ("drift, never ran", DRIFT, None, "24h", False, True, Reason.DATASET_DRIFT, None),
    (
        "drift, cooldown over",
        DRIFT,
        NOW - timedelta(hours=24),
        "24h",
        False,
        True,
        Reason.DATASET_DRIFT,
        None,
    ),
    (
        "drift, in cooldown",
        DRIFT,
        NOW - timedelta(hours=2),
        "6h",
        False,
        False,
        DriftReason.COOLDOWN,
        NOW + timedelta(hours=4),
    ),
    (
        "drift, 1h30m cooldown",
        DRIFT,
        NOW - timedelta(hours=1),
        "1h30m",
        False,
        False,
        DriftReason.COOLDOWN,
        NOW + timedelta(minutes=30),
    ),
    (
        "drift, 1d cooldown passed",
        DRIFT,
        NOW - timedelta(days=1, seconds=1),
        "1d",
        False,
        True,
        Reason.DATASET_DRIFT,
        None,
    ),
    ("no drift", NO_DRIFT, None, "24h", False, False, Reason.NO_DRIFT, None),
    ("insufficient data", INSUFFICIENT, None, "24h", False, False, Reason.INSUFFICIENT_DATA, None),
    ("check failed", FAILED, None, "24h", False, False, Reason.DRIFT_CHECK_FAILED, None),
    ("suspended", DRIFT, None, "24h", True, False, DriftReason.SUSPENDED, None),
    ("no check yet", None, None, "24h", False, False, DriftReason.NO_CHECK, None),
]


@pytest.mark.parametrize(
    ("assessment", "last", "cooldown", "suspended", "create", "reason", "until"),
    [case[1:] for case in DECIDE_CASES],
    ids=[case[0] for case in DECIDE_CASES],
)
def test_decide_drift_run(
    assessment: DriftAssessment | None,
    last: datetime | None,
    cooldown: str,
    suspended: bool,
    create: bool,
    reason: str,
    until: datetime | None,
) -> None:
    decision = decide_drift_run(
        assessment, now=NOW, cooldown=cooldown, last_drift_run_time=last, suspended=suspended
    )
    assert (decision.create, decision.reason, decision.cooldown_until) == (create, reason, until)
    assert decision.message


def test_cooldown_message() -> None:
    decision = decide_drift_run(
        DRIFT, now=NOW, cooldown=timedelta(hours=6), last_drift_run_time=NOW - timedelta(hours=2)
    )
    assert "last drift run was 2h ago; cooldown 6h ends in 4h" in decision.message


@pytest.mark.parametrize(
    ("assessment", "status"),
    [
        (DRIFT, ConditionStatus.TRUE),
        (NO_DRIFT, ConditionStatus.FALSE),
        (INSUFFICIENT, ConditionStatus.UNKNOWN),
        (FAILED, ConditionStatus.UNKNOWN),
    ],
)
def test_drift_condition(assessment: DriftAssessment, status: ConditionStatus) -> None:
    assert drift_condition(assessment) == (status, assessment.reason, assessment.message)
