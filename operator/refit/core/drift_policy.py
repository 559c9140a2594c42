"""From a drift check's per-feature results to a verdict, and from a verdict to a Drift run.

Per feature (Evidently's conventions, as refit_trainer's drift-check Job reports them): only
features with status `tested` or `type_mismatch` count, and a type mismatch is drift. A p-value
test (ks, chisquare, ztest) flags drift when p < threshold (default 0.05); a distance
(wasserstein, jensenshannon, psi) when distance ≥ threshold (default 0.1). The Job's own
`drifted` flag is taken as is; otherwise an explicit `threshold` in the spec applies to every
feature, as Evidently's `stattest_threshold` does, and a per-feature threshold in the report wins.

Dataset: drift when the share of drifted features among those tested is ≥ `driftShare`. Fewer
rows than `minSampleSize` on either side, or nothing testable, gives `InsufficientData`: not
drift, and not "no drift" either. A failed check is `Failed`.

A Drift run is created when the verdict is Drift, the pipeline is not suspended, and the
cooldown since the last Drift run has passed; otherwise the decision says why not (and, for the
cooldown, when it ends). The run's name derives from the check's scheduled time, so re-deciding
the same check after a crash creates nothing twice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from refit.api.conditions import Reason
from refit.api.enums import ConditionStatus, StatTest
from refit.api.pipeline import DriftTriggerSpec
from refit.core.durations import format_duration, parse_duration

__all__ = [
    "DISTANCE_TESTS",
    "P_VALUE_TESTS",
    "DriftAssessment",
    "DriftCheckResult",
    "DriftReason",
    "DriftRunDecision",
    "DriftVerdict",
    "FeatureResult",
    "assess_drift",
    "decide_drift_run",
    "default_threshold",
    "drift_condition",
    "feature_drifted",
    "result_from_report",
]

P_VALUE_TESTS: Final = frozenset({StatTest.KS, StatTest.CHISQUARE, StatTest.ZTEST})
DISTANCE_TESTS: Final = frozenset({StatTest.WASSERSTEIN, StatTest.JENSENSHANNON, StatTest.PSI})
_SHARE_SLACK: Final = 1e-9


class DriftVerdict(StrEnum):
    """The dataset-level result; the values are `status.lastDriftCheck.result` on the wire."""

    DRIFT = "Drift"
    NO_DRIFT = "NoDrift"
    INSUFFICIENT_DATA = "InsufficientData"
    FAILED = "Failed"


class DriftReason:
    """Reasons of drift-run decisions that `refit.api.conditions.Reason` has no name for."""

    COOLDOWN: Final = "CooldownActive"
    SUSPENDED: Final = "Suspended"
    NO_CHECK: Final = "NoDriftCheck"


# Per-feature statuses of the drift-check report (refit_trainer.drift.engine). Only `tested` and
# `type_mismatch` features count towards the share; a type mismatch counts as drift.
TESTED: Final = "tested"
TYPE_MISMATCH: Final = "type_mismatch"


@dataclass(frozen=True)
class FeatureResult:
    """One feature's test, as the drift-check Job reports it.

    `score` is the number compared with the threshold: the p-value of a p-value test, the
    distance of a distance. `drifted`, when the Job gives it, is taken as is.
    """

    feature: str
    test: StatTest | None = None
    score: float | None = None
    threshold: float | None = None
    drifted: bool | None = None
    status: str = TESTED


@dataclass(frozen=True)
class DriftCheckResult:
    """What a drift-check Job reported (read from its MLflow run)."""

    features: tuple[FeatureResult, ...] = ()
    reference_rows: int | None = None
    current_rows: int | None = None
    failed: bool = False
    error: str | None = None


@dataclass(frozen=True)
class DriftAssessment:
    verdict: DriftVerdict
    reason: str
    message: str
    share: float | None = None
    drifted_features: tuple[str, ...] = ()
    tested_features: int = 0


@dataclass(frozen=True)
class DriftRunDecision:
    create: bool
    reason: str
    message: str
    cooldown_until: datetime | None = None  # when a cooldown blocks, when it ends (wake up then)


def default_threshold(test: StatTest) -> float:
    if test in P_VALUE_TESTS:
        return 0.05
    if test in DISTANCE_TESTS:
        return 0.1
    raise ValueError("the auto test has no threshold of its own: the check resolves it per feature")


def feature_drifted(test: StatTest, statistic: float, threshold: float) -> bool:
    """p-value tests: p < threshold; distances: distance ≥ threshold."""
    if test in P_VALUE_TESTS:
        return statistic < threshold
    if test in DISTANCE_TESTS:
        return statistic >= threshold
    raise ValueError(
        f"cannot judge drift for test {test.value!r}: it must be resolved to a concrete test"
    )


def _resolve(spec: DriftTriggerSpec, result: FeatureResult) -> bool | None:
    """Whether one feature drifted; None when it does not count (not tested, NaN, unresolved)."""
    if result.status == TYPE_MISMATCH:
        return True
    if result.status != TESTED:
        return None
    if result.drifted is not None:
        return result.drifted
    if (
        result.score is None
        or not math.isfinite(result.score)
        or result.test in (None, StatTest.AUTO)
    ):
        return None
    threshold = result.threshold if result.threshold is not None else spec.threshold
    if threshold is None:
        threshold = default_threshold(result.test)
    return feature_drifted(result.test, result.score, threshold)


def result_from_report(report: Mapping[str, Any]) -> DriftCheckResult:
    """The drift-check Job's JSON report (schema refit.dev/drift-report/v1) as a result.

    Tolerant of missing keys: what is absent is simply not known.
    """
    dataset = report.get("dataset") or {}
    features: list[FeatureResult] = []
    for item in report.get("features") or ():
        test_name = item.get("stattest")
        test = StatTest(test_name) if test_name in {t.value for t in StatTest} else None
        score = item.get("score")
        drifted = item.get("drifted")
        features.append(
            FeatureResult(
                feature=str(item.get("feature", "")),
                test=test,
                score=float(score) if isinstance(score, int | float) else None,
                threshold=item.get("threshold"),
                drifted=bool(drifted) if drifted is not None else None,
                status=str(item.get("status", TESTED)),
            )
        )
    error = report.get("error")
    return DriftCheckResult(
        features=tuple(features),
        reference_rows=dataset.get("reference_rows"),
        current_rows=dataset.get("current_rows"),
        failed=bool(error),
        error=str(error) if error else None,
    )


def assess_drift(spec: DriftTriggerSpec, result: DriftCheckResult) -> DriftAssessment:
    """The dataset verdict of one check."""
    if result.failed:
        return DriftAssessment(
            DriftVerdict.FAILED,
            Reason.DRIFT_CHECK_FAILED,
            f"drift check failed: {result.error or 'no details'}",
        )
    rows = [r for r in (result.reference_rows, result.current_rows) if r is not None]
    if rows and min(rows) < spec.min_sample_size:
        return DriftAssessment(
            DriftVerdict.INSUFFICIENT_DATA,
            Reason.INSUFFICIENT_DATA,
            f"{min(rows)} rows (reference {result.reference_rows}, current {result.current_rows}) is below "
            f"minSampleSize {spec.min_sample_size}: no verdict",
        )
    judged = [(r.feature, _resolve(spec, r)) for r in result.features]
    tested = [(name, drifted) for name, drifted in judged if drifted is not None]
    if not tested:
        return DriftAssessment(
            DriftVerdict.INSUFFICIENT_DATA,
            Reason.INSUFFICIENT_DATA,
            "no feature could be tested: no verdict",
        )
    drifted = tuple(name for name, flag in tested if flag)
    share = len(drifted) / len(tested)
    summary = f"{len(drifted)} of {len(tested)} features drifted ({share:.0%}; driftShare {spec.drift_share:g})"
    if drifted:
        shown = ", ".join(drifted[:5]) + (
            f" and {len(drifted) - 5} more" if len(drifted) > 5 else ""
        )
        summary += f": {shown}"
    if share >= spec.drift_share - _SHARE_SLACK:
        return DriftAssessment(
            DriftVerdict.DRIFT, Reason.DATASET_DRIFT, summary, share, drifted, len(tested)
        )
    return DriftAssessment(
        DriftVerdict.NO_DRIFT, Reason.NO_DRIFT, summary, share, drifted, len(tested)
    )


def decide_drift_run(
    assessment: DriftAssessment | None,
    *,
    now: datetime,
    cooldown: timedelta | str,
    last_drift_run_time: datetime | None,
    suspended: bool = False,
) -> DriftRunDecision:
    """Whether to create a Drift run now, and if not, why not."""
    if suspended:
        return DriftRunDecision(False, DriftReason.SUSPENDED, "pipeline is suspended: no drift run")
    if assessment is None:
        return DriftRunDecision(False, DriftReason.NO_CHECK, "no drift check result yet")
    if assessment.verdict is not DriftVerdict.DRIFT:
        return DriftRunDecision(False, assessment.reason, assessment.message)
    window = parse_duration(cooldown) if isinstance(cooldown, str) else cooldown
    if last_drift_run_time is not None:
        until = last_drift_run_time + window
        if now < until:
            return DriftRunDecision(
                False,
                DriftReason.COOLDOWN,
                f"dataset drifted ({assessment.message}) but the last drift run was "
                f"{format_duration(now - last_drift_run_time)} ago; cooldown {format_duration(window)} ends in "
                f"{format_duration(until - now)}",
                cooldown_until=until,
            )
    return DriftRunDecision(True, Reason.DATASET_DRIFT, f"dataset drifted: {assessment.message}")


def drift_condition(assessment: DriftAssessment) -> tuple[ConditionStatus, str, str]:
    """The pipeline's DriftDetected condition (status, reason, message) for a verdict."""
    status = {
        DriftVerdict.DRIFT: ConditionStatus.TRUE,
        DriftVerdict.NO_DRIFT: ConditionStatus.FALSE,
    }.get(assessment.verdict, ConditionStatus.UNKNOWN)
    return status, assessment.reason, assessment.message
