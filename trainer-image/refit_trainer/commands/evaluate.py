"""`refit-trainer evaluate`: score the candidate and the champion on the same validation rows.

The candidate is `runs:/<MLFLOW_RUN_ID>/model`; the champion is the version that the alias
REFIT_CHAMPION_ALIAS (default `champion`) of REFIT_MODEL_NAME points at, loaded by its
version number so that an alias moved meanwhile cannot mix two models into one result.
Both go through `mlflow.pyfunc`, so any flavour, from any language, is scored alike.

Logged to the run: `candidate_<metric>`, `champion_<metric>`, tag and param
`refit.champion_version` (`none` when there is no champion yet); the operator's gate
compares them. Deciding is not this step's job.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

import pandas as pd

from refit_trainer.commands import Session
from refit_trainer.contract import JobContext
from refit_trainer.data_io import read_table
from refit_trainer.errors import (
    BadDataError,
    ModelUnavailableError,
    UsageError,
    one_line,
)
from refit_trainer.metrics import RECOMMENDER, TASKS, task_metrics
from refit_trainer.recipes import TrainInputs, ValidationSet, builtin_names, get_recipe
from refit_trainer.tracking import (
    client_for,
    finish_run,
    log_metrics,
    log_params,
    mlflow_errors,
    open_run,
    set_tags,
)

NO_CHAMPION = "none"


def generic_validation(task: str, uri: str, target: str | None) -> ValidationSet:
    """Validation rows for a custom trainer: a table with the features and the target column
    named by the run's `refit.target` tag (recommender: user_id and item_id columns)."""
    table = read_table(uri)
    frame = table.frame
    if frame.empty:
        raise BadDataError(f"{uri}: the validation set has no rows")
    if task == RECOMMENDER:
        missing = {"user_id", "item_id"} - set(frame.columns)
        if missing:
            raise BadDataError(f"{uri} is missing required column(s): {', '.join(sorted(missing))}")
        groups = frame.dropna(subset=["user_id", "item_id"]).groupby("user_id", sort=True)[
            "item_id"
        ]
        users = pd.DataFrame({"user_id": list(groups.groups.keys())})
        return ValidationSet(
            users, [g.to_numpy() for _, g in groups], table.lineage("refit.data.validation")
        )
    if not target:
        raise UsageError("the run has no refit.target tag naming the validation target column")
    if target not in frame.columns:
        raise BadDataError(f"{uri} is missing the target column {target!r}")
    target_values = frame[target]
    if task == "classification" and not pd.api.types.is_numeric_dtype(target_values):
        lowered = target_values.astype("string").str.strip().str.lower()
        target_values = lowered.isin({"yes", "true", "1"}).astype(int)
    return ValidationSet(
        frame.drop(columns=[target]),
        target_values.to_numpy(),
        table.lineage("refit.data.validation"),
    )


def _validation(ctx: JobContext, tags: dict[str, str], task: str, seed: int) -> ValidationSet:
    recipe_name = tags.get("refit.recipe")
    if recipe_name in builtin_names():
        recipe = get_recipe(recipe_name)
        if not ctx.train_data and not ctx.validation_data:
            raise UsageError("set REFIT_VALIDATION_DATA or REFIT_TRAIN_DATA for evaluation")
        train = read_table(ctx.train_data) if ctx.train_data else None
        validation = read_table(ctx.validation_data) if ctx.validation_data else None
        # The train step's seed: a seeded split must hold out the rows training held out.
        inputs = TrainInputs(train or validation, validation, ctx.scheduled_time, seed)  # type: ignore[arg-type]
        result = recipe.validation_set(inputs)
        lineage = (validation or train).lineage("refit.data.validation")  # type: ignore[union-attr]
        return ValidationSet(result.features, result.target, {**lineage, **result.tags})
    if not ctx.validation_data:
        raise UsageError("REFIT_VALIDATION_DATA is not set (required for custom trainers)")
    return generic_validation(task, ctx.validation_data, tags.get("refit.target"))


def _score(model: Any, validation: ValidationSet, task: str) -> dict[str, float]:
    predictions = model.predict(validation.features)
    return task_metrics(task, validation.target, predictions)


def _champion(client: Any, ctx: JobContext) -> tuple[str, str | None] | None:
    """(version, run id) behind the champion alias, or None when there is no champion."""
    from mlflow.exceptions import MlflowException

    if not ctx.model_name:
        return None
    with mlflow_errors(f"look up {ctx.model_name}@{ctx.champion_alias}"):
        try:
            version = client.get_model_version_by_alias(ctx.model_name, ctx.champion_alias)
        except MlflowException as exc:
            # Only "no such model / alias" means no champion. Anything else (permissions,
            # a failing server) must fail the step: "no champion" could promote blindly.
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise
    return str(version.version), (str(version.run_id) if version.run_id else None)


def run(args: argparse.Namespace, ctx: JobContext, session: Session) -> int:
    if not ctx.run_id:
        raise UsageError("MLFLOW_RUN_ID is not set: evaluate scores the model of that run")
    client = client_for(ctx)
    session.tracking_uri = ctx.tracking_uri
    run_id = open_run(client, ctx, kind="evaluate")
    session.run_id = run_id
    with mlflow_errors("read the run"):
        run_data = client.get_run(run_id).data
    tags, params = dict(run_data.tags), dict(run_data.params)
    task = tags.get("refit.task", "")
    if task not in TASKS:
        raise UsageError(
            f"run {run_id} has no valid refit.task tag ({task or 'missing'}); "
            f"the train step must set it to one of {', '.join(TASKS)}"
        )
    # Built-in recipes log their seed; a custom trainer's "seed" param means nothing here.
    raw_seed = params.get("seed", "0")
    seed = int(raw_seed) if raw_seed.lstrip("-").isdigit() else 0
    validation = _validation(ctx, tags, task, seed)

    import mlflow.pyfunc

    try:
        candidate = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    except Exception as exc:
        raise ModelUnavailableError(
            f"cannot load the candidate runs:/{run_id}/model: {one_line(str(exc), 300)}"
        ) from exc
    try:
        candidate_metrics = _score(candidate, validation, task)
    except (BadDataError, UsageError):
        raise
    except Exception as exc:
        raise ModelUnavailableError(
            f"the candidate failed to score the validation data: {one_line(str(exc), 200)}"
        ) from exc
    metrics = {f"candidate_{k}": v for k, v in candidate_metrics.items()}
    result_tags: dict[str, str] = {**validation.tags, "refit.evaluation.task": task}

    champion_info = _champion(client, ctx)
    version = champion_info[0] if champion_info else None
    result_tags["refit.champion_version"] = version or NO_CHAMPION
    if champion_info and champion_info[1]:
        result_tags["refit.champion_run_id"] = champion_info[1]
    if version is not None:
        try:
            champion = mlflow.pyfunc.load_model(f"models:/{ctx.model_name}/{version}")
            champion_metrics = _score(champion, validation, task)
            metrics.update({f"champion_{k}": v for k, v in champion_metrics.items()})
        except (BadDataError, UsageError):
            raise
        except Exception as exc:
            # A champion that cannot score today's validation data (e.g. its schema changed)
            # is reported, not fatal: the gate decides what a missing champion metric means.
            result_tags["refit.champion_error"] = one_line(f"{type(exc).__name__}: {exc}", 500)

    log_metrics(client, run_id, metrics)
    set_tags(client, run_id, result_tags)
    # Evaluated again after the champion moved: params are immutable, the tag is authoritative.
    with contextlib.suppress(UsageError):
        log_params(client, run_id, {"refit.champion_version": version or NO_CHAMPION})
    finish_run(client, run_id)
    summary = " ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()))
    print(f"evaluated run {run_id} against champion {version or NO_CHAMPION}: {summary}")
    return 0
