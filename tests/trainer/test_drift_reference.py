"""The drift engine's statistics equal scipy's reference functions on the real telco data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from refit_trainer.drift.kinds import Kind, infer_kind
from refit_trainer.drift.samples import CategoricalSamples, NumericSamples
from refit_trainer.drift.stattests import get
from refit_trainer.drift.stattests.ks import ks_statistic
from refit_trainer.drift.stattests.wasserstein import wasserstein_distance

from .telco_splits import load_telco, split

RTOL = 1e-9
NUMERICAL = ["tenure", "monthly_charges", "total_charges"]


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    return load_telco()


def _numeric(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray, NumericSamples]:
    a = ref.dropna().to_numpy(dtype=float)
    b = cur.dropna().to_numpy(dtype=float)
    integer = pd.api.types.is_integer_dtype(ref.dtype)
    return a, b, NumericSamples(a, b, integer=integer)


def _shares_reference(ref: pd.Series, cur: pd.Series, numerical: bool) -> tuple[np.ndarray, ...]:
    """Evidently's binning, written the plain way: np.histogram or value_counts."""
    ref, cur = ref.dropna(), cur.dropna()
    if numerical and ref.nunique() > 20:
        edges = np.histogram_bin_edges(pd.concat([ref, cur]).to_numpy(), bins="sturges")
        return np.histogram(ref, edges)[0] / len(ref), np.histogram(cur, edges)[0] / len(cur)
    keys = sorted(set(ref) | set(cur))
    rc, cc = ref.value_counts(), cur.value_counts()
    return (
        np.array([rc.get(k, 0) / len(ref) for k in keys]),
        np.array([cc.get(k, 0) / len(cur) for k in keys]),
    )


def _psi_reference(p: np.ndarray, q: np.ndarray) -> float:
    def fill(x: np.ndarray) -> np.ndarray:
        smallest = min(v for v in x if v != 0)
        floor = smallest / 1e6 if smallest <= 0.0001 else 0.0001
        return np.array([floor if v == 0 else v for v in x])

    p, q = fill(p), fill(q)
    return float(sum((a - b) * np.log(a / b) for a, b in zip(p, q, strict=True)))


@pytest.mark.parametrize("split_name", ["contract", "tenure_small", "random"])
@pytest.mark.parametrize("column", NUMERICAL)
def test_ks_and_wasserstein_equal_scipy(telco: pd.DataFrame, split_name: str, column: str) -> None:
    ref, cur = split(telco, split_name)
    a, b, samples = _numeric(ref[column], cur[column])

    expected = stats.ks_2samp(a, b)
    assert ks_statistic(samples) == pytest.approx(expected.statistic, rel=RTOL)
    outcome = get("ks").compute(samples)
    assert outcome.statistic == pytest.approx(expected.statistic, rel=RTOL)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=RTOL)

    raw = stats.wasserstein_distance(a, b)
    assert wasserstein_distance(samples) == pytest.approx(raw, rel=RTOL)
    normed = raw / max(np.std(a), 0.001)  # Evidently norms by the reference's std
    assert get("wasserstein").compute(samples).score == pytest.approx(normed, rel=RTOL)


def test_ks_asymptotic_branch_equals_scipy() -> None:
    # Above 10,000 values scipy's "auto" switches to the asymptotic distribution, as we do.
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=20_000), rng.normal(0.02, 1.0, size=15_000)
    samples = NumericSamples(a, b, integer=False)
    expected = stats.ks_2samp(a, b)
    outcome = get("ks").compute(samples)
    assert outcome.statistic == pytest.approx(expected.statistic, rel=RTOL)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=RTOL)


@pytest.mark.parametrize("split_name", ["contract", "tenure_small", "random_small"])
def test_categorical_statistics_equal_scipy(telco: pd.DataFrame, split_name: str) -> None:
    ref, cur = split(telco, split_name)
    checked = 0
    for column in ref.columns:
        if infer_kind(ref[column]) is not Kind.CATEGORICAL:
            continue
        samples = CategoricalSamples(ref[column], cur[column])
        keys = sorted(set(ref[column].dropna()) | set(cur[column].dropna()))
        rc, cc = ref[column].value_counts(), cur[column].value_counts()
        f_obs = np.array([cc.get(k, 0) for k in keys], dtype=float)
        f_exp = np.array([rc.get(k, 0) for k in keys], dtype=float) * len(cur) / len(ref)
        if (f_exp > 0).all() and len(keys) > 1:
            expected = stats.chisquare(f_obs, f_exp)
            outcome = get("chisquare").compute(samples)
            assert outcome.statistic == pytest.approx(expected.statistic, rel=RTOL), column
            assert outcome.p_value == pytest.approx(expected.pvalue, rel=RTOL), column

        p, q = _shares_reference(ref[column], cur[column], numerical=False)
        js = get("jensenshannon").compute(samples).score
        assert js == pytest.approx(jensenshannon(p, q), rel=RTOL, abs=1e-15), column
        psi = get("psi").compute(samples).score
        assert psi == pytest.approx(_psi_reference(p, q), rel=RTOL, abs=1e-15), column
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("split_name", ["contract", "tenure_small"])
@pytest.mark.parametrize("column", NUMERICAL)
def test_binned_numeric_statistics_equal_reference(
    telco: pd.DataFrame, split_name: str, column: str
) -> None:
    ref, cur = split(telco, split_name)
    _, _, samples = _numeric(ref[column], cur[column])
    p, q = _shares_reference(ref[column], cur[column], numerical=True)
    assert get("jensenshannon").compute(samples).score == pytest.approx(
        jensenshannon(p, q), rel=RTOL
    )
    assert get("psi").compute(samples).score == pytest.approx(_psi_reference(p, q), rel=RTOL)


def test_ztest_matches_two_proportion_formula(telco: pd.DataFrame) -> None:
    ref, cur = split(telco, "tenure_small")
    samples = CategoricalSamples(ref["churn"], cur["churn"])
    p1, p2 = (ref["churn"] == "Yes").mean(), (cur["churn"] == "Yes").mean()
    n1, n2 = len(ref), len(cur)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    outcome = get("ztest").compute(samples)
    assert outcome.statistic == pytest.approx(z, rel=RTOL)
    assert outcome.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=RTOL)


def test_ks_large_samples_use_the_kolmogorov_limit_within_one_percent() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=40_000), rng.normal(0.02, 1.0, size=40_000)
    samples = NumericSamples(a, b, integer=False)
    outcome = get("ks").compute(samples)
    d = stats.ks_2samp(a, b).statistic
    assert outcome.statistic == pytest.approx(d, rel=RTOL)
    assert outcome.p_value == pytest.approx(stats.kstwo.sf(d, 20_000), rel=0.01)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (1, 5), (3, 7), (10, 10), (999, 1000), (4096, 6144)])
def test_wasserstein_quantile_merge_equals_scipy_for_any_sizes(n: int, m: int) -> None:
    from refit_trainer.drift.stattests.wasserstein import quantile_area

    rng = np.random.default_rng(n * 7919 + m)
    a = np.sort(np.round(rng.normal(size=n), 1))  # rounded: many ties across the samples
    b = np.sort(np.round(rng.normal(0.3, 1.0, size=m), 1))
    assert quantile_area(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=RTOL)
