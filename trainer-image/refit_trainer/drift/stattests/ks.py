"""Two-sample Kolmogorov-Smirnov test (numerical). Score: p-value; drift when p <= 0.05.

The statistic D = max |F_ref - F_cur| comes from the merged ECDF counts of the sorted
samples. The p-value follows scipy's `ks_2samp(method="auto")`: exact for samples of up
to 10,000 values (delegated to scipy, cheap at that size), then scipy's asymptotic
`kstwo.sf(D, round(n*m/(n+m)))`. Beyond an effective size of 10,000 that distribution
costs seconds per column (5 s at 500,000), so we use its limit, the Kolmogorov
distribution `kstwobign.sf(sqrt(en) * D)`: within 1% of scipy's p-value there, and the
difference shrinks as 1/sqrt(en).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import NumericSamples, Samples
from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, register

EXACT_LIMIT = 10_000
FINITE_N_LIMIT = 10_000


def ks_statistic(samples: NumericSamples) -> float:
    values, ref_cdf, cur_cdf = samples.merged
    # Evaluate the ECDFs only at the last of each run of equal values (ties step together).
    ends = np.flatnonzero(np.r_[values[1:] != values[:-1], True])
    gaps = ref_cdf[ends] / samples.n_reference - cur_cdf[ends] / samples.n_current
    return float(np.max(np.abs(gaps)))


def _ks(samples: Samples) -> Outcome:
    assert isinstance(samples, NumericSamples)
    n, m = samples.n_reference, samples.n_current
    if max(n, m) <= EXACT_LIMIT:
        result = stats.ks_2samp(samples.reference, samples.current, method="auto")
        return Outcome(
            statistic=float(result.statistic),
            score=float(result.pvalue),
            p_value=float(result.pvalue),
        )
    d = ks_statistic(samples)
    big, small = max(n, m), min(n, m)
    effective_n = big * small / (big + small)
    if effective_n <= FINITE_N_LIMIT:
        p = stats.kstwo.sf(d, np.round(effective_n))
    else:
        p = stats.kstwobign.sf(np.sqrt(effective_n) * d)
    p_value = float(np.clip(p, 0.0, 1.0))
    return Outcome(statistic=d, score=p_value, p_value=p_value)


TEST = register(
    StatTest(
        name="ks",
        display_name="K-S p_value",
        kinds=(Kind.NUMERICAL,),
        default_threshold=0.05,
        score_kind=ScoreKind.P_VALUE,
        compute=_ks,
        inclusive=True,
    )
)
