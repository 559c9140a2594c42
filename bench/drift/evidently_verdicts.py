"""Run Evidently's DataDriftPreset on a named telco split and write its per-column verdicts.

Evidently 0.7 cannot live in Refit's environment (it pins pandas 2), so this script runs in
its own virtualenv; see bench/drift/make_golden.sh, which creates it and regenerates the
golden files under tests/trainer/golden/. The output is what tests/trainer compares with.

    python bench/drift/evidently_verdicts.py OUT_DIR [SPLIT ...]   # default: every split

writes OUT_DIR/evidently_telco_<SPLIT>.json.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "trainer"))

from telco_splits import SPLITS, load_telco, split  # noqa: E402

# Evidently reports its tests by display name; the golden file uses our registry names.
DISPLAY_TO_NAME = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "ztest",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def evidently_verdicts(split_name: str) -> dict:
    from evidently import DataDefinition, Dataset, Report
    from evidently.core.datasets import infer_column_type
    from evidently.presets import DataDriftPreset

    description, numerical_test = SPLITS[split_name]
    reference, current = split(load_telco(), split_name)
    # Types are inferred once, on the reference, with Evidently's own rules, and given to
    # both datasets: otherwise each dataset infers its own and they can disagree.
    kinds = {c: infer_column_type(reference[c]).value for c in reference.columns}
    definition = DataDefinition(
        numerical_columns=[c for c, k in kinds.items() if k == "num"],
        categorical_columns=[c for c, k in kinds.items() if k == "cat"],
    )
    options: dict = {}
    if numerical_test == "psi":
        options["method"] = "psi"
    elif numerical_test != "auto":
        options["num_method"] = numerical_test
    report = Report([DataDriftPreset(**options)], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    ).dict()

    metrics = {m["id"]: m for m in snapshot["metrics"]}
    columns: dict[str, dict] = {}
    share = None
    for test in snapshot["tests"]:
        metric = metrics[test["metric_config"]["metric_id"]]
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            columns[config["column"]] = {
                "kind": {"num": "numerical", "cat": "categorical"}[kinds[config["column"]]],
                "stattest": DISPLAY_TO_NAME.get(config["method"], config["method"]),
                "threshold": config["threshold"],
                "score": metric["value"],
                "drifted": test["status"] == "FAIL",
            }
        elif config["type"].endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
            dataset_drift = test["status"] == "FAIL"
    return {
        "split": split_name,
        "description": description,
        "stattest": numerical_test,
        "reference_rows": len(reference),
        "current_rows": len(current),
        "versions": {p: version(p) for p in ("evidently", "pandas", "numpy", "scipy")},
        "drift_share": share,
        "dataset_drift": dataset_drift,
        "columns": columns,
    }


def main() -> None:
    out_dir = Path(sys.argv[1])
    for split_name in sys.argv[2:] or list(SPLITS):
        out = out_dir / f"evidently_telco_{split_name}.json"
        out.write_text(json.dumps(evidently_verdicts(split_name), indent=1, sort_keys=True) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
