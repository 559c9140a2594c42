"""`recommender`: implicit-feedback top-k recommendations (BPR matrix factorisation).

Data: interactions with `user_id`, `item_id` and, optionally, `timestamp` (only rows
before the cutoff are used). Each user with at least 3 interactions has their latest one
held out; the model ranks all items the user has not had yet, and recall@10 / NDCG@10
measure how high the held-out item lands. Training is PyTorch (CUDA when present); data
preparation, metrics and the served model are numpy.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from refit_trainer.data_io import Table, require_columns
from refit_trainer.errors import BadDataError
from refit_trainer.metrics import RECOMMENDER, TOP_K, ranking_metrics
from refit_trainer.recipes import (
    Recipe,
    Trained,
    TrainInputs,
    ValidationSet,
    pip_requirements,
)

USER, ITEM, TIME = "user_id", "item_id", "timestamp"
MIN_HISTORY = 3


@dataclasses.dataclass(frozen=True)
class Split:
    fit: pd.DataFrame
    holdout: pd.DataFrame


def interactions(table: Table, cutoff: datetime | None) -> pd.DataFrame:
    require_columns(table.frame, [USER, ITEM], table.uri)
    frame = table.frame.dropna(subset=[USER, ITEM])
    if TIME in frame.columns:
        stamps = pd.to_datetime(frame[TIME], errors="coerce", utc=True)
        if stamps.isna().all():
            raise BadDataError(f"{table.uri}: column {TIME} has no parseable timestamp")
        frame = frame.assign(**{TIME: stamps})
        if cutoff is not None:
            frame = frame[frame[TIME] < pd.Timestamp(cutoff)]
        frame = frame.sort_values(TIME, kind="stable")
    if frame.empty:
        raise BadDataError(f"{table.uri}: no interaction before the cutoff")
    return frame.reset_index(drop=True)


def leave_last_out(frame: pd.DataFrame) -> Split:
    """Hold out each user's latest interaction (rows are time-ordered when time is known)."""
    position = frame.groupby(USER, sort=False).cumcount(ascending=False)
    history = frame.groupby(USER, sort=False)[ITEM].transform("size")
    held = (position == 0) & (history >= MIN_HISTORY)
    return Split(fit=frame[~held], holdout=frame[held])


def _relevant(holdout: pd.DataFrame) -> tuple[pd.DataFrame, list[np.ndarray]]:
    groups = holdout.groupby(USER, sort=True)[ITEM]
    users = pd.DataFrame({USER: list(groups.groups.keys())})
    return users, [g.to_numpy() for _, g in groups]


def validation_set(inputs: TrainInputs) -> ValidationSet:
    if inputs.validation is not None:
        holdout = interactions(inputs.validation, None)
        source = "file"
    else:
        holdout = leave_last_out(interactions(inputs.train, inputs.cutoff)).holdout
        source = "latest interaction per user"
    if holdout.empty:
        raise BadDataError("the validation set has no rows (no user with enough history)")
    users, relevant = _relevant(holdout)
    return ValidationSet(
        features=users,
        target=relevant,
        tags={
            "refit.data.validation.source": source,
            "refit.data.validation.users": str(len(users)),
        },
    )


@dataclasses.dataclass
class RecommenderArtifacts:
    arrays: dict[str, np.ndarray]

    def recommend(self, users: pd.Series, k: int = TOP_K) -> np.ndarray:
        """The same ranking as the served pyfunc, for scoring at train time."""
        from refit_trainer.recipes.recommender_model import TopKRecommender

        model = TopKRecommender()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "factors.npz"
            np.savez(path, **self.arrays)
            model.load_context(type("Ctx", (), {"artifacts": {"factors": str(path)}})())
        return model.predict(None, pd.DataFrame({USER: users}), {"k": k})


def build_artifacts(fit: pd.DataFrame, factors: object) -> RecommenderArtifacts:
    user_ids, user_idx = np.unique(fit[USER].to_numpy(), return_inverse=True)
    item_ids, item_idx = np.unique(fit[ITEM].to_numpy(), return_inverse=True)
    order = np.lexsort((item_idx, user_idx))
    indptr = np.searchsorted(user_idx[order], np.arange(user_ids.size + 1))
    popularity = np.bincount(item_idx, minlength=item_ids.size)
    return RecommenderArtifacts(
        arrays={
            "user_ids": user_ids,
            "item_ids": item_ids,
            "user_factors": factors.users,  # type: ignore[attr-defined]
            "item_factors": factors.items,  # type: ignore[attr-defined]
            "item_bias": factors.item_bias,  # type: ignore[attr-defined]
            "seen_indptr": indptr.astype(np.int64),
            "seen_items": item_idx[order].astype(np.int64),
            "popularity_order": np.argsort(-popularity, kind="stable").astype(np.int64),
        }
    )


def train(inputs: TrainInputs) -> Trained:
    from refit_trainer.recipes.bpr import BprConfig, import_torch, train_bpr

    import_torch()  # fail before any data work when the image has no torch
    frame = interactions(inputs.train, inputs.cutoff)
    split = leave_last_out(frame)
    if split.fit.empty:
        raise BadDataError(f"{inputs.train.uri}: no interactions left to train on")
    valid = validation_set(inputs)
    user_ids, user_idx = np.unique(split.fit[USER].to_numpy(), return_inverse=True)
    item_ids, item_idx = np.unique(split.fit[ITEM].to_numpy(), return_inverse=True)
    config = BprConfig(seed=inputs.seed)
    factors = train_bpr(user_idx, item_idx, user_ids.size, item_ids.size, config)
    artifacts = build_artifacts(split.fit, factors)
    recommended = artifacts.recommend(valid.features[USER])
    return Trained(
        model=artifacts,
        params={
            "model": "BPR-MF",
            **{f"bpr_{k}": v for k, v in dataclasses.asdict(config).items()},
            "device": factors.device,
            "users": user_ids.size,
            "items": item_ids.size,
            "train_interactions": len(split.fit),
        },
        metrics={
            **ranking_metrics(recommended, valid.target),
            "bpr_final_loss": factors.final_loss,
        },
        input_example=valid.features.head(5),
        tags={
            **inputs.train.lineage("refit.data.train"),
            "refit.data.train.rows_used": str(len(frame)),
            **valid.tags,
        },
    )


def log_model(trained: Trained) -> None:
    import mlflow.pyfunc
    from mlflow.models import infer_signature

    artifacts: RecommenderArtifacts = trained.model
    example = trained.input_example
    output = artifacts.recommend(example[USER])
    signature = infer_signature(example, output, params={"k": TOP_K})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "factors.npz"
        np.savez(path, **artifacts.arrays)
        mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("recommender_model.py")),
            artifacts={"factors": str(path)},
            signature=signature,
            input_example=example,
            pip_requirements=pip_requirements("mlflow", "numpy", "pandas"),
        )


RECIPE = Recipe(
    name="recommender",
    task=RECOMMENDER,
    target=ITEM,
    train=train,
    validation_set=validation_set,
    log_model=log_model,
)
