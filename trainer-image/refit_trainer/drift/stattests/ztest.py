"""Two-proportion z-test for binary columns. Score: p-value; drift when p < 0.05.

The proportion compared is that of the values other than the smallest one (with two
values: the share of the larger one), as Evidently does. A column with more than two
values is reported as not applicable rather than silently lumped.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import Samples
from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, register


def _sort_keys(keys: np.ndarray) -> np.ndarray:
    try:
        return np.argsort(keys, kind="stable")
    except TypeError:  # mixed types: order by their text, deterministic at least
        return np.argsort(np.array([str(k) for k in keys]), kind="stable")


def _ztest(samples: Samples) -> Outcome:
    counts = samples.counts
    if counts.keys.size > 2:
        return Outcome(
            statistic=float("nan"),
            score=float("nan"),
            note=f"z-test needs a binary column, found {counts.keys.size} values",
        )
    if counts.keys.size == 1:
        return Outcome(statistic=0.0, score=1.0, p_value=1.0, note="a single value")
    order = _sort_keys(counts.keys)
    n1, n2 = samples.n_reference, samples.n_current
    p1 = counts.reference[order[1]] / n1
    p2 = counts.current[order[1]] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = float(2 * stats.norm.sf(abs(z)))
    return Outcome(statistic=float(z), score=p_value, p_value=p_value)


TEST = register(
    StatTest(
        name="ztest",
        display_name="Z-test p_value",
        kinds=(Kind.CATEGORICAL, Kind.NUMERICAL),
        default_threshold=0.05,
        score_kind=ScoreKind.P_VALUE,
        compute=_ztest,
    ),
    "z",
)
