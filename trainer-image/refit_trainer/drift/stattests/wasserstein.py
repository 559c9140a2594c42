"""Wasserstein-1 distance normed by the reference's standard deviation (numerical).

Score: the normed distance; drift when >= 0.1. Normalising by max(std(reference), 0.001)
is Evidently's choice: it makes one threshold meaningful for features of any scale.

The distance is the area between the two quantile functions, W = integral over t in (0, 1)
of |Q_ref(t) - Q_cur(t)|: equal to the area between the ECDFs that scipy integrates, but
it needs no merge of the values. Q_ref steps at i/n and Q_cur at j/m; on the common grid
of L = lcm(n, m) those steps are the integers i*p and j*q (p = L/n, q = L/m). Each piece
of the integral ends at one step: at a reference step i*p it starts at the later of the
previous reference step and the last current step below it, and Q_cur there is known by
one division. So each sample is one linear pass, done in cache-sized blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from refit_trainer.drift.kinds import Kind
from refit_trainer.drift.samples import NumericSamples, Samples
from refit_trainer.drift.stattests.registry import Outcome, ScoreKind, StatTest, register

MIN_NORM = 0.001
# Steps are integers below L; float64 holds them, and floors their quotients, exactly while
# L < 2**52. Beyond that (samples of tens of millions with coprime sizes) use int64.
EXACT_IN_FLOAT = 2**52
# Temporaries of this many values stay in a core's L2 cache.
BLOCK = 1 << 15


def wasserstein_distance(samples: NumericSamples) -> float:
    return quantile_area(samples.reference, samples.current)


def quantile_area(ref: np.ndarray, cur: np.ndarray) -> float:
    """W1 between the empirical distributions of two sorted arrays."""
    n, m = ref.size, cur.size
    if n == m:
        # Equal sizes: both quantile functions step at i/n, so W is a mean of differences.
        return _blocked_sum(ref, lambda block, start, stop: np.abs(block - cur[start:stop])) / n
    g = math.gcd(n, m)
    p, q = m // g, n // g
    in_float = n * p < EXACT_IN_FLOAT
    # A current step equal to a reference step gives a zero-width piece: counting the other
    # sample's steps strictly below (reference ends) and at or below (current ends) makes
    # each shared step count once.
    area = _pieces(ref, cur, p, q, strictly_below=True, in_float=in_float)
    area += _pieces(cur, ref, q, p, strictly_below=False, in_float=in_float)
    return area / (n * p)


def _pieces(
    values: np.ndarray,
    other: np.ndarray,
    step: int,
    other_step: int,
    *,
    strictly_below: bool,
    in_float: bool,
) -> float:
    """Sum over the pieces that end at a step of `values`: width * |value - other's value|."""
    last = other.size - 1

    def piece_areas(block: np.ndarray, start: int, stop: int) -> np.ndarray:
        ends = np.arange(start + 1, stop + 1, dtype=np.float64 if in_float else np.int64)
        ends *= step
        # k = how many of the other's steps lie below this end; Q_other here is other[k].
        below = ends - 1 if strictly_below else ends
        if in_float:
            k = below / other_step
            np.floor(k, out=k)
        else:
            k = below // other_step
        index = np.minimum(k.astype(np.int64), last)
        piece_start = np.maximum(k * other_step, ends - step)
        gaps = np.abs(block - other[index])
        # multiply-and-sum, not np.dot: BLAS would spin up threads for a memory-bound loop.
        return np.multiply(ends - piece_start, gaps, out=gaps)

    return _blocked_sum(values, piece_areas)


def standard_deviation(values: np.ndarray) -> float:
    """np.std(values) (two passes, ddof 0) without a full-size temporary."""
    mean = float(np.mean(values))

    def squares(block: np.ndarray, start: int, stop: int) -> np.ndarray:
        centred = block - mean
        return np.multiply(centred, centred, out=centred)

    return math.sqrt(_blocked_sum(values, squares) / values.size)


def _blocked_sum(values: np.ndarray, term: Callable[[np.ndarray, int, int], np.ndarray]) -> float:
    """Sum of term(block, start, stop) over cache-sized blocks of `values`."""
    total = 0.0
    for start in range(0, values.size, BLOCK):
        stop = min(start + BLOCK, values.size)
        total += float(np.sum(term(values[start:stop], start, stop)))
    return total


def _wasserstein(samples: Samples) -> Outcome:
    assert isinstance(samples, NumericSamples)
    norm = max(standard_deviation(samples.reference), MIN_NORM)
    normed = wasserstein_distance(samples) / norm
    return Outcome(statistic=normed, score=normed)


TEST = register(
    StatTest(
        name="wasserstein",
        display_name="Wasserstein distance (normed)",
        kinds=(Kind.NUMERICAL,),
        default_threshold=0.1,
        score_kind=ScoreKind.DISTANCE,
        compute=_wasserstein,
    )
)
