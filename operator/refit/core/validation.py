"""Semantic checks of a TrainingPipeline spec, beyond what the schema and CEL can say.

`validate_pipeline_spec` returns problems, never raises: `refit validate` prints them all, and the
operator sets `Ready=False` (reason `InvalidSpec`, or `InvalidSchedule` / `InvalidTimeZone` for
the schedule) from the errors. Warnings are advice that does not block the pipeline. Paths are
the wire (camelCase) paths, as `kubectl explain` shows them.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from refit.api.conditions import Reason
from refit.api.enums import ConcurrencyPolicy, MissedRunPolicy, StatTest
from refit.api.pipeline import DriftTriggerSpec, TrainingPipelineSpec
from refit.core.drift_policy import DISTANCE_TESTS, P_VALUE_TESTS
from refit.core.durations import DurationError, parse_duration
from refit.core.schedule import ScheduleError, parse_schedule, validate_time_zone

__all__ = ["Problem", "errors", "ready_reason", "validate_pipeline_spec"]


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"
    reason: str = Reason.INVALID_SPEC  # the Ready condition's reason when this is the first error

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" + (" (warning)" if self.severity == "warning" else "")


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def ready_reason(problems: list[Problem]) -> str | None:
    """The Ready=False reason for these problems (None when there is no error)."""
    found = errors(problems)
    return found[0].reason if found else None


def validate_pipeline_spec(spec: TrainingPipelineSpec, namespace: str, name: str) -> list[Problem]:
    """Every semantic problem of the spec; `namespace/name` is the key of `H` in crons."""
    key = f"{namespace}/{name}"
    problems: list[Problem] = []
    if spec.schedule is not None:
        problems += _cron("spec.schedule", spec.schedule.cron, spec.schedule.time_zone, key)
        deadline = spec.schedule.starting_deadline_seconds
        if deadline is not None and deadline < 10:
            problems.append(
                Problem(
                    "spec.schedule.startingDeadlineSeconds",
                    f"{deadline}s leaves almost no time to start a run: ticks may be missed whenever the operator is briefly busy",
                    "warning",
                )
            )
        if (
            spec.schedule.missed_run_policy is MissedRunPolicy.RUN_ALL
            and spec.concurrency_policy is ConcurrencyPolicy.FORBID
        ):
            problems.append(
                Problem(
                    "spec.schedule.missedRunPolicy",
                    "RunAll with concurrencyPolicy Forbid starts only the newest missed tick (one run at a time); "
                    "use concurrencyPolicy Allow to catch up in parallel",
                    "warning",
                )
            )
    drift = spec.triggers.drift
    if drift is not None:
        problems += _drift(spec, drift, key)
    problems += _evaluation(spec)
    problems += _not_nfc(spec)
    if spec.model.champion_alias == spec.model.challenger_alias:
        problems.append(
            Problem(
                "spec.model.challengerAlias",
                f"must differ from championAlias ({spec.model.champion_alias!r})",
            )
        )
    return problems


def _cron(
    path: str, cron: str, time_zone: str, key: str, cron_field: str = "cron"
) -> list[Problem]:
    try:
        validate_time_zone(time_zone)
    except ScheduleError as error:
        return [Problem(f"{path}.timeZone", str(error), reason=Reason.INVALID_TIME_ZONE)]
    try:
        parse_schedule(cron, time_zone, key)
    except ScheduleError as error:
        return [Problem(f"{path}.{cron_field}", str(error), reason=Reason.INVALID_SCHEDULE)]
    return []


def _drift(spec: TrainingPipelineSpec, drift: DriftTriggerSpec, key: str) -> list[Problem]:
    path = "spec.triggers.drift"
    problems = _cron(path, drift.check_schedule, drift.time_zone, key, "checkSchedule")
    if drift.current_data is None and spec.data.current is None:
        problems.append(
            Problem(
                f"{path}.currentData",
                "a drift trigger needs current data: set it here or in spec.data.current",
            )
        )
    try:
        parse_duration(drift.cooldown)
    except DurationError as error:
        problems.append(Problem(f"{path}.cooldown", str(error)))

    tests = {drift.stattest, *drift.feature_stattests.values()}
    if drift.threshold is not None:
        if drift.threshold >= 1 and tests & (P_VALUE_TESTS | {StatTest.AUTO}):
            problems.append(
                Problem(
                    f"{path}.threshold",
                    f"{drift.threshold:g} is not a p-value threshold: ks, chisquare, ztest (and auto, which "
                    "may pick them) flag drift when p < threshold, so it must be below 1",
                )
            )
        mixed = StatTest.AUTO in tests or bool(tests & P_VALUE_TESTS and tests & DISTANCE_TESTS)
        if mixed:
            problems.append(
                Problem(
                    f"{path}.threshold",
                    f"one threshold ({drift.threshold:g}) applies to every feature, but the tests mix p-values "
                    "(drift when p < threshold) and distances (drift when distance ≥ threshold); "
                    "leave it unset to use each test's default",
                    "warning",
                )
            )
    if drift.features:
        unknown = sorted(set(drift.feature_stattests) - set(drift.features))
        if unknown:
            problems.append(
                Problem(
                    f"{path}.featureStattests",
                    f"{', '.join(unknown)} not in features, so never tested",
                    "warning",
                )
            )
        duplicates = sorted(name for name, count in Counter(drift.features).items() if count > 1)
        if duplicates:
            problems.append(
                Problem(f"{path}.features", f"listed more than once: {', '.join(duplicates)}")
            )
    return problems


def _evaluation(spec: TrainingPipelineSpec) -> list[Problem]:
    evaluation = spec.evaluation
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, guardrail in enumerate(evaluation.guardrails):
        path = f"spec.evaluation.guardrails[{index}].metric"
        if guardrail.metric == evaluation.metric:
            problems.append(
                Problem(
                    path,
                    f"{guardrail.metric!r} is the primary metric; a guardrail must watch another metric",
                )
            )
        elif guardrail.metric in seen:
            problems.append(Problem(path, f"{guardrail.metric!r} has two guardrails; keep one"))
        seen.add(guardrail.metric)
    return problems


def _not_nfc(spec: TrainingPipelineSpec) -> list[Problem]:
    """Names that are not in Unicode NFC form. "café" typed with a combining accent (NFD, as
    macOS file names and some keyboards produce it) looks exactly like the precomposed "café"
    but is a different string: a different MLflow model, a column that never matches. The
    schema cannot say this (neither CEL nor RE2 normalises), so the operator does."""
    names: list[tuple[str, str]] = [
        ("spec.model.name", spec.model.name),
        ("spec.evaluation.metric", spec.evaluation.metric),
    ]
    names += [
        (f"spec.evaluation.guardrails[{i}].metric", g.metric)
        for i, g in enumerate(spec.evaluation.guardrails)
    ]
    if spec.mlflow.experiment:
        names.append(("spec.mlflow.experiment", spec.mlflow.experiment))
    drift = spec.triggers.drift
    if drift is not None:
        names += [(f"spec.triggers.drift.features[{i}]", f) for i, f in enumerate(drift.features)]
        names += [
            (f"spec.triggers.drift.featureStattests[{k}]", k) for k in drift.feature_stattests
        ]
    return [
        Problem(
            path,
            f"{value!r} is not in Unicode NFC form (it has decomposed characters such as a "
            f"separate combining accent); write it as {unicodedata.normalize('NFC', value)!r}",
        )
        for path, value in names
        if not unicodedata.is_normalized("NFC", value)
    ]
