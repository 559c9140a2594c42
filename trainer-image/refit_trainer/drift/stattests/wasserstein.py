"""Wasserstein-1 distance normed by the reference's standard deviation (numerical).

Score: the normed distance; drift when >= 0.1. Normalising by max(std(reference), 0.001)
is Evidently's choice: it makes one threshold meaningful for features of any scale.
The distance is the area between the two ECDFs, integrated over the merged sorted values.
"""

from __future__ import annotations

import numpy as np

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import NumericSamples, Samples
from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, register

MIN_NORM = 0.001


def wasserstein_distance(samples: NumericSamples) -> float:
    values, ref_cdf, cur_cdf = samples.merged
    gaps = ref_cdf[:-1] / samples.n_reference - cur_cdf[:-1] / samples.n_current
    # Inside a run of equal values the step width is 0, so ties need no special care.
    return float(np.dot(np.abs(gaps), np.diff(values)))


def _wasserstein(samples: Samples) -> Outcome:
    assert isinstance(samples, NumericSamples)
    norm = max(float(np.std(samples.reference)), MIN_NORM)
    normed = wasserstein_distance(samples) / norm
    return Outcome(statistic=normed, score=normed)


TEST = register(
    StatTest(
        name="wasserstein",
        display_name="Wasserstein distance (normed)",
        kinds=(Kind.NUMERICAL,),
        default_threshold=0.1,
        score_kind=ScoreKind.DISTANCE,
        compute=_wasserstein,
    )
)
