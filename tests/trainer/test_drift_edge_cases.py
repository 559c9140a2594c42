"""Awkward columns get an explicit result, never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from refit_trainer.drift.config import DriftConfig, parse_config
from refit_trainer.drift.engine import (
    INSUFFICIENT,
    NO_VALUES,
    SKIPPED,
    TESTED,
    TYPE_MISMATCH,
    UNDEFINED,
    check_drift,
)
from refit_trainer.drift.kinds import Kind
from refit_trainer.errors import BadDataError, UsageError

RNG = np.random.default_rng(0)
N = 400


def _results(ref: pd.DataFrame, cur: pd.DataFrame, **config: object) -> dict:
    report = check_drift(ref, cur, DriftConfig(**config))  # type: ignore[arg-type]
    json.dumps(report.as_dict(), allow_nan=False)  # the report is always strict JSON
    return {f.feature: f for f in report.features}


def test_missing_values_are_dropped_and_counted() -> None:
    ref = pd.DataFrame({"x": np.r_[RNG.normal(size=N), [np.nan] * 50, [np.inf]]})
    cur = pd.DataFrame({"x": np.r_[RNG.normal(size=N), [np.nan] * 5]})
    result = _results(ref, cur)["x"]
    assert result.status == TESTED and result.stattest == "ks"
    assert (result.n_reference, result.missing_reference) == (N, 51)
    assert (result.n_current, result.missing_current) == (N, 5)
    assert not result.drifted


def test_all_missing_column_is_reported_not_tested() -> None:
    ref = pd.DataFrame({"x": [np.nan] * N, "y": RNG.normal(size=N)})
    cur = pd.DataFrame({"x": RNG.normal(size=N), "y": RNG.normal(size=N)})
    results = _results(ref, cur)
    assert results["x"].status == NO_VALUES and not results["x"].drifted
    assert "reference" in (results["x"].note or "")


def test_constant_columns() -> None:
    same = _results(pd.DataFrame({"c": [3.0] * N}), pd.DataFrame({"c": [3.0] * N}))["c"]
    assert same.status == TESTED and not same.drifted
    big = pd.DataFrame({"c": [3.0] * 2000})
    moved = _results(big, pd.DataFrame({"c": [4.0] * 2000}))["c"]
    assert moved.status == TESTED and moved.drifted  # jensenshannon on 2 values: distance 1


def test_unseen_categories_drift_with_a_note() -> None:
    ref = pd.DataFrame({"plan": RNG.choice(["a", "b", "c"], size=N)})
    cur = pd.DataFrame({"plan": RNG.choice(["a", "b", "c", "d"], size=N)})
    result = _results(ref, cur)["plan"]
    assert result.stattest == "chisquare" and result.drifted
    assert result.statistic == float("inf") and "unseen" in (result.note or "")
    assert check_drift(ref, cur, DriftConfig()).as_dict()["features"][0]["statistic"] == "inf"


def test_too_small_samples_are_not_tested() -> None:
    ref = pd.DataFrame({"x": RNG.normal(size=10)})
    cur = pd.DataFrame({"x": RNG.normal(5, 1, size=10)})
    report = check_drift(ref, cur, DriftConfig(min_sample_size=30))
    assert report.features[0].status == INSUFFICIENT and not report.features[0].drifted
    assert not report.dataset_drift and report.as_dict()["dataset"]["status"] == INSUFFICIENT
    assert check_drift(ref, cur, DriftConfig(min_sample_size=5)).features[0].drifted


def test_type_change_is_drift() -> None:
    ref = pd.DataFrame({"x": RNG.normal(size=N)})
    cur = pd.DataFrame({"x": ["n/a"] * N})
    result = _results(ref, cur)["x"]
    assert result.status == TYPE_MISMATCH and result.drifted


def test_text_and_datetime_columns_are_skipped() -> None:
    ref = pd.DataFrame(
        {
            "comment": [f"text {i}" for i in range(N)],
            "when": pd.date_range("2024-01-01", periods=N, freq="h"),
        }
    )
    results = _results(ref, ref.copy())
    assert {r.status for r in results.values()} == {SKIPPED}
    assert results["comment"].kind == Kind.TEXT


def test_forced_ks_falls_back_on_categorical_columns() -> None:
    ref = pd.DataFrame({"x": RNG.normal(size=2000), "k": RNG.choice(["a", "b"], size=2000)})
    results = _results(ref, ref.copy(), stattest="ks")
    assert results["x"].stattest == "ks"
    assert results["k"].stattest == "jensenshannon" and "does not apply" in (
        results["k"].note or ""
    )


def test_per_feature_stattest_overrides_the_pipeline_choice() -> None:
    ref = pd.DataFrame({"x": RNG.normal(size=2000), "y": RNG.normal(size=2000)})
    config = parse_config('{"stattest": "psi", "featureStattests": {"x": "ks", "y": "auto"}}')
    report = check_drift(ref, ref.copy(), config)
    assert [f.stattest for f in report.features] == ["ks", "wasserstein"]


def test_ztest_on_many_values_is_undefined_not_wrong() -> None:
    ref = pd.DataFrame({"k": RNG.choice(list("abcd"), size=N)})
    result = _results(ref, ref.copy(), stattest="ztest")["k"]
    assert result.status == UNDEFINED and not result.drifted


def test_integer_columns_with_few_values_are_categorical() -> None:
    ref = pd.DataFrame({"stars": RNG.integers(1, 6, size=N), "age": RNG.integers(18, 90, size=N)})
    results = _results(ref, ref.copy())
    assert results["stars"].kind == "categorical" and results["stars"].stattest == "chisquare"
    assert results["age"].kind == "numerical" and results["age"].stattest == "ks"


def test_configured_features_must_exist() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(BadDataError, match="not in the data: y"):
        check_drift(frame, frame, DriftConfig(features=("x", "y")))


def test_config_parsing() -> None:
    config = parse_config(
        '{"features": ["a"], "stattest": "z", "thresholds": {"psi": 0.2}, '
        '"driftShare": 0.3, "minSampleSize": 100, "columnTypes": {"a": "categorical"}}'
    )
    assert config.stattest == "ztest"  # Evidently's name "z" is an alias
    assert config.thresholds == {"psi": 0.2} and config.drift_share == 0.3
    assert config.column_types == {"a": Kind.CATEGORICAL}
    assert parse_config(None) == DriftConfig()
    for bad in ('{"stattest": "t-test"}', '{"driftShare": 0}', '{"minSampleSize": 0}', "[1]", "{"):
        with pytest.raises(UsageError):
            parse_config(bad)


def test_wasserstein_from_sorted_arrays_on_a_large_sample() -> None:
    from scipy import stats

    from refit_trainer.drift.samples import NumericSamples
    from refit_trainer.drift.stattests.wasserstein import wasserstein_distance

    # Many ties (rounded values) exercise the merge of equal values from both samples.
    a = np.round(RNG.normal(size=200_000), 2)
    b = np.round(RNG.normal(0.1, 1.1, size=150_000), 2)
    samples = NumericSamples(a, b, integer=False)
    assert wasserstein_distance(samples) == pytest.approx(
        stats.wasserstein_distance(a, b), rel=1e-9
    )
