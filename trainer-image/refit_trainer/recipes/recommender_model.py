"""The recommender's MLflow pyfunc model, logged as code ("models from code").

Self-contained on purpose (numpy, pandas, mlflow only; no refit_trainer, no torch): MLflow
copies this file next to the model, so any environment with those three packages can load
and serve it. Input: a DataFrame with a `user_id` column. Output: one row of the `k`
(param, default 10) best item ids per user, items the user already had excluded; users
the model never saw get the most popular items.
"""

from __future__ import annotations

from typing import Any

import mlflow
import numpy as np
import pandas as pd


class TopKRecommender(mlflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        with np.load(context.artifacts["factors"], allow_pickle=False) as data:
            self.user_ids = data["user_ids"]
            self.item_ids = data["item_ids"]
            self.user_factors = data["user_factors"]
            self.item_factors = data["item_factors"]
            self.item_bias = data["item_bias"]
            self.seen_indptr = data["seen_indptr"]
            self.seen_items = data["seen_items"]
            self.popularity_order = data["popularity_order"]
        self.user_index = {u: i for i, u in enumerate(self.user_ids.tolist())}

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None):
        k = int((params or {}).get("k", 10))
        k = max(1, min(k, self.item_ids.size))
        users = pd.DataFrame(model_input)["user_id"].tolist()
        rows = np.array([self.user_index.get(u, -1) for u in users], dtype=np.int64)
        out = np.empty((len(users), k), dtype=np.int64)
        known = rows >= 0
        if known.any():
            scores = self.user_factors[rows[known]] @ self.item_factors.T + self.item_bias
            for n, row in enumerate(rows[known]):
                seen = self.seen_items[self.seen_indptr[row] : self.seen_indptr[row + 1]]
                scores[n, seen] = -np.inf
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
            out[known] = np.take_along_axis(top, order, axis=1)
        if (~known).any():
            out[~known] = self.popularity_order[:k]
        return self.item_ids[out]


mlflow.models.set_model(TopKRecommender())
