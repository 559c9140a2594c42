"""Jensen-Shannon distance between binned distributions (both kinds). Drift when >= 0.1.

Natural-log JS distance (scipy's `jensenshannon` with base e): the square root of the
mean KL divergence of each distribution from their midpoint. Binning as Evidently's:
Sturges bins over both samples for continuous values, one bin per value otherwise.
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import Samples
from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, register


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    p = p / p.sum()
    q = q / q.sum()
    mid = (p + q) / 2.0
    divergence = float(np.sum(rel_entr(p, mid)) + np.sum(rel_entr(q, mid)))
    return float(np.sqrt(divergence / 2.0))


def _jensenshannon(samples: Samples) -> Outcome:
    reference, current = samples.binned_shares()
    distance = js_distance(reference, current)
    return Outcome(statistic=distance, score=distance)


TEST = register(
    StatTest(
        name="jensenshannon",
        display_name="Jensen-Shannon distance",
        kinds=(Kind.CATEGORICAL, Kind.NUMERICAL),
        default_threshold=0.1,
        score_kind=ScoreKind.DISTANCE,
        compute=_jensenshannon,
    )
)
