"""From a drift check's per-feature results to a verdict, and from a verdict to a Drift run.

Per feature (Evidently's conventions): a p-value test (ks, chisquare, ztest) flags drift when
p < threshold (default 0.05); a distance (wasserstein, jensenshannon, psi) when distance ≥
threshold (default 0.1). An explicit `threshold` in the spec applies to every feature, as
Evidently's `stattest_threshold` does; a per-feature threshold reported by the check wins.

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

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


@dataclass(frozen=True)
class FeatureResult:
    """One feature's test, as the drift-check Job reports it."""

    feature: str
    test: StatTest
    statistic: float
    threshold: float | None = None
    drifted: bool | None = None  # the Job's own verdict; recomputed from statistic when None


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
    """Whether one feature drifted; None when it cannot be judged (NaN statistic, auto test)."""
    if result.drifted is not None:
        return result.drifted
    if not math.isfinite(result.statistic) or result.test is StatTest.AUTO:
        return None
    threshold = result.threshold if result.threshold is not None else spec.threshold
    if threshold is None:
        threshold = default_threshold(result.test)
    return feature_drifted(result.test, result.statistic, threshold)


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
