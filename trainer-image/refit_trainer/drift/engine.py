"""Per-feature drift results and the dataset verdict. Pure: DataFrames in, a report out.

Every feature ends with an explicit status, never an exception:
- `tested`: a test ran; `drifted` says whether its score crossed the threshold.
- `type_mismatch`: numerical in the reference but not in the current data (counted as drift:
  a schema change is a change).
- `insufficient_data` / `no_values`: fewer non-missing values than `minSampleSize`.
- `undefined`: the test has no answer for this column (e.g. z-test on > 2 values).
- `skipped`: text, datetime or unknown columns, which this engine does not test.
The dataset drifts when drifted / (tested + type_mismatch) >= driftShare.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

from refit_trainer.drift import selection
from refit_trainer.drift.config import AUTO, DriftConfig
from refit_trainer.drift.kinds import TESTABLE, Kind, infer_kind
from refit_trainer.drift.samples import CategoricalSamples, NumericSamples, Samples, value_counts
from refit_trainer.drift.stattests import registry
from refit_trainer.errors import BadDataError

TESTED = "tested"
TYPE_MISMATCH = "type_mismatch"
INSUFFICIENT = "insufficient_data"
NO_VALUES = "no_values"
UNDEFINED = "undefined"
SKIPPED = "skipped"
_COUNTED = (TESTED, TYPE_MISMATCH)


@dataclasses.dataclass(frozen=True)
class FeatureResult:
    feature: str
    kind: str
    status: str
    drifted: bool
    stattest: str | None = None
    statistic: float | None = None
    score: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    n_reference: int = 0
    n_current: int = 0
    missing_reference: int = 0
    missing_current: int = 0
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: _json_number(v) for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass(frozen=True)
class DriftReport:
    features: tuple[FeatureResult, ...]
    config: DriftConfig
    reference_rows: int
    current_rows: int

    @property
    def counted(self) -> list[FeatureResult]:
        return [f for f in self.features if f.status in _COUNTED]

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def drift_share(self) -> float:
        counted = self.counted
        return sum(f.drifted for f in counted) / len(counted) if counted else 0.0

    @property
    def dataset_drift(self) -> bool:
        return bool(self.counted) and self.drift_share >= self.config.drift_share

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": "refit.dev/drift-report/v1",
            "config": self.config.as_dict(),
            "dataset": {
                "dataset_drift": self.dataset_drift,
                "drift_share": self.drift_share,
                "drift_share_threshold": self.config.drift_share,
                "n_features": len(self.features),
                "n_tested": len(self.counted),
                "n_drifted": len(self.drifted_features),
                "drifted_features": self.drifted_features,
                "reference_rows": self.reference_rows,
                "current_rows": self.current_rows,
                "status": "ok" if self.counted else INSUFFICIENT,
            },
            "features": [f.as_dict() for f in self.features],
        }


def check_drift(reference: pd.DataFrame, current: pd.DataFrame, config: DriftConfig) -> DriftReport:
    if reference.empty:
        raise BadDataError("reference data has no rows")
    if current.empty:
        raise BadDataError("current data has no rows")
    features = _features(reference, current, config)
    results = tuple(
        check_feature(name, reference[name], current[name], config) for name in features
    )
    return DriftReport(
        features=results, config=config, reference_rows=len(reference), current_rows=len(current)
    )


def _features(reference: pd.DataFrame, current: pd.DataFrame, config: DriftConfig) -> list[str]:
    if config.features is None:
        return [str(c) for c in reference.columns if c in current.columns]
    missing = [
        f"{name} ({'reference' if name not in reference.columns else 'current'})"
        for name in config.features
        if name not in reference.columns or name not in current.columns
    ]
    if missing:
        raise BadDataError(f"drift feature(s) not in the data: {', '.join(missing)}")
    return list(config.features)


def check_feature(
    name: str, reference: pd.Series, current: pd.Series, config: DriftConfig
) -> FeatureResult:
    # Strings and integers are hashed to count their values; do it once for kind and counts.
    counts = value_counts(reference) if _hashed(reference) else None
    kind = config.column_types.get(name) or infer_kind(reference, counts)
    if kind not in TESTABLE:
        return FeatureResult(name, str(kind), SKIPPED, False, note=f"{kind} columns are not tested")

    if kind is Kind.NUMERICAL and not _numeric(current):
        return FeatureResult(
            name,
            str(kind),
            TYPE_MISMATCH,
            True,
            note=f"numerical in reference but {current.dtype} in current",
        )
    samples, missing_ref, missing_cur = _prepare(kind, reference, current, counts)
    base = {
        "feature": name,
        "kind": str(kind),
        "n_reference": samples.n_reference,
        "n_current": samples.n_current,
        "missing_reference": missing_ref,
        "missing_current": missing_cur,
    }
    if samples.n_reference == 0 or samples.n_current == 0:
        side = "reference" if samples.n_reference == 0 else "current"
        return FeatureResult(
            **base, status=NO_VALUES, drifted=False, note=f"no non-missing values in {side}"
        )
    smallest = min(samples.n_reference, samples.n_current)
    if smallest < config.min_sample_size:
        return FeatureResult(
            **base,
            status=INSUFFICIENT,
            drifted=False,
            note=f"{smallest} non-missing values < minSampleSize {config.min_sample_size}",
        )

    test, note = _choose_test(samples, config.stattest_for(name))
    threshold = config.threshold_for(test)
    outcome = test.compute(samples)
    note = "; ".join(n for n in (note, outcome.note) if n) or None
    status = UNDEFINED if math.isnan(outcome.score) else TESTED
    return FeatureResult(
        **base,
        status=status,
        drifted=test.drifted(outcome.score, threshold),
        stattest=test.name,
        statistic=outcome.statistic,
        score=outcome.score,
        p_value=outcome.p_value,
        threshold=threshold,
        note=note,
    )


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype
    )


def _hashed(column: pd.Series) -> bool:
    dtype = column.dtype
    return not pd.api.types.is_bool_dtype(dtype) and (
        pd.api.types.is_integer_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    )


def _prepare(
    kind: Kind, reference: pd.Series, current: pd.Series, reference_counts: pd.Series | None
) -> tuple[Samples, int, int]:
    if kind is Kind.NUMERICAL and _numeric(reference):
        ref, missing_ref = _finite(reference)
        cur, missing_cur = _finite(current)
        integer = pd.api.types.is_integer_dtype(reference.dtype) and pd.api.types.is_integer_dtype(
            current.dtype
        )
        return NumericSamples(ref, cur, integer=integer), missing_ref, missing_cur
    samples = CategoricalSamples(reference, current, reference_counts)
    # Counts leave out missing values, so what they do not cover is missing.
    return samples, len(reference) - samples.n_reference, len(current) - samples.n_current


def _finite(column: pd.Series) -> tuple[np.ndarray, int]:
    """Finite values as float64 and how many were missing or infinite."""
    if isinstance(column.dtype, np.dtype):
        values = column.to_numpy(dtype=np.float64)  # plain numpy: NaN already marks missing
        if column.dtype.kind in "iu":
            return values, 0  # plain integers have no missing or infinite values
    else:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable: NA -> NaN
    finite = np.isfinite(values)
    missing = int(finite.size - np.count_nonzero(finite))
    return (values[finite] if missing else values), missing


def _choose_test(samples: Samples, name: str) -> tuple[registry.StatTest, str | None]:
    if name == AUTO:
        return registry.get(selection.auto_stattest(samples)), None
    test = registry.get(name)
    if samples.kind in test.kinds:
        return test, None
    # A pipeline-wide choice like "ks" cannot apply to a categorical column; use the
    # automatic choice there rather than failing the whole check.
    fallback = registry.get(selection.auto_stattest(samples))
    return fallback, f"{test.name} does not apply to {samples.kind} columns; used {fallback.name}"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
