"""Churn with drift: a check on undrifted data creates no run; on drifted data it sets
DriftDetected=True naming the features and creates exactly one Drift run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from operator_harness import DATA, OperatorProcess, Refit, pipeline_body, wait_for

FEATURES = [
    "contract",
    "tenure",
    "monthly_charges",
    "internet_service",
    "payment_method",
    "total_charges",
]


def splits(tmp: Path) -> tuple[Path, Path, Path]:
    """Reference and an undrifted current batch from a random split; a drifted batch of only
    two-year-contract customers (long tenure, other payment methods)."""
    data = pd.read_csv(DATA / "telco_churn.csv.gz")
    reference = data.sample(frac=0.5, random_state=7)
    rest = data.drop(reference.index)
    drifted = data[data["contract"] == "Two year"]
    paths = tmp / "reference.csv", tmp / "current-same.csv", tmp / "current-drifted.csv"
    for frame, path in zip((reference, rest, drifted), paths, strict=True):
        frame.to_csv(path, index=False)
    return paths


def last_check(refit: Refit, name: str) -> dict | None:  # type: ignore[type-arg]
    check = (refit.pipeline(name).get("status") or {}).get("lastDriftCheck") or {}
    return check if check.get("result") not in (None, "Pending") else None


def test_drift_check_creates_one_drift_run_only_when_the_data_drifted(
    refit: Refit, operator_process: OperatorProcess, tmp_path: Path
) -> None:
    reference, same, drifted = splits(tmp_path)
    body = pipeline_body(
        "churn",
        recipe="churn",
        train=DATA / "telco_churn.csv.gz",
        metric="roc_auc",
        direction="maximize",
        triggers={
            "drift": {
                "checkSchedule": "* * * * *",
                "referenceData": f"file://{reference}",
                "features": FEATURES,
                "driftShare": 0.5,
                "minSampleSize": 100,
                "cooldown": "1h",
            }
        },
    )
    body["spec"]["data"]["current"] = f"file://{same}"
    refit.apply_pipeline(body)

    check = wait_for("first drift check", lambda: last_check(refit, "churn"), timeout=200)
    assert check["result"] == "NoDrift", check
    assert check["datasetDrift"] is False
    cond = refit.condition(refit.pipeline("churn"), "DriftDetected")
    assert cond is not None and cond["status"] == "False"
    assert refit.runs() == []

    refit.patch_pipeline("churn", {"spec": {"data": {"current": f"file://{drifted}"}}})
    first_time = check["time"]
    check = wait_for(
        "a drift check on the drifted data",
        lambda: (c := last_check(refit, "churn")) and c["time"] != first_time and c,
        timeout=200,
    )
    assert check["result"] == "Drift", check
    assert {"contract", "tenure"} <= set(check["driftedFeatures"])
    cond = refit.condition(refit.pipeline("churn"), "DriftDetected")
    assert cond is not None and cond["status"] == "True" and "contract" in cond["message"]

    runs = wait_for("the drift run", refit.runs, timeout=60)
    assert len(runs) == 1 and runs[0]["spec"]["trigger"]["type"] == "Drift"
    name = runs[0]["metadata"]["name"]
    run = wait_for("drift run to finish", lambda: refit.terminal_run(name), timeout=400)
    assert run["status"]["phase"] == "Promoted", run["status"]  # first model: no champion yet
    assert "roc_auc" in run["status"]["candidate"]["metrics"]

    # The next check drifts again but the 1h cooldown holds: still exactly one Drift run.
    third_time = check["time"]
    wait_for(
        "another check",
        lambda: (c := last_check(refit, "churn")) and c["time"] != third_time and c,
        timeout=200,
    )
    assert len(refit.runs()) == 1
