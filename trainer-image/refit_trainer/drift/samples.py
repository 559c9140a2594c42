"""One column of reference and current data, prepared once and shared by every test.

Numerical columns are sorted once; the two-sample KS statistic, the Wasserstein distance,
histograms and distinct-value counts all come from those sorted arrays (a linear merge,
cumulative counts, `searchsorted` of bin edges, run lengths) instead of each test sorting
again.
Categorical columns are reduced to aligned count vectors over the union of categories.
Missing and infinite values are dropped first, as Evidently does, and counted.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np
import pandas as pd

from refit_trainer.drift.kinds import Kind


@dataclasses.dataclass(frozen=True)
class Counts:
    """Counts of each category (or distinct numeric value) in reference and current."""

    keys: np.ndarray
    reference: np.ndarray
    current: np.ndarray

    @property
    def unseen_in_reference(self) -> np.ndarray:
        return self.keys[(self.reference == 0) & (self.current > 0)]


class Samples:
    """Cleaned values of one feature; subclasses know how to count and bin them."""

    kind: Kind
    n_reference: int
    n_current: int

    def distinct_count(self, cap: int) -> int:
        """Distinct values of reference and current together, exact up to `cap` (else > cap)."""
        raise NotImplementedError

    def reference_distinct_count(self) -> int:
        raise NotImplementedError

    @property
    def counts(self) -> Counts:
        raise NotImplementedError

    def binned_shares(self) -> tuple[np.ndarray, np.ndarray]:
        """Shares per bin of reference and current, binned as Evidently's PSI/JS bin them."""
        raise NotImplementedError


class NumericSamples(Samples):
    kind = Kind.NUMERICAL

    def __init__(self, reference: np.ndarray, current: np.ndarray, *, integer: bool) -> None:
        # Callers pass finite values only; sorting here is the single sort per column.
        self.reference = np.sort(reference)
        self.current = np.sort(current)
        self.n_reference = int(self.reference.size)
        self.n_current = int(self.current.size)
        # Integer columns get integer-width histogram bins (numpy's rule for int data).
        self.integer = integer

    # --- distinct values, from run lengths of the sorted arrays -------------------------
    @cached_property
    def _reference_runs(self) -> tuple[np.ndarray, np.ndarray]:
        return _runs(self.reference)

    @cached_property
    def _current_runs(self) -> tuple[np.ndarray, np.ndarray]:
        return _runs(self.current)

    @cached_property
    def _distinct_counts(self) -> tuple[int, int]:
        return _distinct(self.reference), _distinct(self.current)

    def reference_distinct_count(self) -> int:
        return self._distinct_counts[0]

    def distinct_count(self, cap: int) -> int:
        # Counting value changes is one pass; the runs themselves are only built when few.
        ref_distinct, cur_distinct = self._distinct_counts
        if ref_distinct > cap or cur_distinct > cap:
            return max(ref_distinct, cur_distinct)
        ref_keys, cur_keys = self._reference_runs[0], self._current_runs[0]
        return int(np.union1d(ref_keys, cur_keys).size)

    @cached_property
    def counts(self) -> Counts:
        ref_keys, ref_counts = self._reference_runs
        cur_keys, cur_counts = self._current_runs
        keys = np.union1d(ref_keys, cur_keys)
        reference = np.zeros(keys.size, dtype=np.int64)
        current = np.zeros(keys.size, dtype=np.int64)
        reference[np.searchsorted(keys, ref_keys)] = ref_counts
        current[np.searchsorted(keys, cur_keys)] = cur_counts
        return Counts(keys=keys, reference=reference, current=current)

    # --- the merged order of both samples: KS and Wasserstein share it -------------------
    @cached_property
    def merged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values, reference ECDF counts, current ECDF counts) over both samples in order.

        A stable argsort of the two concatenated sorted arrays is a linear merge (timsort
        finds the two runs), cheaper than binary-searching one array in the other. Equal
        values keep reference before current, and inside a run of ties only the run's end
        is ever read, so tie order does not change any statistic.
        """
        ref, cur = self.reference, self.current
        both = np.concatenate([ref, cur])
        order = np.argsort(both, kind="stable")
        values = both[order]
        ref_cdf = np.cumsum(order < ref.size, dtype=np.int64)
        cur_cdf = np.arange(1, both.size + 1, dtype=np.int64) - ref_cdf
        return values, ref_cdf, cur_cdf

    # --- histograms ------------------------------------------------------------------------
    def histogram(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Counts per bin, like `np.histogram(values, edges)`, from the sorted arrays."""
        return _sorted_histogram(self.reference, edges), _sorted_histogram(self.current, edges)

    def sturges_edges(self) -> np.ndarray:
        """Bin edges of `np.histogram_bin_edges(reference + current, "sturges")`."""
        first = float(min(self.reference[0], self.current[0]))
        last = float(max(self.reference[-1], self.current[-1]))
        spread = last - first
        size = self.n_reference + self.n_current
        width = spread / (np.log2(size) + 1.0)
        if first == last:
            first, last = first - 0.5, last + 0.5
        if width:
            if self.integer and width < 1:
                width = 1
            n_bins = int(np.ceil((last - first) / width))
        else:
            n_bins = 1
        return np.linspace(first, last, n_bins + 1, endpoint=True)

    def binned_shares(self) -> tuple[np.ndarray, np.ndarray]:
        # Evidently bins continuous values (more than 20 distinct in the reference) with
        # Sturges' rule over both samples, and treats fewer distinct values as categories.
        if self.reference_distinct_count() > 20:
            ref, cur = self.histogram(self.sturges_edges())
        else:
            counts = self.counts
            ref, cur = counts.reference, counts.current
        return ref / self.n_reference, cur / self.n_current


class CategoricalSamples(Samples):
    kind = Kind.CATEGORICAL

    def __init__(
        self, reference: pd.Series, current: pd.Series, reference_counts: pd.Series | None = None
    ) -> None:
        ref_counts = value_counts(reference) if reference_counts is None else reference_counts
        cur_counts = value_counts(current)
        keys = ref_counts.index.union(cur_counts.index, sort=False)
        reference_counts = ref_counts.reindex(keys, fill_value=0).to_numpy(dtype=np.int64)
        current_counts = cur_counts.reindex(keys, fill_value=0).to_numpy(dtype=np.int64)
        # pandas categoricals report unused categories with a zero count: they are not values.
        seen = (reference_counts + current_counts) > 0
        self._counts = Counts(
            keys=np.asarray(keys, dtype=object)[seen],
            reference=reference_counts[seen],
            current=current_counts[seen],
        )
        self.n_reference = int(self._counts.reference.sum())
        self.n_current = int(self._counts.current.sum())

    @property
    def counts(self) -> Counts:
        return self._counts

    def reference_distinct_count(self) -> int:
        return int(np.count_nonzero(self._counts.reference))

    def distinct_count(self, cap: int) -> int:
        return int(self._counts.keys.size)

    def binned_shares(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            self._counts.reference / self.n_reference,
            self._counts.current / self.n_current,
        )


def value_counts(column: pd.Series) -> pd.Series:
    """Count of each non-missing value: one hashing pass, the dominant cost for strings."""
    return column.value_counts(dropna=True, sort=False)


def _distinct(sorted_values: np.ndarray) -> int:
    """How many distinct values a sorted array holds."""
    if sorted_values.size == 0:
        return 0
    return int(np.count_nonzero(sorted_values[1:] != sorted_values[:-1])) + 1


def _runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if sorted_values.size == 0:
        return sorted_values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    lengths = np.diff(np.r_[starts, sorted_values.size])
    return sorted_values[starts], lengths


def _sorted_histogram(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # Bins are half-open [a, b) except the last, which is closed, exactly as np.histogram.
    below = np.searchsorted(sorted_values, edges[:-1], side="left")
    last = np.searchsorted(sorted_values, edges[-1:], side="right")
    return np.diff(np.r_[below, last])
