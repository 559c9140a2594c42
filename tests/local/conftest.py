"""One warm refit-trainer worker for the whole package: starting one costs seconds of imports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from refit.local.executors import REFIT_TRAINER_PRELOAD, WarmExecutor


@pytest.fixture(scope="package")
def warm() -> Iterator[WarmExecutor]:
    executor = WarmExecutor(REFIT_TRAINER_PRELOAD)
    executor.warm_up()
    yield executor
    executor.close()
