"""Warm refit-trainer workers for the whole package: starting one costs seconds of imports.

Two, as `refit demo` uses them: a prefetching replay trains and evaluates at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from refit.local.executors import REFIT_TRAINER_PRELOAD, WarmExecutor


@pytest.fixture(scope="package")
def warm() -> Iterator[WarmExecutor]:
    executor = WarmExecutor(REFIT_TRAINER_PRELOAD, workers=2)
    executor.warm_up()
    yield executor
    executor.close()
