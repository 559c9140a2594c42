"""Seeded SYNTHETIC implicit-feedback data for the recommender fleet (`gen-interactions`).

These are not real users: each user and item gets a hidden taste vector, items get a
long-tailed popularity, and each user "interacts" with items drawn without replacement
in proportion to exp(taste match + popularity) (the Gumbel top-k trick). That gives data
with learnable structure, so a recommender beats popularity on it, at any size, for as
many pipelines as a fleet test needs (one seed per model). Same seed, same bytes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

START = np.datetime64("2024-01-01T00:00:00")
SPAN_SECONDS = 90 * 24 * 3600
HIDDEN_FACTORS = 8
_CHUNK = 512


def generate_interactions(
    seed: int, users: int, items: int, mean_per_user: float = 20.0
) -> pd.DataFrame:
    """Columns user_id, item_id (ints from 0), timestamp (RFC 3339 UTC text), time-sorted."""
    if users < 1 or items < 2:
        raise ValueError("need at least 1 user and 2 items")
    rng = np.random.default_rng(seed)
    taste_u = rng.normal(size=(users, HIDDEN_FACTORS))
    taste_i = rng.normal(size=(items, HIDDEN_FACTORS))
    # Popularity falls off like a power law with the item's (random) rank.
    popularity = -0.7 * np.log1p(rng.permutation(items))
    per_user = np.clip(1 + rng.poisson(max(mean_per_user - 1, 0), size=users), 1, items // 2 or 1)

    user_col, item_col = [], []
    scale = 2.0 / np.sqrt(HIDDEN_FACTORS)
    for start in range(0, users, _CHUNK):
        stop = min(start + _CHUNK, users)
        logits = scale * taste_u[start:stop] @ taste_i.T + popularity
        gumbel = -np.log(-np.log(rng.random(logits.shape)))
        ranked = np.argsort(-(logits + gumbel), axis=1)
        counts = per_user[start:stop]
        take = np.arange(items)[None, :] < counts[:, None]
        user_col.append(np.repeat(np.arange(start, stop), counts))
        item_col.append(ranked[take])
    user_ids = np.concatenate(user_col)
    item_ids = np.concatenate(item_col)
    seconds = rng.integers(0, SPAN_SECONDS, size=user_ids.size)
    stamps = START + seconds.astype("timedelta64[s]")
    frame = pd.DataFrame({"user_id": user_ids, "item_id": item_ids, "ts": stamps})
    frame = frame.sort_values(["ts", "user_id", "item_id"], kind="stable").reset_index(drop=True)
    frame["timestamp"] = frame.pop("ts").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame
