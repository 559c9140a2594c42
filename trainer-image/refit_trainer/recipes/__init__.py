"""Built-in recipes: what `refit-trainer train --recipe NAME` trains.

A recipe is pure where it can be: `train` and `validation_set` take tables and return
objects; only `log_model` talks to MLflow (into the active run). `evaluate` rebuilds the
validation set with the same recipe, so candidate and champion are scored on the same rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd

from refit_trainer.data_io import Table
from refit_trainer.errors import UsageError


@dataclasses.dataclass(frozen=True)
class TrainInputs:
    train: Table
    validation: Table | None
    cutoff: datetime | None
    seed: int


@dataclasses.dataclass(frozen=True)
class ValidationSet:
    features: pd.DataFrame
    target: Any
    tags: dict[str, str]


@dataclasses.dataclass
class Trained:
    model: Any
    params: dict[str, Any]
    metrics: dict[str, float]
    input_example: pd.DataFrame
    tags: dict[str, str]


@dataclasses.dataclass(frozen=True)
class Recipe:
    name: str
    task: str
    target: str
    train: Callable[[TrainInputs], Trained]
    validation_set: Callable[[TrainInputs], ValidationSet]
    log_model: Callable[[Trained], None]


def get_recipe(name: str) -> Recipe:
    recipes = _recipes()
    if name not in recipes:
        raise UsageError(f"unknown recipe {name!r}; built-in recipes: {', '.join(sorted(recipes))}")
    return recipes[name]


def builtin_names() -> list[str]:
    return sorted(_recipes())


def _recipes() -> dict[str, Recipe]:
    from refit_trainer.recipes import churn, daily_sales, recommender

    return {r.name: r for r in (daily_sales.RECIPE, churn.RECIPE, recommender.RECIPE)}


def pip_requirements(*packages: str) -> list[str]:
    """Pinned requirements of a logged model, from what is installed here.

    Passing them explicitly skips MLflow's requirement inference, which loads the model
    in a fresh interpreter (seconds of CPU per log) and guesses.
    """
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for package in packages:
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            pins.append(package)
    return pins
