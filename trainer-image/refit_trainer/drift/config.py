"""Options of a drift check, from the JSON in REFIT_DRIFT_CONFIG (camelCase, as in the CRD).

    {"features": ["tenure", "contract"],      # default: every column both tables share
     "stattest": "auto",                       # or ks|chisquare|ztest|wasserstein|jensenshannon|psi
     "featureStattests": {"tenure": "ks"},     # per-feature override of stattest
     "thresholds": {"wasserstein": 0.2},       # per-test overrides of the default thresholds
     "driftShare": 0.5,                        # dataset drifts when drifted/tested >= this
     "minSampleSize": 30,                      # fewer non-missing values: feature not tested
     "columnTypes": {"zip": "categorical"}}    # override the inferred numerical/categorical

Unknown keys are refused, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.stattests import registry
from refit_trainer.errors import UsageError

DEFAULT_DRIFT_SHARE = 0.5
DEFAULT_MIN_SAMPLE_SIZE = 30
AUTO = "auto"


@dataclasses.dataclass(frozen=True)
class DriftConfig:
    features: tuple[str, ...] | None = None
    stattest: str = AUTO
    feature_stattests: Mapping[str, str] = dataclasses.field(default_factory=dict)
    thresholds: Mapping[str, float] = dataclasses.field(default_factory=dict)
    drift_share: float = DEFAULT_DRIFT_SHARE
    min_sample_size: int = DEFAULT_MIN_SAMPLE_SIZE
    column_types: Mapping[str, Kind] = dataclasses.field(default_factory=dict)

    def stattest_for(self, feature: str) -> str:
        return self.feature_stattests.get(feature, self.stattest)

    def threshold_for(self, test: registry.StatTest) -> float:
        return self.thresholds.get(test.name, test.default_threshold)

    def as_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features) if self.features is not None else None,
            "stattest": self.stattest,
            "featureStattests": dict(self.feature_stattests),
            "thresholds": dict(self.thresholds),
            "driftShare": self.drift_share,
            "minSampleSize": self.min_sample_size,
            "columnTypes": {k: str(v) for k, v in self.column_types.items()},
        }


_KEYS = {
    "features",
    "stattest",
    "featureStattests",
    "thresholds",
    "driftShare",
    "minSampleSize",
    "columnTypes",
}


def parse_config(text: str | None) -> DriftConfig:
    if not text:
        return DriftConfig()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"REFIT_DRIFT_CONFIG is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise UsageError("REFIT_DRIFT_CONFIG must be a JSON object")
    return config_from_mapping(raw)


def config_from_mapping(raw: Mapping[str, Any]) -> DriftConfig:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise UsageError(f"unknown drift option(s): {', '.join(unknown)}; known: {sorted(_KEYS)}")

    features = raw.get("features")
    if features is not None and (
        not isinstance(features, list) or not all(isinstance(f, str) for f in features)
    ):
        raise UsageError("drift option features must be a list of column names")

    stattest = raw.get("stattest") or AUTO
    if stattest != AUTO:
        stattest = _known_test(stattest)

    feature_stattests: dict[str, str] = {}
    for feature, name in (raw.get("featureStattests") or {}).items():
        feature_stattests[str(feature)] = AUTO if name == AUTO else _known_test(name)

    thresholds: dict[str, float] = {}
    for name, value in (raw.get("thresholds") or {}).items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise UsageError(f"drift threshold for {name!r} must be a non-negative number")
        thresholds[_known_test(name)] = float(value)

    share = raw.get("driftShare", DEFAULT_DRIFT_SHARE)
    if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share <= 1:
        raise UsageError("drift option driftShare must be a number in (0, 1]")

    min_size = raw.get("minSampleSize", DEFAULT_MIN_SAMPLE_SIZE)
    if not isinstance(min_size, int) or isinstance(min_size, bool) or min_size < 1:
        raise UsageError("drift option minSampleSize must be an integer >= 1")

    column_types: dict[str, Kind] = {}
    for column, kind in (raw.get("columnTypes") or {}).items():
        if kind not in (Kind.NUMERICAL, Kind.CATEGORICAL):
            raise UsageError(f"columnTypes[{column!r}] must be 'numerical' or 'categorical'")
        column_types[column] = Kind(kind)

    return DriftConfig(
        features=tuple(features) if features is not None else None,
        stattest=stattest,
        feature_stattests=feature_stattests,
        thresholds=thresholds,
        drift_share=float(share),
        min_sample_size=min_size,
        column_types=column_types,
    )


def _known_test(name: object) -> str:
    if not isinstance(name, str):
        raise UsageError(f"stattest must be a name, got {name!r}")
    try:
        return registry.get(name).name
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
