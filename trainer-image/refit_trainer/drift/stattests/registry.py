"""The registry of two-sample drift tests, looked up by name.

Each test lives in its own small module and registers a `StatTest`: which column kinds it
applies to, its default threshold, whether its score is a p-value (drift when small) or a
distance (drift when large), and the function that computes it from prepared `Samples`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from enum import StrEnum

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import Samples


class ScoreKind(StrEnum):
    P_VALUE = "p_value"
    DISTANCE = "distance"


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a test computed. `score` is compared with the threshold; `statistic` is the
    test statistic itself (equal to `score` for distances)."""

    statistic: float
    score: float
    p_value: float | None = None
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class StatTest:
    name: str
    display_name: str
    kinds: tuple[Kind, ...]
    default_threshold: float
    score_kind: ScoreKind
    compute: Callable[[Samples], Outcome]
    # Evidently's KS flags drift at p <= threshold, chi-square and z at p < threshold;
    # distances at score >= threshold. Kept exact so verdicts agree at the boundary.
    inclusive: bool = False

    def drifted(self, score: float, threshold: float) -> bool:
        if math.isnan(score):
            return False
        if self.score_kind is ScoreKind.P_VALUE:
            return score <= threshold if self.inclusive else score < threshold
        return score >= threshold


_REGISTRY: dict[str, StatTest] = {}
_ALIASES: dict[str, str] = {}


def register(test: StatTest, *aliases: str) -> StatTest:
    _REGISTRY[test.name] = test
    for alias in aliases:
        _ALIASES[alias] = test.name
    return test


def get(name: str) -> StatTest:
    _load_builtin_tests()
    key = _ALIASES.get(name, name)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown stattest {name!r}; known: {', '.join(names())}") from None


def names() -> list[str]:
    _load_builtin_tests()
    return sorted(_REGISTRY)


def _load_builtin_tests() -> None:
    # Importing the modules registers them; done lazily to avoid an import cycle.
    from refit_trainer.drift.stattests import (  # noqa: F401
        chisquare,
        jensenshannon,
        ks,
        psi,
        wasserstein,
        ztest,
    )
