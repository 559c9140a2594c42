"""Synthetic, seeded reference/current data for the drift benchmark.

numpy only (this module is also imported inside Evidently's virtualenv). A case is
`rows` rows in each of reference and current and `features` columns cycling through ten
column types: continuous floats with and without drift (one with missing values), an
integer count column with many values, string categoricals with and without drift, a
low-cardinality integer column (categorical by Evidently's rules) and a yes/no column.
Drifted columns drift clearly and undrifted ones clearly do not, so that a disagreement
between engines means a difference in the tests, not noise at the threshold.

Columns are stored as .npy arrays per side (categoricals as integer codes plus their
levels) so that every engine's process loads exactly the same values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20240501

# (name, kind, drifted): kind "float", "count", "str" or "int_cat"; see _column.
COLUMN_TYPES: list[tuple[str, str, bool]] = [
    ("normal", "float", False),
    ("normal_shift", "float", True),
    ("lognormal_nan", "float", False),
    ("uniform_wider", "float", True),
    ("count", "count", False),
    ("city", "str", False),
    ("plan", "str", True),
    ("level", "int_cat", True),
    ("yes_no", "str", False),
    ("normal_tiny_shift", "float", False),
]

CITY = [f"city_{i:02d}" for i in range(8)]
PLAN = [f"plan_{i:02d}" for i in range(12)]
YES_NO = ["no", "yes"]


def column_spec(index: int) -> tuple[str, str, bool]:
    name, kind, drifted = COLUMN_TYPES[index % len(COLUMN_TYPES)]
    return f"f{index:02d}_{name}", kind, drifted


def _column(
    rng: np.random.Generator, base: str, rows: int, current: bool
) -> tuple[np.ndarray, list[str] | None]:
    if base == "normal":
        return rng.normal(10.0, 2.0, rows), None
    if base == "normal_shift":
        return rng.normal(10.0 + (1.0 if current else 0.0), 2.0, rows), None
    if base == "lognormal_nan":
        values = rng.lognormal(1.0, 0.5, rows)
        values[rng.random(rows) < 0.01] = np.nan
        return values, None
    if base == "uniform_wider":
        half = 1.6 if current else 1.0
        return rng.uniform(-half, half, rows), None
    if base == "count":
        return rng.poisson(50, rows).astype(np.int64), None
    if base == "city":
        return rng.choice(len(CITY), rows, p=_shares(len(CITY), 0.0)), CITY
    if base == "plan":
        return rng.choice(len(PLAN), rows, p=_shares(len(PLAN), 1.5 if current else 0.0)), PLAN
    if base == "level":
        p = [0.1, 0.2, 0.4, 0.2, 0.1] if not current else [0.3, 0.3, 0.2, 0.1, 0.1]
        return rng.choice(5, rows, p=p).astype(np.int64), None
    if base == "yes_no":
        return (rng.random(rows) < 0.3).astype(np.int64), YES_NO
    if base == "normal_tiny_shift":
        return rng.normal(0.02 if current else 0.0, 1.0, rows), None
    raise KeyError(base)


def _shares(n: int, tilt: float) -> np.ndarray:
    weights = np.exp(tilt * np.linspace(-1.0, 1.0, n)) * np.linspace(1.0, 2.0, n)
    return weights / weights.sum()


def generate(
    directory: Path, rows: int, features: int, seed: int = SEED, current_fraction: float = 1.0
) -> dict[str, Any]:
    """Write the case's arrays under `directory` and return its manifest (also written).
    The reference has `rows` rows, the current data `rows * current_fraction`."""
    directory.mkdir(parents=True, exist_ok=True)
    columns = []
    sizes = {"reference": rows, "current": max(1, round(rows * current_fraction))}
    for index in range(features):
        name, kind, drifted = column_spec(index)
        base = COLUMN_TYPES[index % len(COLUMN_TYPES)][0]
        levels = None
        for side in ("reference", "current"):
            rng = np.random.default_rng([seed, index, side == "current"])
            values, levels = _column(rng, base, sizes[side], side == "current")
            np.save(directory / f"{side}_{index:03d}.npy", values)
        columns.append({"name": name, "kind": kind, "drifted": drifted, "levels": levels})
    manifest = {
        "rows": rows,
        "current_rows": sizes["current"],
        "features": features,
        "seed": seed,
        "columns": columns,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def load_arrays(directory: Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    """The manifest and, per side, one raw array per column (categoricals as codes)."""
    manifest = json.loads((directory / "manifest.json").read_text())
    arrays = {
        side: [np.load(directory / f"{side}_{i:03d}.npy") for i in range(manifest["features"])]
        for side in ("reference", "current")
    }
    return manifest, arrays


def load_frames(directory: Path) -> tuple[Any, Any, dict[str, Any]]:
    """(reference, current) pandas DataFrames as a user would have them: floats, integers,
    and strings (pandas' default string dtype of the running version)."""
    import pandas as pd

    manifest, arrays = load_arrays(directory)
    frames = []
    for side in ("reference", "current"):
        data = {}
        for column, values in zip(manifest["columns"], arrays[side], strict=True):
            if column["levels"] is not None:
                data[column["name"]] = pd.Series(np.asarray(column["levels"], dtype=object)[values])
            else:
                data[column["name"]] = values
        frames.append(pd.DataFrame(data))
    return frames[0], frames[1], manifest
