"""Task metrics, shared by the train step and `evaluate` so both score alike.

Every task has a fixed metric set; CONTRACT.md lists them with their direction, so a
pipeline's `spec.evaluation.primaryMetric` can name any of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from refit_trainer.errors import BadDataError

REGRESSION = "regression"
CLASSIFICATION = "classification"
RECOMMENDER = "recommender"
TASKS = (REGRESSION, CLASSIFICATION, RECOMMENDER)
TOP_K = 10

# metric -> True when larger is better
DIRECTIONS: dict[str, dict[str, bool]] = {
    REGRESSION: {"rmse": False, "mae": False, "mape": False},
    CLASSIFICATION: {"roc_auc": True, "log_loss": False, "f1": True},
    RECOMMENDER: {f"recall_at_{TOP_K}": True, f"ndcg_at_{TOP_K}": True},
}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import mean_absolute_error, mean_absolute_percentage_error

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    return {
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "mape": float(mean_absolute_percentage_error(y_true, y_pred)),
    }


def positive_probability(output: object) -> np.ndarray:
    """P(positive class) from a classifier's pyfunc output.

    The contract accepts a 1-D vector of probabilities, or a 2-D array / DataFrame whose
    last column is the positive class (what `predict_proba` returns).
    """
    values = np.asarray(getattr(output, "to_numpy", lambda: output)(), dtype=float)
    if values.ndim == 2:
        values = values[:, -1]
    return values.reshape(-1)


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, log_loss, roc_auc_score

    y_true = np.asarray(y_true, dtype=int)
    if np.unique(y_true).size < 2:
        raise BadDataError("validation data has a single class: ROC AUC is undefined")
    proba = np.clip(np.asarray(proba, dtype=float), 1e-15, 1 - 1e-15)
    return {
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "log_loss": float(log_loss(y_true, proba, labels=[0, 1])),
        "f1": float(f1_score(y_true, (proba >= 0.5).astype(int), zero_division=0)),
    }


def ranking_metrics(
    recommended: np.ndarray, relevant: Sequence[np.ndarray], k: int = TOP_K
) -> dict[str, float]:
    """Mean recall@k and NDCG@k over users with at least one relevant item.

    recall@k = hits in the top k / number of relevant items; NDCG@k uses binary gains,
    1/log2(rank + 1), normalised by the best possible ordering of min(k, |relevant|) hits.
    """
    recommended = np.asarray(recommended)[:, :k]
    if len(relevant) != recommended.shape[0]:
        raise ValueError("one row of recommendations per user is required")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    recalls, ndcgs = [], []
    for row, items in zip(recommended, relevant, strict=True):
        if len(items) == 0:
            continue
        hits = np.isin(row, items)
        recalls.append(hits.sum() / len(items))
        ideal = discounts[: min(k, len(items))].sum()
        ndcgs.append(float((hits * discounts[: hits.size]).sum() / ideal))
    if not recalls:
        raise BadDataError("validation data has no user with a held-out interaction")
    return {f"recall_at_{k}": float(np.mean(recalls)), f"ndcg_at_{k}": float(np.mean(ndcgs))}


def task_metrics(task: str, target: object, predictions: object) -> dict[str, float]:
    if task == REGRESSION:
        return regression_metrics(np.asarray(target), np.asarray(predictions))
    if task == CLASSIFICATION:
        return classification_metrics(np.asarray(target), positive_probability(predictions))
    if task == RECOMMENDER:
        return ranking_metrics(np.asarray(predictions), target)  # type: ignore[arg-type]
    raise ValueError(f"unknown task {task!r}")
