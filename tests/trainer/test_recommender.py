"""The recommender: numpy parts always (synthetic data, metrics, the served model,
evaluation through MLflow); BPR training only where PyTorch is installed."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from refit_trainer.__main__ import main
from refit_trainer.data_io import read_table
from refit_trainer.interactions import generate_interactions
from refit_trainer.metrics import ranking_metrics
from refit_trainer.recipes import TrainInputs, get_recipe
from refit_trainer.recipes.bpr import Factors
from refit_trainer.recipes.recommender import (
    build_artifacts,
    interactions,
    leave_last_out,
)

# Locally torch is optional (`make setup-torch`); in CI it is installed, and a missing torch
# must fail these tests rather than skip them.
HAS_TORCH = importlib.util.find_spec("torch") is not None or os.environ.get("CI") == "true"


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rec") / "interactions.csv.gz"
    assert (
        main(
            [
                "gen-interactions",
                "--seed",
                "5",
                "--users",
                "300",
                "--items",
                "120",
                "--mean-per-user",
                "15",
                "--out",
                str(path),
            ]
        )
        == 0
    )
    return path


def test_generator_is_seeded_and_shaped(tmp_path: Path) -> None:
    a = generate_interactions(seed=1, users=50, items=40)
    assert a.equals(generate_interactions(seed=1, users=50, items=40))
    assert not a.equals(generate_interactions(seed=2, users=50, items=40))
    assert list(a.columns) == ["user_id", "item_id", "timestamp"]
    assert a["user_id"].between(0, 49).all() and a["item_id"].between(0, 39).all()
    assert not a.duplicated(["user_id", "item_id"]).any()  # sampled without replacement
    assert a["timestamp"].is_monotonic_increasing
    # Long-tailed popularity: the top 10% of items get far more than 10% of interactions.
    counts = generate_interactions(seed=1, users=200, items=400)["item_id"].value_counts()
    assert counts.to_numpy()[:40].sum() > 0.25 * counts.sum()


def test_gen_interactions_cli_writes_the_same_bytes_for_a_seed(tmp_path: Path) -> None:
    for name in ("a.csv.gz", "b.csv.gz"):
        assert (
            main(
                [
                    "gen-interactions",
                    "--seed",
                    "9",
                    "--users",
                    "20",
                    "--items",
                    "10",
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    assert (tmp_path / "a.csv.gz").read_bytes() == (tmp_path / "b.csv.gz").read_bytes()


def test_ranking_metrics_by_hand() -> None:
    recommended = np.array([[1, 2, 3], [4, 5, 6]])
    relevant = [np.array([2]), np.array([9, 6])]
    metrics = ranking_metrics(recommended, relevant, k=3)
    # user 1: hit at rank 2 -> recall 1, ndcg 1/log2(3); user 2: hit at rank 3 of 2 relevant.
    ndcg_1 = 1 / np.log2(3)
    ndcg_2 = (1 / np.log2(4)) / (1 + 1 / np.log2(3))
    assert metrics["recall_at_3"] == pytest.approx((1 + 0.5) / 2)
    assert metrics["ndcg_at_3"] == pytest.approx((ndcg_1 + ndcg_2) / 2)


def test_leave_last_out_holds_out_each_users_latest(data_file: Path) -> None:
    frame = interactions(read_table(str(data_file)), None)
    split = leave_last_out(frame)
    assert len(split.fit) + len(split.holdout) == len(frame)
    latest = frame.groupby("user_id")["timestamp"].max()
    held = split.holdout.set_index("user_id")["timestamp"]
    assert (held == latest.loc[held.index]).all()


def _svd_factors(fit: pd.DataFrame, dim: int = 8) -> Factors:
    """Factors without torch: a truncated SVD of the interaction matrix."""
    users, u = np.unique(fit["user_id"], return_inverse=True)
    items, i = np.unique(fit["item_id"], return_inverse=True)
    matrix = np.zeros((users.size, items.size))
    matrix[u, i] = 1.0
    left, sing, right = np.linalg.svd(matrix, full_matrices=False)
    return Factors(
        users=(left[:, :dim] * sing[:dim]).astype(np.float32),
        items=right[:dim].T.astype(np.float32),
        item_bias=np.zeros(items.size, dtype=np.float32),
        final_loss=0.0,
        device="cpu",
    )


def test_served_model_excludes_seen_items_and_handles_new_users(data_file: Path) -> None:
    frame = interactions(read_table(str(data_file)), None)
    split = leave_last_out(frame)
    artifacts = build_artifacts(split.fit, _svd_factors(split.fit))
    users = pd.Series([0, 1, 2, 10_000])  # the last one is unknown
    top = artifacts.recommend(users, k=10)
    assert top.shape == (4, 10)
    for user, row in zip(users[:3], top[:3], strict=True):
        seen = set(split.fit.loc[split.fit["user_id"] == user, "item_id"])
        assert not seen & set(row.tolist())
    popular = split.fit["item_id"].value_counts().index[:10].tolist()
    assert sorted(top[3].tolist()) == sorted(popular)


def test_svd_recommender_beats_popularity(data_file: Path) -> None:
    # Guards the data generator: its structure must be learnable, or the fleet test is moot.
    inputs = TrainInputs(read_table(str(data_file)), None, None, 0)
    valid = get_recipe("recommender").validation_set(inputs)
    split = leave_last_out(interactions(inputs.train, None))
    artifacts = build_artifacts(split.fit, _svd_factors(split.fit))
    model = ranking_metrics(artifacts.recommend(valid.features["user_id"]), valid.target)
    popular = np.array(artifacts.arrays["item_ids"][artifacts.arrays["popularity_order"][:10]])
    baseline = ranking_metrics(np.tile(popular, (len(valid.target), 1)), valid.target)
    assert model["ndcg_at_10"] > baseline["ndcg_at_10"]


@pytest.fixture
def svd_instead_of_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for PyTorch's BPR with a numpy SVD, so the recipe's glue, the logged model
    and `evaluate` are tested where torch is not installed."""
    from refit_trainer.recipes import bpr

    def fake_train(users, items, n_users, n_items, config):  # type: ignore[no-untyped-def]
        fit = pd.DataFrame({"user_id": users, "item_id": items})
        factors = _svd_factors(fit)
        assert factors.users.shape[0] == n_users and factors.items.shape[0] == n_items
        return factors

    monkeypatch.setattr(bpr, "import_torch", lambda: None)
    monkeypatch.setattr(bpr, "train_bpr", fake_train)


@pytest.mark.usefixtures("svd_instead_of_torch")
def test_recommender_trains_logs_and_evaluates_through_mlflow(
    mlflow_server: str, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = mlflow.MlflowClient(mlflow_server)
    run_id = client.create_run("0").info.run_id
    for var in ("MLFLOW_RUN_ID", "REFIT_MODEL_NAME", "REFIT_VALIDATION_DATA"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("MLFLOW_RUN_ID", run_id)
    monkeypatch.setenv("REFIT_TRAIN_DATA", str(data_file))
    monkeypatch.setenv("REFIT_SCHEDULED_TIME", "2030-01-01T00:00:00Z")
    monkeypatch.setenv("REFIT_TERMINATION_LOG", str(data_file.with_name("term.log")))

    assert main(["train", "--recipe", "recommender"]) == 0
    # MLflow's end_run() removes MLFLOW_RUN_ID from the process env; a Job is a fresh process.
    monkeypatch.setenv("MLFLOW_RUN_ID", run_id)
    assert main(["evaluate"]) == 0

    run = client.get_run(run_id)
    metrics = run.data.metrics
    assert run.data.tags["refit.task"] == "recommender"
    assert 0 < metrics["ndcg_at_10"] <= metrics["recall_at_10"] <= 1
    # evaluate scores the logged pyfunc on the same held-out interactions as training did
    assert metrics["candidate_recall_at_10"] == pytest.approx(metrics["recall_at_10"])
    assert metrics["candidate_ndcg_at_10"] == pytest.approx(metrics["ndcg_at_10"])
    assert run.data.tags["refit.champion_version"] == "none"
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    top = model.predict(pd.DataFrame({"user_id": [0, 1]}), params={"k": 5})
    assert np.asarray(top).shape == (2, 5)


def test_without_torch_the_recipe_says_how_to_get_it(
    data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_torch(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    from refit_trainer.errors import UsageError

    with pytest.raises(UsageError, match=r"refit-trainer\[torch\]"):
        get_recipe("recommender").train(TrainInputs(read_table(str(data_file)), None, None, 0))


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (refit-trainer[torch])")
def test_bpr_training_learns_and_is_seeded(
    data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFIT_DEVICE", "cpu")
    inputs = TrainInputs(read_table(str(data_file)), None, None, 0)
    recipe = get_recipe("recommender")
    first = recipe.train(inputs)
    again = recipe.train(inputs)
    assert first.metrics == again.metrics
    split = leave_last_out(interactions(inputs.train, None))
    popular = split.fit["item_id"].value_counts().index[:10].to_numpy()
    valid = recipe.validation_set(inputs)
    baseline = ranking_metrics(np.tile(popular, (len(valid.target), 1)), valid.target)
    assert first.metrics["ndcg_at_10"] > baseline["ndcg_at_10"]
    assert first.params["device"] == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (refit-trainer[torch])")
def test_bpr_uses_cuda_when_present(data_file: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    trained = get_recipe("recommender").train(
        TrainInputs(read_table(str(data_file)), None, None, 0)
    )
    assert trained.params["device"] == "cuda"
