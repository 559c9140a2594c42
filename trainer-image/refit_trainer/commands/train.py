"""`refit-trainer train --recipe NAME`: train a built-in recipe into the contract's run."""

from __future__ import annotations

import argparse
import sys

from refit_trainer.commands import Session
from refit_trainer.contract import JobContext, format_rfc3339_utc
from refit_trainer.data_io import read_table
from refit_trainer.errors import UsageError
from refit_trainer.recipes import TrainInputs, get_recipe
from refit_trainer.tracking import (
    client_for,
    finish_run,
    log_metrics,
    log_params,
    mlflow_errors,
    open_run,
    set_tags,
)


def run(args: argparse.Namespace, ctx: JobContext, session: Session) -> int:
    recipe = get_recipe(args.recipe)
    if not ctx.train_data:
        raise UsageError("REFIT_TRAIN_DATA is not set")
    client = client_for(ctx)
    session.tracking_uri = ctx.tracking_uri
    # Find the run first: an unreachable MLflow fails the Job before any training work.
    run_id = open_run(client, ctx, kind="train")
    session.run_id = run_id
    set_tags(
        client,
        run_id,
        {
            **ctx.identity_tags(),
            "refit.recipe": recipe.name,
            "refit.task": recipe.task,
            "refit.target": recipe.target,
        },
    )

    train = read_table(ctx.train_data)
    validation = read_table(ctx.validation_data) if ctx.validation_data else None
    trained = recipe.train(TrainInputs(train, validation, ctx.scheduled_time, args.seed))

    cutoff = format_rfc3339_utc(ctx.scheduled_time) if ctx.scheduled_time else "none"
    log_params(client, run_id, {**trained.params, "recipe": recipe.name, "cutoff": cutoff})
    log_metrics(client, run_id, trained.metrics)
    set_tags(client, run_id, trained.tags)

    import mlflow

    # Resume the run in its own experiment: a process that ran an earlier job (a warm worker,
    # a test) may still have another active experiment, and MLflow then refuses the run.
    with mlflow_errors("set the experiment"):
        mlflow.set_experiment(experiment_id=client.get_run(run_id).info.experiment_id)
    with mlflow_errors("log the model"), mlflow.start_run(run_id=run_id):
        recipe.log_model(trained)
    finish_run(client, run_id)
    summary = " ".join(f"{k}={v:.4g}" for k, v in sorted(trained.metrics.items()))
    print(f"trained {recipe.name} into run {run_id}: {summary}", file=sys.stdout)
    return 0
