"""Bayesian Personalised Ranking matrix factorisation in PyTorch (CUDA when present).

PyTorch is an optional extra (`refit-trainer[torch]`, or the image's torch variant): it is
imported here, lazily, and its absence is a clear configuration error, not an ImportError.
The result is plain numpy factors, so the logged model serves without torch.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from refit_trainer.errors import UsageError


@dataclasses.dataclass(frozen=True)
class BprConfig:
    dim: int = 32
    epochs: int = 40
    learning_rate: float = 0.02
    l2: float = 1e-4
    batch_size: int = 4096
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class Factors:
    users: np.ndarray  # (n_users, dim) float32
    items: np.ndarray  # (n_items, dim) float32
    item_bias: np.ndarray  # (n_items,) float32
    final_loss: float
    device: str


def import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise UsageError(
            "the recommender recipe needs PyTorch, which this image lacks: install "
            "refit-trainer[torch] or use the image built with the torch variant"
        ) from exc
    return torch


def choose_device(torch: Any) -> str:
    """REFIT_DEVICE (cpu|cuda|cuda:N) when set, else CUDA when available, else the CPU."""
    wanted = os.environ.get("REFIT_DEVICE", "").strip()
    if wanted:
        if wanted.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError(f"REFIT_DEVICE={wanted} but no CUDA device is available")
        return wanted
    return "cuda" if torch.cuda.is_available() else "cpu"


def train_bpr(
    users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, config: BprConfig
) -> Factors:
    torch = import_torch()
    device = choose_device(torch)
    torch.manual_seed(config.seed)
    # Sampling draws from a CPU generator so a seed gives the same batches on any device.
    generator = torch.Generator().manual_seed(config.seed)

    user_emb = torch.nn.Embedding(n_users, config.dim).to(device)
    item_emb = torch.nn.Embedding(n_items, config.dim).to(device)
    bias = torch.nn.Embedding(n_items, 1).to(device)
    torch.nn.init.normal_(user_emb.weight, std=0.1)
    torch.nn.init.normal_(item_emb.weight, std=0.1)
    torch.nn.init.zeros_(bias.weight)
    params = [user_emb.weight, item_emb.weight, bias.weight]
    optimizer = torch.optim.Adam(params, lr=config.learning_rate)

    u_all = torch.as_tensor(users, dtype=torch.long, device=device)
    i_all = torch.as_tensor(items, dtype=torch.long, device=device)
    n = u_all.shape[0]
    loss_value = float("nan")
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator).to(device)
        negatives = torch.randint(0, n_items, (n,), generator=generator).to(device)
        total, batches = 0.0, 0
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            u, i, j = u_all[idx], i_all[idx], negatives[start : start + config.batch_size]
            pu, qi, qj = user_emb(u), item_emb(i), item_emb(j)
            margin = (pu * (qi - qj)).sum(dim=1) + (bias(i) - bias(j)).squeeze(1)
            penalty = (pu.pow(2).sum() + qi.pow(2).sum() + qj.pow(2).sum()) / idx.shape[0]
            loss = -torch.nn.functional.logsigmoid(margin).mean() + config.l2 * penalty
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            batches += 1
        loss_value = total / max(batches, 1)

    def to_numpy(weight: Any) -> np.ndarray:
        return weight.detach().to("cpu").numpy().astype(np.float32)

    return Factors(
        users=to_numpy(user_emb.weight),
        items=to_numpy(item_emb.weight),
        item_bias=to_numpy(bias.weight).reshape(-1),
        final_loss=loss_value,
        device=device,
    )
