"""The promotion gate: does the candidate replace the champion? Pure, with the numbers in words.

Rules, in the order they are checked (the first that fails gives the reason):

1. Metrics must be present and finite. A missing primary or guardrail metric on the candidate,
   or on an existing champion, rejects with `MetricMissing`; NaN and ±inf count as missing (a
   model that scores NaN is broken, and +inf "error" must never look like a win).
2. `threshold`, when set, is an absolute bar on the candidate's primary metric (≥ for maximize,
   ≤ for minimize), champion or not: failing it rejects with `NotBetter`.
3. No champion yet: `whenNoChampion: Promote` promotes with reason `NoChampion` (guardrails have
   nothing to compare against); `Reject` rejects with reason `NoChampion`.
4. Improvement = candidate - champion for maximize, champion - candidate for minimize. It must be
   positive (a tie never promotes: same quality, needless churn) and at least the required
   margin: max(minImprovement.absolute, minImprovement.relative x |champion|). Otherwise
   `NotBetter`.
5. Each guardrail may not regress by more than its tolerance (regression = the amount by which
   the candidate is worse in that metric's own direction): otherwise `GuardrailRegressed`.
6. Otherwise `CandidateWon`.

Comparisons with a bar allow a relative slack of 1e-9, so "improved by exactly the required 0.5"
passes despite binary floating point (14.1 - 12.3 = 1.7999999999999998).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from refit.api.conditions import Reason
from refit.api.enums import Direction, NoChampionPolicy
from refit.api.pipeline import EvaluationSpec
from refit.api.run import Decision

__all__ = ["evaluate_candidate", "improvement", "required_improvement"]

_SLACK = 1e-9


def _num(value: float) -> str:
    return f"{value:.6g}"


def _at_least(value: float, bar: float) -> bool:
    return value >= bar - _SLACK * max(1.0, abs(bar), abs(value))


def _lookup(metrics: Mapping[str, float] | None, name: str, who: str) -> tuple[float | None, str]:
    """The metric's value, or None with a sentence on what is wrong with it."""
    if metrics is None or name not in metrics or metrics[name] is None:
        return None, f"{who} metric {name!r} is missing"
    try:
        value = float(metrics[name])
    except (TypeError, ValueError):
        return None, f"{who} metric {name!r} is not a number ({metrics[name]!r})"
    if not math.isfinite(value):
        return None, f"{who} metric {name!r} is {value} (not a finite number)"
    return value, ""


def improvement(direction: Direction, candidate: float, champion: float) -> float:
    """How much better the candidate is, in metric units (negative: worse)."""
    return candidate - champion if direction is Direction.MAXIMIZE else champion - candidate


def required_improvement(spec: EvaluationSpec, champion: float) -> float:
    """The margin to beat: the larger of the absolute bar and the relative share of |champion|."""
    return max(spec.min_improvement.absolute, spec.min_improvement.relative * abs(champion))


def _decision(promote: bool, reason: str, message: str) -> Decision:
    return Decision(promote=promote, reason=reason, message=message)


def evaluate_candidate(
    spec: EvaluationSpec,
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
) -> Decision:
    """Compare candidate and champion metrics (both scored on the same validation data).

    `champion` is None when the registered model has no champion yet.
    """
    metric = spec.metric

    # 1. Present and finite.
    cand_value, problem = _lookup(candidate, metric, "candidate")
    if cand_value is None:
        return _decision(False, Reason.METRIC_MISSING, problem)
    champ_value: float | None = None
    if champion is not None:
        champ_value, problem = _lookup(champion, metric, "champion")
        if champ_value is None:
            return _decision(False, Reason.METRIC_MISSING, problem)
        for guardrail in spec.guardrails:
            for who, metrics in (("candidate", candidate), ("champion", champion)):
                value, problem = _lookup(metrics, guardrail.metric, who)
                if value is None:
                    return _decision(False, Reason.METRIC_MISSING, f"{problem} (guardrail)")

    # 2. Absolute threshold.
    if spec.threshold is not None:
        reaches = (
            _at_least(cand_value, spec.threshold)
            if spec.direction is Direction.MAXIMIZE
            else _at_least(-cand_value, -spec.threshold)
        )
        if not reaches:
            relation = "below" if spec.direction is Direction.MAXIMIZE else "above"
            return _decision(
                False,
                Reason.NOT_BETTER,
                f"candidate {metric} {_num(cand_value)} is {relation} the threshold {_num(spec.threshold)}",
            )

    # 3. No champion.
    if champion is None or champ_value is None:
        bar = f" (threshold {_num(spec.threshold)} met)" if spec.threshold is not None else ""
        if spec.when_no_champion is NoChampionPolicy.PROMOTE:
            return _decision(
                True,
                Reason.NO_CHAMPION,
                f"no champion yet: promoting candidate {metric} {_num(cand_value)}{bar}",
            )
        return _decision(
            False,
            Reason.NO_CHAMPION,
            f"no champion yet and whenNoChampion is Reject: candidate {metric} {_num(cand_value)} not promoted",
        )

    # 4. Primary metric improvement.
    gain = improvement(spec.direction, cand_value, champ_value)
    required = required_improvement(spec, champ_value)
    head = f"candidate {metric} {_num(cand_value)} vs champion {_num(champ_value)}"
    if gain <= 0:
        detail = (
            "no improvement (a tie does not promote)"
            if gain == 0
            else f"worse by {_amount(-gain, champ_value)}"
        )
        return _decision(False, Reason.NOT_BETTER, f"{head}: {detail}")
    if not _at_least(gain, required):
        return _decision(
            False,
            Reason.NOT_BETTER,
            f"{head}: improved by {_amount(gain, champ_value)} < required {_num(required)}",
        )
    won = f"{head}: improved by {_amount(gain, champ_value)} ≥ required {_num(required)}"

    # 5. Guardrails (present on both sides: checked in 1).
    for guardrail in spec.guardrails:
        cand_guard, champ_guard = (
            float(candidate[guardrail.metric]),
            float(champion[guardrail.metric]),
        )
        regression = -improvement(guardrail.direction, cand_guard, champ_guard)
        if regression > 0 and not _at_least(guardrail.tolerance, regression):
            return _decision(
                False,
                Reason.GUARDRAIL_REGRESSED,
                f"{won}, but guardrail {guardrail.metric} regressed {_num(champ_guard)} → {_num(cand_guard)} "
                f"(by {_num(regression)} > tolerance {_num(guardrail.tolerance)})",
            )

    # 6. A win.
    return _decision(True, Reason.CANDIDATE_WON, won)


def _amount(delta: float, champion: float) -> str:
    """ "1.8 (12.8%)": the absolute amount and its share of |champion| when that is defined."""
    share = f" ({delta / abs(champion) * 100:.1f}%)" if champion != 0 else ""
    return f"{_num(delta)}{share}"
