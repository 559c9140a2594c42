"""Our drift verdicts equal Evidently's DataDriftPreset verdicts on the same telco splits.

The golden files were produced by Evidently itself (see bench/drift/make_golden.sh; the
versions are recorded inside each file). Same test per column, same threshold, same
verdict, scores within 1e-9, and the same dataset verdict and drift share.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from refit_trainer.drift.config import DriftConfig
from refit_trainer.drift.engine import TESTED, check_drift

from .telco_splits import SPLITS, load_telco, split

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def telco() -> pd.DataFrame:
    return load_telco()


def _config(stattest: str) -> DriftConfig:
    # Evidently's num_method applies to numerical columns only; ours falls back to the
    # automatic choice on columns a test cannot take, which is the same thing for "ks".
    return DriftConfig(stattest=stattest, min_sample_size=1)


@pytest.mark.parametrize("split_name", sorted(SPLITS))
def test_verdicts_equal_evidentlys(telco: pd.DataFrame, split_name: str) -> None:
    golden = json.loads((GOLDEN / f"evidently_telco_{split_name}.json").read_text())
    assert golden["versions"]["evidently"].startswith("0.7.")
    ref, cur = split(telco, split_name)
    assert (len(ref), len(cur)) == (golden["reference_rows"], golden["current_rows"])

    report = check_drift(ref, cur, _config(golden["stattest"]))
    ours = {f.feature: f for f in report.features}
    assert set(ours) == set(golden["columns"])
    for column, theirs in golden["columns"].items():
        mine = ours[column]
        assert mine.status == TESTED, (column, mine.note)
        assert (mine.kind, mine.stattest, mine.threshold, mine.drifted) == (
            theirs["kind"],
            theirs["stattest"],
            theirs["threshold"],
            theirs["drifted"],
        ), column
        assert mine.score == pytest.approx(theirs["score"], rel=1e-9, abs=1e-12), column
    assert report.dataset_drift == golden["dataset_drift"]
    assert report.drift_share == pytest.approx(golden["drift_share"])
