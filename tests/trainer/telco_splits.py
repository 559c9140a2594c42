"""Named splits of the real telco data into (reference, current) for the drift tests.

Shared by our tests and by bench/drift/evidently_verdicts.py, which runs Evidently on the
very same split in its own virtualenv (pandas 2), so keep this module plain pandas/numpy.
Random splits use numpy's legacy RandomState, whose stream is stable across versions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TELCO = Path(__file__).resolve().parents[2] / "examples" / "data" / "telco_churn.csv.gz"

# name -> (description, options for both engines: stattest for numerical columns)
SPLITS: dict[str, tuple[str, str]] = {
    "contract": ("reference: month-to-month contracts; current: two-year contracts", "auto"),
    "contract_psi": ("the contract split, every column tested with PSI", "psi"),
    "random": ("a seeded random half against the other half", "auto"),
    "random_ks": ("the random split, numerical columns tested with K-S", "ks"),
    "tenure_small": ("800 customers of tenure <= 12 against 800 of tenure > 48", "auto"),
    "random_small": ("two disjoint random samples of 700 customers", "auto"),
}


def load_telco(path: Path = TELCO) -> pd.DataFrame:
    return pd.read_csv(path)


def split(frame: pd.DataFrame, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.RandomState(20240501)
    if name in ("contract", "contract_psi"):
        ref = frame[frame["contract"] == "Month-to-month"]
        cur = frame[frame["contract"] == "Two year"]
    elif name in ("random", "random_ks"):
        order = rng.permutation(len(frame))
        half = len(frame) // 2
        ref, cur = frame.iloc[order[:half]], frame.iloc[order[half:]]
    elif name == "tenure_small":
        short = frame[frame["tenure"] <= 12]
        long = frame[frame["tenure"] > 48]
        ref = short.iloc[rng.permutation(len(short))[:800]]
        cur = long.iloc[rng.permutation(len(long))[:800]]
    elif name == "random_small":
        order = rng.permutation(len(frame))
        ref, cur = frame.iloc[order[:700]], frame.iloc[order[700:1400]]
    else:
        raise KeyError(name)
    return ref.reset_index(drop=True), cur.reset_index(drop=True)
