"""Recipes as pure functions: no leakage past the cutoff, honest splits, clear bad data."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from refit_trainer.data_io import Table, read_table
from refit_trainer.errors import BadDataError
from refit_trainer.recipes import TrainInputs, get_recipe
from refit_trainer.recipes.daily_sales import FEATURES, daily_revenue, features

from .jobs import CDNOW, TELCO

CUTOFF = datetime(1997, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def cdnow() -> Table:
    return read_table(str(CDNOW))


@pytest.fixture(scope="module")
def telco() -> Table:
    return read_table(str(TELCO))


def _with_frame(table: Table, frame: pd.DataFrame) -> Table:
    return Table(uri=table.uri, frame=frame, sha256="x", n_bytes=0)


def test_daily_sales_ignores_everything_from_the_cutoff_on(cdnow: Table) -> None:
    recipe = get_recipe("daily-sales")
    honest = recipe.train(TrainInputs(cdnow, None, CUTOFF, 0))
    # Rewrite the future: huge purchases on and after the cutoff day.
    future = pd.to_datetime(cdnow.frame["date"]) >= "1997-10-01"
    tampered = cdnow.frame.assign(dollar_value=np.where(future, 1e9, cdnow.frame["dollar_value"]))
    cheated = recipe.train(TrainInputs(_with_frame(cdnow, tampered), None, CUTOFF, 0))
    assert cheated.metrics == honest.metrics
    assert honest.tags["refit.data.train.last_day"] == "1997-09-30"
    assert honest.tags["refit.data.train.rows_used"] == str(int((~future).sum()))


def test_daily_features_only_look_back() -> None:
    days = pd.date_range("2024-01-01", periods=80, freq="D")
    revenue = pd.Series(np.arange(80, dtype=float), index=days)
    frame = features(revenue)
    assert set(FEATURES) <= set(frame.columns)
    row = frame.loc["2024-03-01"]  # day 60
    assert row["lag_1"] == 59 and row["lag_28"] == 32
    assert row["mean_7"] == pytest.approx(np.mean(np.arange(53, 60)))


def test_daily_revenue_fills_quiet_days_with_zero() -> None:
    frame = pd.DataFrame({"date": ["2024-01-01", "2024-01-03"], "dollar_value": [5.0, 7.0]})
    revenue = daily_revenue(frame, None, "mem")
    assert revenue.tolist() == [5.0, 0.0, 7.0]


def test_daily_sales_holdout_is_the_last_days_in_order(cdnow: Table) -> None:
    valid = get_recipe("daily-sales").validation_set(TrainInputs(cdnow, None, CUTOFF, 0))
    assert valid.tags["refit.data.validation.last_day"] == "1997-09-30"
    assert valid.tags["refit.data.validation.first_day"] == "1997-09-03"


def test_churn_split_is_seeded_and_stratified(telco: Table) -> None:
    recipe = get_recipe("churn")
    a = recipe.validation_set(TrainInputs(telco, None, None, 7))
    b = recipe.validation_set(TrainInputs(telco, None, None, 7))
    assert a.features.equals(b.features)
    overall = (telco.frame["churn"] == "Yes").mean()
    assert np.mean(a.target) == pytest.approx(overall, abs=0.005)
    assert len(a.target) == pytest.approx(0.2 * telco.rows, abs=1)


def test_churn_uses_the_validation_file_when_given(telco: Table) -> None:
    validation = _with_frame(telco, telco.frame.iloc[:500])
    trained = get_recipe("churn").train(TrainInputs(telco, validation, None, 0))
    assert trained.params["validation"] == "file"
    assert 0.75 < trained.metrics["roc_auc"] < 1


def test_churn_validation_with_a_single_class_is_bad_data(telco: Table) -> None:
    only_stayers = _with_frame(telco, telco.frame[telco.frame["churn"] == "No"])
    with pytest.raises(BadDataError, match="single class"):
        get_recipe("churn").train(TrainInputs(telco, only_stayers, None, 0))


def test_churn_rejects_unknown_labels(telco: Table) -> None:
    odd = _with_frame(telco, telco.frame.assign(churn="maybe"))
    with pytest.raises(BadDataError, match="unexpected churn label"):
        get_recipe("churn").train(TrainInputs(odd, None, None, 0))
