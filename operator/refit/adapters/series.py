"""Labelled Prometheus metrics whose series are plain values in one dict per metric.

prometheus_client gives every label set an object of its own (the metric, a value and two
locks, about 0.6 KB; a histogram one value per bucket). Refit declares about 20 series per
pipeline, so at 1000 pipelines that was 12 MB of the operator's memory. Here a series is a
float (a list for a histogram) under its label tuple, exposed through prometheus_client's
custom-collector interface at scrape time, with the same names and exposition as before.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LabelValues = tuple[str, ...]


class _Family(Collector):
    """One metric: its series by label values, under one lock (passes run in threads)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name, self.documentation, self.labelnames = name, documentation, tuple(labelnames)
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def _key(self, values: Iterable[object]) -> LabelValues:
        key = tuple(str(v) for v in values)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {key}")
        return key

    def remove(self, *values: object) -> None:
        """Forget one series, if it exists (as prometheus_client)."""
        key = self._key(values)
        with self._lock:
            self._series().pop(key, None)

    def remove_matching(self, prefix: Sequence[str]) -> None:
        """Forget every series whose first label values are `prefix`."""
        prefix = tuple(prefix)
        with self._lock:
            series = self._series()
            for key in [k for k in series if k[: len(prefix)] == prefix]:
                del series[key]

    def _series(self) -> dict[LabelValues, Any]:
        raise NotImplementedError

    def describe(self) -> Iterable[Metric]:
        return []  # no fixed series: the registry asks collect() when it needs names


class _Series:
    """One label set of a Counter or Gauge."""

    __slots__ = ("_family", "_key")

    def __init__(self, family: _ValueFamily, key: LabelValues) -> None:
        self._family, self._key = family, key

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0 and isinstance(self._family, Counter):
            raise ValueError("counters only go up")
        family = self._family
        with family._lock:
            family._values[self._key] = family._values.get(self._key, 0.0) + amount

    def set(self, value: float) -> None:
        if isinstance(self._family, Counter):
            raise TypeError("a counter cannot be set")
        with self._family._lock:
            self._family._values[self._key] = float(value)


class _ValueFamily(_Family):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._values: dict[LabelValues, float] = {}
        super().__init__(*args, **kwargs)

    def _series(self) -> dict[LabelValues, Any]:
        return self._values

    def labels(self, *values: object) -> _Series:
        """The series for these label values; created at 0 (so it is exported) if new."""
        key = self._key(values)
        with self._lock:
            self._values.setdefault(key, 0.0)
        return _Series(self, key)

    def inc(self, amount: float = 1.0) -> None:
        """For a metric without labels."""
        self.labels().inc(amount)

    def set(self, value: float) -> None:
        """For a metric without labels."""
        self.labels().set(value)

    def value(self, *values: object) -> float | None:
        with self._lock:
            return self._values.get(self._key(values))

    _exposed_as: type[CounterMetricFamily | GaugeMetricFamily]

    def collect(self) -> Iterator[Metric]:
        family = self._exposed_as(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            values = list(self._values.items())
        for key, value in values:
            family.add_metric(key, value)
        yield family


class Counter(_ValueFamily):
    _exposed_as = CounterMetricFamily


class Gauge(_ValueFamily):
    _exposed_as = GaugeMetricFamily


class _Observation:
    __slots__ = ("_family", "_key")

    def __init__(self, family: Histogram, key: LabelValues) -> None:
        self._family, self._key = family, key

    def observe(self, value: float) -> None:
        family = self._family
        # counts per bucket (not cumulative), then +Inf, then the sum
        index = next((i for i, b in enumerate(family.buckets) if value <= b), len(family.buckets))
        with family._lock:
            cells = family._cells.setdefault(self._key, [0.0] * (len(family.buckets) + 2))
            cells[index] += 1
            cells[-1] += value


class Histogram(_Family):
    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = (),
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not buckets or list(buckets) != sorted(buckets) or math.inf in buckets:
            raise ValueError(f"{name}: buckets must be finite and ascending")
        self.buckets = tuple(float(b) for b in buckets)
        self._cells: dict[LabelValues, list[float]] = {}
        super().__init__(name, documentation, labelnames, registry)

    def _series(self) -> dict[LabelValues, Any]:
        return self._cells

    def labels(self, *values: object) -> _Observation:
        return _Observation(self, self._key(values))

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            snapshot = [(key, list(cells)) for key, cells in self._cells.items()]
        for key, cells in snapshot:
            cumulative, buckets = 0.0, []
            for bound, count in zip((*self.buckets, math.inf), cells[:-1], strict=True):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))  # type: ignore[no-untyped-call]
            family.add_metric(key, buckets, sum_value=cells[-1])
        yield family
