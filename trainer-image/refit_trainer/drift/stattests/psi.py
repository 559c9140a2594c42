"""Population Stability Index (both kinds). Drift when >= 0.1.

PSI = sum((ref% - cur%) * ln(ref% / cur%)) over the same bins as Jensen-Shannon. Empty
bins would make the logarithm infinite, so, as Evidently does, a zero share is replaced
by 0.0001, or by a millionth of the smallest non-zero share when that is itself <= 0.0001.
"""

from __future__ import annotations

import numpy as np

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import Samples
from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, register


def fill_empty_bins(shares: np.ndarray) -> np.ndarray:
    nonzero = shares[shares != 0]
    if nonzero.size == 0:
        return shares
    smallest = float(nonzero.min())
    floor = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return np.where(shares == 0, floor, shares)


def psi_value(reference: np.ndarray, current: np.ndarray) -> float:
    reference, current = fill_empty_bins(reference), fill_empty_bins(current)
    return float(np.sum((reference - current) * np.log(reference / current)))


def _psi(samples: Samples) -> Outcome:
    value = psi_value(*samples.binned_shares())
    return Outcome(statistic=value, score=value)


TEST = register(
    StatTest(
        name="psi",
        display_name="PSI",
        kinds=(Kind.CATEGORICAL, Kind.NUMERICAL),
        default_threshold=0.1,
        score_kind=ScoreKind.DISTANCE,
        compute=_psi,
    )
)
