"""One engine on one case, in a process of its own, so that its peak memory is its own.

    python -m bench.drift.worker ENGINE CASE_DIR REPEATS   # prints one JSON object

ENGINE is `refit` (our drift engine), `evidently` (DataDriftPreset; run with the Python of
Evidently's virtualenv), `scipy` (plain per-column scipy, the same tests chosen the plain
way) or `sort` (np.sort of every column of both samples: the floor). Only the engine call is
timed: loading the case and building the DataFrames is not, and a first call on the
first 2,000 rows (imports, caches) is not either. Verdicts are reported per feature as
{stattest, score, drifted}.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import max_rss_bytes, rss_bytes
from bench.drift.data import load_arrays, load_frames

Verdicts = dict[str, dict[str, Any]]
Call = Callable[[Any, Any], Verdicts]
WARM_UP_ROWS = 2000

# Evidently's display names of its tests, to our registry names.
EVIDENTLY_NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "ztest",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}


def run_refit(case: Path) -> tuple[Call, Any, Any]:
    from refit_trainer.drift.config import DriftConfig
    from refit_trainer.drift.engine import check_drift

    reference, current, _ = load_frames(case)

    def call(reference: Any, current: Any) -> Verdicts:
        report = check_drift(reference, current, DriftConfig())
        return {
            f.feature: {"stattest": f.stattest, "score": f.score, "drifted": f.drifted}
            for f in report.features
        }

    return call, reference, current


def run_evidently(case: Path) -> tuple[Call, Any, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.core.datasets import infer_column_type
    from evidently.presets import DataDriftPreset

    reference, current, _ = load_frames(case)

    def call(reference: Any, current: Any) -> Verdicts:
        # As bench/drift/evidently_verdicts.py: Evidently infers the types once, on the
        # reference, and both datasets get them (each would otherwise infer its own).
        kinds = {c: infer_column_type(reference[c]).value for c in reference.columns}
        definition = DataDefinition(
            numerical_columns=[c for c, k in kinds.items() if k == "num"],
            categorical_columns=[c for c, k in kinds.items() if k == "cat"],
        )
        report = Report([DataDriftPreset()], include_tests=True)
        snapshot = report.run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        ).dict()
        metrics = {m["id"]: m for m in snapshot["metrics"]}
        verdicts: Verdicts = {}
        for test in snapshot["tests"]:
            metric = metrics[test["metric_config"]["metric_id"]]
            config = metric["config"]
            if config["type"].endswith("ValueDrift"):
                verdicts[config["column"]] = {
                    "stattest": EVIDENTLY_NAMES.get(config["method"], config["method"]),
                    "score": metric["value"],
                    "drifted": test["status"] == "FAIL",
                }
        return verdicts

    return call, reference, current


def run_scipy(case: Path) -> tuple[Call, Any, Any]:
    """The textbook way: per column, pandas to pick the test, scipy to compute it."""
    import numpy as np
    import pandas as pd
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import wasserstein_distance

    reference, current, _ = load_frames(case)

    def shares(ref: pd.Series, cur: pd.Series, numerical: bool) -> tuple[Any, Any]:
        if numerical and ref.nunique() > 20:
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
            return np.histogram(ref, edges)[0] / len(ref), np.histogram(cur, edges)[0] / len(cur)
        rc, cc = ref.value_counts(), cur.value_counts()
        keys = rc.index.union(cc.index)
        return (
            rc.reindex(keys, fill_value=0).to_numpy() / len(ref),
            cc.reindex(keys, fill_value=0).to_numpy() / len(cur),
        )

    def call(reference: Any, current: Any) -> Verdicts:
        verdicts: Verdicts = {}
        for name in reference.columns:
            ref, cur = reference[name].dropna(), current[name].dropna()
            dtype = reference[name].dtype
            numerical = pd.api.types.is_float_dtype(dtype) or (
                pd.api.types.is_integer_dtype(dtype) and reference[name].nunique() > 10
            )
            distinct = pd.concat([ref, cur]).nunique()
            if numerical and distinct > 5:
                a, b = ref.to_numpy(float), cur.to_numpy(float)
                score = wasserstein_distance(a, b) / max(float(np.std(a)), 0.001)
                test = "wasserstein"
            else:
                score = float(jensenshannon(*shares(ref, cur, numerical)))
                test = "jensenshannon"
            verdicts[name] = {
                "stattest": test,
                "score": float(score),
                "drifted": bool(score >= 0.1),
            }
        return verdicts

    return call, reference, current


def run_sort(case: Path) -> tuple[Call, Any, Any]:
    import numpy as np

    _, arrays = load_arrays(case)

    def call(reference: Any, current: Any) -> Verdicts:
        for values in (*reference, *current):
            np.sort(values)
        return {}

    return call, arrays["reference"], arrays["current"]


def _head(data: Any, rows: int) -> Any:
    return [a[:rows] for a in data] if isinstance(data, list) else data.head(rows)


ENGINES = {"refit": run_refit, "evidently": run_evidently, "scipy": run_scipy, "sort": run_sort}


def main(argv: list[str]) -> None:
    engine, case, repeats = argv[0], Path(argv[1]), int(argv[2])
    call, reference, current = ENGINES[engine](case)
    call(_head(reference, WARM_UP_ROWS), _head(current, WARM_UP_ROWS))
    gc.collect()
    rss_loaded = rss_bytes()
    walls, cpus = [], []
    verdicts: Verdicts = {}
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        verdicts = call(reference, current)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    result = {
        "engine": engine,
        "wall_s": walls,
        "cpu_s": cpus,
        "rss_loaded_bytes": rss_loaded,
        "peak_rss_bytes": max_rss_bytes(),
        "verdicts": verdicts,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
