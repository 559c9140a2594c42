"""Pearson's chi-square test of current counts against reference proportions (categorical).

Score: p-value; drift when p < 0.05. Expected counts are the reference counts scaled to
the current sample size. A category that appears only in the current data has an
expected count of zero: the statistic is infinite and the p-value 0 (drift), reported
with a note instead of a division warning.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import Samples
from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, register


def _chisquare(samples: Samples) -> Outcome:
    counts = samples.counts
    if counts.keys.size < 2:
        return Outcome(statistic=0.0, score=1.0, p_value=1.0, note="a single category")
    expected = counts.reference * (samples.n_current / samples.n_reference)
    observed = counts.current.astype(np.float64)
    unseen = counts.unseen_in_reference
    if unseen.size:
        note = f"{unseen.size} categor{'y' if unseen.size == 1 else 'ies'} unseen in reference"
        return Outcome(statistic=float("inf"), score=0.0, p_value=0.0, note=note)
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    p_value = float(stats.chi2.sf(statistic, counts.keys.size - 1))
    return Outcome(statistic=statistic, score=p_value, p_value=p_value)


TEST = register(
    StatTest(
        name="chisquare",
        display_name="chi-square p_value",
        kinds=(Kind.CATEGORICAL, Kind.NUMERICAL),
        default_threshold=0.05,
        score_kind=ScoreKind.P_VALUE,
        compute=_chisquare,
    )
)
