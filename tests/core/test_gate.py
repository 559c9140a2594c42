"""refit.core.gate: every rule of the promotion gate, with the numbers in the message."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refit.api.conditions import Reason
from refit.api.pipeline import EvaluationSpec
from refit.core.gate import evaluate_candidate, improvement, required_improvement


def spec(**overrides: Any) -> EvaluationSpec:
    base: dict[str, Any] = {"metric": "rmse", "direction": "minimize"}
    base.update(overrides)
    return EvaluationSpec.model_validate(base)


RMSE = spec()
RMSE_ABS = spec(min_improvement={"absolute": 0.5})
RMSE_REL = spec(min_improvement={"relative": 0.1})
RMSE_BOTH = spec(min_improvement={"absolute": 0.5, "relative": 0.1})
AUC = spec(metric="roc_auc", direction="maximize", min_improvement={"absolute": 0.01})
GUARDED = spec(
    metric="roc_auc",
    direction="maximize",
    guardrails=[
        {"metric": "recall", "direction": "maximize", "tolerance": 0.02},
        {"metric": "latency_ms", "direction": "minimize", "tolerance": 5},
    ],
)
THRESHOLD_MAX = spec(metric="roc_auc", direction="maximize", threshold=0.7)
THRESHOLD_MIN = spec(threshold=15.0)
REJECT_FIRST = spec(when_no_champion="Reject")

CASES = [
    # id, spec, candidate, champion, promote, reason, words in the message
    (
        "won, minimize",
        RMSE_ABS,
        {"rmse": 12.3},
        {"rmse": 14.1},
        True,
        Reason.CANDIDATE_WON,
        ["candidate rmse 12.3 vs champion 14.1: improved by 1.8 (12.8%) ≥ required 0.5"],
    ),
    (
        "won, maximize",
        AUC,
        {"roc_auc": 0.85},
        {"roc_auc": 0.8},
        True,
        Reason.CANDIDATE_WON,
        ["improved by 0.05 (6.2%) ≥ required 0.01"],
    ),
    (
        "exactly the absolute bar",
        RMSE_ABS,
        {"rmse": 13.6},
        {"rmse": 14.1},
        True,
        Reason.CANDIDATE_WON,
        ["≥ required 0.5"],
    ),
    (
        "below the absolute bar",
        RMSE_ABS,
        {"rmse": 13.8},
        {"rmse": 14.1},
        False,
        Reason.NOT_BETTER,
        ["improved by 0.3 (2.1%) < required 0.5"],
    ),
    (
        "relative bar of |champion|",
        RMSE_REL,
        {"rmse": 9.5},
        {"rmse": 10.0},
        False,
        Reason.NOT_BETTER,
        ["improved by 0.5 (5.0%) < required 1"],
    ),
    (
        "relative bar met",
        RMSE_REL,
        {"rmse": 8.9},
        {"rmse": 10.0},
        True,
        Reason.CANDIDATE_WON,
        ["≥ required 1"],
    ),
    (
        "relative with negative champion",
        spec(metric="score", direction="maximize", min_improvement={"relative": 0.1}),
        {"score": -8.5},
        {"score": -10.0},
        True,
        Reason.CANDIDATE_WON,
        ["required 1"],
    ),
    (
        "both bars: the larger applies",
        RMSE_BOTH,
        {"rmse": 9.4},
        {"rmse": 10.0},
        False,
        Reason.NOT_BETTER,
        ["< required 1"],
    ),
    (
        "worse",
        RMSE,
        {"rmse": 14.8},
        {"rmse": 14.1},
        False,
        Reason.NOT_BETTER,
        ["worse by 0.7 (5.0%)"],
    ),
    ("tie never promotes", RMSE, {"rmse": 14.1}, {"rmse": 14.1}, False, Reason.NOT_BETTER, ["tie"]),
    (
        "tiny win with no bar",
        RMSE,
        {"rmse": 14.0999},
        {"rmse": 14.1},
        True,
        Reason.CANDIDATE_WON,
        ["required 0"],
    ),
    (
        "champion at zero",
        spec(metric="loss", direction="minimize"),
        {"loss": -0.1},
        {"loss": 0.0},
        True,
        Reason.CANDIDATE_WON,
        ["improved by 0.1 ≥"],
    ),
    (
        "no champion → promote",
        RMSE,
        {"rmse": 20.0},
        None,
        True,
        Reason.NO_CHAMPION,
        ["no champion yet", "20"],
    ),
    (
        "no champion → reject",
        REJECT_FIRST,
        {"rmse": 1.0},
        None,
        False,
        Reason.NO_CHAMPION,
        ["whenNoChampion is Reject"],
    ),
    (
        "threshold met, no champion",
        THRESHOLD_MAX,
        {"roc_auc": 0.75},
        None,
        True,
        Reason.NO_CHAMPION,
        ["threshold 0.7 met"],
    ),
    (
        "threshold missed (maximize)",
        THRESHOLD_MAX,
        {"roc_auc": 0.65},
        None,
        False,
        Reason.NOT_BETTER,
        ["0.65 is below the threshold 0.7"],
    ),
    (
        "threshold missed (minimize)",
        THRESHOLD_MIN,
        {"rmse": 15.5},
        {"rmse": 20.0},
        False,
        Reason.NOT_BETTER,
        ["15.5 is above the threshold 15"],
    ),
    (
        "threshold at the bar",
        THRESHOLD_MIN,
        {"rmse": 15.0},
        {"rmse": 20.0},
        True,
        Reason.CANDIDATE_WON,
        [],
    ),
    (
        "candidate metric missing",
        RMSE,
        {"mae": 3.0},
        {"rmse": 14.1},
        False,
        Reason.METRIC_MISSING,
        ["candidate metric 'rmse' is missing"],
    ),
    (
        "champion metric missing",
        RMSE,
        {"rmse": 3.0},
        {"mae": 14.1},
        False,
        Reason.METRIC_MISSING,
        ["champion metric 'rmse' is missing"],
    ),
    (
        "candidate NaN",
        RMSE,
        {"rmse": math.nan},
        {"rmse": 14.1},
        False,
        Reason.METRIC_MISSING,
        ["nan", "not a finite"],
    ),
    ("candidate +inf", RMSE, {"rmse": math.inf}, None, False, Reason.METRIC_MISSING, ["inf"]),
    (
        "candidate -inf is not a win",
        RMSE,
        {"rmse": -math.inf},
        {"rmse": 14.1},
        False,
        Reason.METRIC_MISSING,
        ["-inf"],
    ),
    (
        "champion NaN",
        AUC,
        {"roc_auc": 0.9},
        {"roc_auc": math.nan},
        False,
        Reason.METRIC_MISSING,
        ["champion"],
    ),
    ("not a number", RMSE, {"rmse": "abc"}, None, False, Reason.METRIC_MISSING, ["not a number"]),
    (
        "guardrails hold",
        GUARDED,
        {"roc_auc": 0.9, "recall": 0.69, "latency_ms": 24},
        {"roc_auc": 0.8, "recall": 0.7, "latency_ms": 20},
        True,
        Reason.CANDIDATE_WON,
        [],
    ),
    (
        "guardrail at its tolerance",
        GUARDED,
        {"roc_auc": 0.9, "recall": 0.68, "latency_ms": 25},
        {"roc_auc": 0.8, "recall": 0.7, "latency_ms": 20},
        True,
        Reason.CANDIDATE_WON,
        [],
    ),
    (
        "guardrail regressed (maximize)",
        GUARDED,
        {"roc_auc": 0.9, "recall": 0.6, "latency_ms": 20},
        {"roc_auc": 0.8, "recall": 0.7, "latency_ms": 20},
        False,
        Reason.GUARDRAIL_REGRESSED,
        ["guardrail recall regressed 0.7 → 0.6", "by 0.1 > tolerance 0.02"],
    ),
    (
        "guardrail regressed (minimize)",
        GUARDED,
        {"roc_auc": 0.9, "recall": 0.7, "latency_ms": 30},
        {"roc_auc": 0.8, "recall": 0.7, "latency_ms": 20},
        False,
        Reason.GUARDRAIL_REGRESSED,
        ["latency_ms regressed 20 → 30", "tolerance 5"],
    ),
    (
        "guardrail missing on candidate",
        GUARDED,
        {"roc_auc": 0.9, "recall": 0.7},
        {"roc_auc": 0.8, "recall": 0.7, "latency_ms": 20},
        False,
        Reason.METRIC_MISSING,
        ["latency_ms", "guardrail"],
    ),
    ("guardrails need no champion", GUARDED, {"roc_auc": 0.9}, None, True, Reason.NO_CHAMPION, []),
    (
        "not better wins over guardrail",
        GUARDED,
        {"roc_auc": 0.7, "recall": 0.1, "latency_ms": 99},
        {"roc_auc": 0.8, "recall": 0.7, "latency_ms": 20},
        False,
        Reason.NOT_BETTER,
        ["worse by 0.1"],
    ),
]


@pytest.mark.parametrize(
    ("spec_", "candidate", "champion", "promote", "reason", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_gate(
    spec_: EvaluationSpec,
    candidate: dict[str, float],
    champion: dict[str, float] | None,
    promote: bool,
    reason: str,
    words: list[str],
) -> None:
    decision = evaluate_candidate(spec_, candidate, champion)
    assert (decision.promote, decision.reason) == (promote, reason), decision.message
    for word in words:
        assert word in decision.message, (word, decision.message)


def test_helpers() -> None:
    assert improvement(RMSE.direction, 12.0, 14.0) == 2.0
    assert improvement(AUC.direction, 0.8, 0.9) == pytest.approx(-0.1)
    assert required_improvement(RMSE_BOTH, -20.0) == 2.0


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(candidate=finite, champion=finite, absolute=st.floats(0, 10), relative=st.floats(0, 1))
def test_property_promotion_is_antisymmetric_and_monotone(
    candidate: float, champion: float, absolute: float, relative: float
) -> None:
    gate = spec(min_improvement={"absolute": absolute, "relative": relative})
    forward = evaluate_candidate(gate, {"rmse": candidate}, {"rmse": champion})
    backward = evaluate_candidate(gate, {"rmse": champion}, {"rmse": candidate})
    assert not (forward.promote and backward.promote)  # never both ways
    if forward.promote:
        assert candidate < champion
        # An even better candidate also wins.
        assert evaluate_candidate(gate, {"rmse": candidate - 1}, {"rmse": champion}).promote
