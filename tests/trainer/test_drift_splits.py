"""Drift that is really there is found on the expected features; a random split is quiet."""

from __future__ import annotations

import pandas as pd
import pytest

from refit_trainer.drift.config import DriftConfig
from refit_trainer.drift.engine import check_drift

from .telco_splits import load_telco, split


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    return load_telco()


def test_month_to_month_vs_two_year_contracts_drift(telco: pd.DataFrame) -> None:
    report = check_drift(*split(telco, "contract"), DriftConfig())
    drifted = set(report.drifted_features)
    # Long contracts mean long tenure, more add-on services, fewer electronic checks, less
    # churn: the features a person would name are the ones flagged.
    assert {"contract", "tenure", "total_charges", "churn", "payment_method"} <= drifted
    assert {"online_security", "tech_support"} <= drifted
    # Gender and phone service do not depend on the contract type.
    assert "female" not in drifted
    assert "phone_service" not in drifted
    assert report.dataset_drift


def test_short_vs_long_tenure_small_samples_drift(telco: pd.DataFrame) -> None:
    report = check_drift(*split(telco, "tenure_small"), DriftConfig())
    by_name = {f.feature: f for f in report.features}
    assert by_name["tenure"].stattest == "ks" and by_name["tenure"].drifted
    assert by_name["contract"].stattest == "chisquare" and by_name["contract"].drifted
    assert by_name["churn"].stattest == "ztest" and by_name["churn"].drifted
    assert report.dataset_drift


def test_random_split_is_not_drifted(telco: pd.DataFrame) -> None:
    report = check_drift(*split(telco, "random"), DriftConfig())
    assert report.drifted_features == []
    assert not report.dataset_drift


def test_drift_share_threshold_decides_the_dataset_verdict(telco: pd.DataFrame) -> None:
    ref, cur = split(telco, "random_small")
    report = check_drift(ref, cur, DriftConfig())
    share = report.drift_share
    assert 0 < share < 0.5 and not report.dataset_drift
    assert check_drift(ref, cur, DriftConfig(drift_share=share)).dataset_drift


def test_per_test_threshold_override(telco: pd.DataFrame) -> None:
    ref, cur = split(telco, "contract")
    loose = check_drift(ref, cur, DriftConfig(thresholds={"wasserstein": 5.0}))
    by_name = {f.feature: f for f in loose.features}
    assert by_name["tenure"].threshold == 5.0
    assert not by_name["tenure"].drifted
    assert by_name["contract"].drifted  # jensenshannon keeps its default 0.1
