"""The merged ECDFs and the distinct counts of NumericSamples, checked against the plain way.

The merge is a stable argsort of the two sorted samples back to back (bench/drift showed it
several times faster than merging by `searchsorted`); ties between and within the samples
must still put the reference's values first, and KS/Wasserstein must still equal scipy's.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from refit_trainer.drift.samples import NumericSamples
from refit_trainer.drift.stattests.ks import ks_statistic
from refit_trainer.drift.stattests.wasserstein import wasserstein_distance


def _merged_by_search(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, ...]:
    ref, cur = np.sort(ref), np.sort(cur)
    total = ref.size + cur.size
    ref_pos = np.arange(ref.size) + np.searchsorted(cur, ref, side="left")
    cur_pos = np.arange(cur.size) + np.searchsorted(ref, cur, side="right")
    values = np.empty(total)
    values[ref_pos], values[cur_pos] = ref, cur
    from_reference = np.zeros(total, dtype=np.int64)
    from_reference[ref_pos] = 1
    ref_cdf = np.cumsum(from_reference)
    return values, ref_cdf, np.arange(1, total + 1) - ref_cdf


CASES = {
    "continuous": lambda rng: (rng.normal(size=3001), rng.normal(0.2, 1.1, size=2500)),
    "heavy ties": lambda rng: (
        rng.integers(0, 7, 4000).astype(float),
        rng.integers(2, 9, 3500).astype(float),
    ),
    "one value each": lambda rng: (np.full(50, 3.0), np.full(40, 3.0)),
    "disjoint": lambda rng: (rng.uniform(0, 1, 100), rng.uniform(5, 6, 300)),
    "signed zeros": lambda rng: (np.array([0.0, -0.0, 1.0, -1.0]), np.array([-0.0, 0.0, 0.5])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_merge_equals_merging_by_binary_search(case: str) -> None:
    ref, cur = CASES[case](np.random.default_rng(11))
    samples = NumericSamples(ref, cur, integer=False)
    for got, expected in zip(samples.merged, _merged_by_search(ref, cur), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert ks_statistic(samples) == pytest.approx(stats.ks_2samp(ref, cur).statistic, rel=1e-12)
    assert wasserstein_distance(samples) == pytest.approx(
        stats.wasserstein_distance(ref, cur), rel=1e-9, abs=1e-15
    )


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("cap", [1, 2, 5, 10_000])
def test_distinct_count(case: str, cap: int) -> None:
    ref, cur = CASES[case](np.random.default_rng(12))
    samples = NumericSamples(ref, cur, integer=False)
    both = np.unique(np.concatenate([ref, cur])).size
    biggest = max(np.unique(ref).size, np.unique(cur).size)
    got = samples.distinct_count(cap)
    if biggest > cap:
        assert got == biggest  # only "more than cap" matters to the caller
    else:
        assert got == both
    assert samples.reference_distinct_count() == np.unique(ref).size


# Sizes that cross the block boundary, share no factor, or divide one another.
SIZES = [(70_001, 33_333), (65_536, 98_305), (40_000, 10_000), (1, 4), (7, 3)]


@pytest.mark.parametrize(("n", "m"), SIZES)
@pytest.mark.parametrize("in_float", [True, False], ids=["float64 steps", "int64 steps"])
def test_wasserstein_unequal_sizes_equals_scipy(
    n: int, m: int, in_float: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from refit_trainer.drift.stattests import wasserstein

    # The int64 path serves grids beyond 2**52 steps; force it to check it on small ones.
    monkeypatch.setattr(wasserstein, "EXACT_IN_FLOAT", 2**52 if in_float else 0)
    rng = np.random.default_rng(n + m)
    ref, cur = rng.normal(size=n), rng.integers(-2, 3, size=m).astype(float)
    samples = NumericSamples(ref, cur, integer=False)
    assert wasserstein_distance(samples) == pytest.approx(
        stats.wasserstein_distance(ref, cur), rel=1e-9, abs=1e-15
    )


@pytest.mark.parametrize("size", [1, 2, 32_768, 32_769, 100_003])
def test_blocked_standard_deviation_and_equal_size_distance(size: int) -> None:
    from refit_trainer.drift.stattests.wasserstein import quantile_area, standard_deviation

    rng = np.random.default_rng(size)
    ref, cur = np.sort(rng.lognormal(3.0, 1.0, size)), np.sort(rng.normal(20.0, 5.0, size))
    assert standard_deviation(ref) == pytest.approx(float(np.std(ref)), rel=1e-12)
    assert quantile_area(ref, cur) == pytest.approx(
        stats.wasserstein_distance(ref, cur), rel=1e-9, abs=1e-15
    )
