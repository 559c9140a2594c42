"""Runs in a Python that has PyTorch and refit-trainer: times the recommender's BPR
training (refit_trainer.recipes.bpr.train_bpr) on seeded synthetic interactions.

    python -m bench.gpu.worker OUT_DIR USERS ITEMS MEAN_PER_USER   # prints one JSON object

Also writes OUT_DIR/interactions.csv.gz, the same data for the end-to-end CLI run.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np


def main(argv: list[str]) -> None:
    import torch

    from refit_trainer.data_io import read_table, write_table
    from refit_trainer.interactions import generate_interactions
    from refit_trainer.recipes.bpr import BprConfig, choose_device, train_bpr
    from refit_trainer.recipes.recommender import ITEM, USER, interactions, leave_last_out

    out, users, items, mean = Path(argv[0]), int(argv[1]), int(argv[2]), float(argv[3])
    out.mkdir(parents=True, exist_ok=True)
    data = out / "interactions.csv.gz"
    write_table(generate_interactions(7, users, items, mean), str(data))
    # The recipe's own preparation, so the sizes are the ones `train --recipe` trains on.
    fit = leave_last_out(interactions(read_table(str(data)), None)).fit
    user_ids, user_idx = np.unique(fit[USER].to_numpy(), return_inverse=True)
    item_ids, item_idx = np.unique(fit[ITEM].to_numpy(), return_inverse=True)
    config = BprConfig(seed=0)
    device = choose_device(torch)

    # Warm-up: CUDA context, kernels, allocator (not timed).
    head = min(len(user_idx), 20_000)
    warm = dataclasses.replace(config, epochs=1)
    train_bpr(user_idx[:head], item_idx[:head], user_ids.size, item_ids.size, warm)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()

    utilization: list[float] = []
    done = threading.Event()

    def sample() -> None:  # torch.cuda.utilization() needs pynvml; nvidia-smi is preferred
        while not done.wait(0.2):
            try:
                utilization.append(float(torch.cuda.utilization()))
            except Exception:
                return

    sampler = threading.Thread(target=sample, daemon=True)
    if device.startswith("cuda"):
        sampler.start()
    start_wall, start = time.time(), time.perf_counter()
    factors = train_bpr(user_idx, item_idx, user_ids.size, item_ids.size, config)
    seconds = time.perf_counter() - start  # train_bpr ends copying to the CPU: synchronised
    done.set()
    samples = config.epochs * len(user_idx)
    result = {
        "device": factors.device,
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else "cpu",
        "torch": torch.__version__,
        "users": int(user_ids.size),
        "items": int(item_ids.size),
        "train_interactions": len(user_idx),
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "dim": config.dim,
        "train_seconds": seconds,
        "samples_per_second": samples / seconds,
        "final_loss": factors.final_loss,
        "window": [start_wall, time.time()],
        "peak_gpu_memory_mb": torch.cuda.max_memory_allocated() / 2**20
        if device.startswith("cuda")
        else None,
        "data": str(data),
        "torch_utilization_pct": utilization,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
