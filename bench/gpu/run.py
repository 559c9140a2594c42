"""GPU benchmark: the recommender recipe (BPR matrix factorisation in PyTorch) on a CUDA
device: training samples per second and GPU utilisation; then the whole
`refit-trainer train --recipe recommender` command end to end on the same data.

    python -m bench.gpu                                  # this Python
    python -m bench.gpu --python /opt/torch-venv/bin/python --users 200000
    python -m bench.gpu --allow-cpu --users 2000 --items 500   # exercise it without a GPU

PyTorch is an optional extra of refit-trainer (`pip install './trainer-image[torch]'`); it
is not in the development venv. The Python given must have torch and refit-trainer. With no
CUDA device (or no torch) this prints "skipped: no CUDA device ..." and exits 0, unless
--allow-cpu. GPU utilisation is sampled with `nvidia-smi` every 200 ms during the timed
training (else torch.cuda.utilization(), when pynvml is installed). Writes
bench/results/gpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, fmt, log, machine, table, write_result

PROBE = """
import json
try:
    import torch
except ImportError as e:
    print(json.dumps({"torch": None, "error": str(e)}))
else:
    cuda = torch.cuda.is_available()
    print(json.dumps({"torch": torch.__version__, "cuda": cuda,
                      "device": torch.cuda.get_device_name() if cuda else None,
                      "count": torch.cuda.device_count() if cuda else 0}))
"""


class GpuSampler:
    """nvidia-smi's utilisation.gpu and memory.used, every 200 ms, with wall-clock times."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float, float]] = []
        self.tool = shutil.which("nvidia-smi")
        self._proc: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.tool is None:
            return
        self._proc = subprocess.Popen(
            [
                self.tool,
                "--query-gpu=index,utilization.gpu,memory.used",
                "--format=csv,noheader,nounits",
                "-lms",
                "200",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            parts = [p.strip() for p in line.split(",")]
            if len(parts) == 3 and parts[0] == "0":
                try:
                    self.samples.append((time.time(), float(parts[1]), float(parts[2])))
                except ValueError:
                    continue

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)

    def during(self, window: list[float]) -> dict[str, Any]:
        inside = [s for s in self.samples if window[0] <= s[0] <= window[1]]
        if not inside:
            return {"source": "nvidia-smi" if self.tool else None, "samples": 0}
        util = [s[1] for s in inside]
        return {
            "source": "nvidia-smi (GPU 0)",
            "samples": len(inside),
            "utilization_mean_pct": sum(util) / len(util),
            "utilization_max_pct": max(util),
            "memory_used_max_mb": max(s[2] for s in inside),
        }


def run_json(python: str, args: list[str], env: dict[str, str], timeout: float) -> Any:
    proc = subprocess.run(
        [python, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def skipped(reason: str, out: Path | None) -> int:
    print(f"skipped: {reason}")
    write_result("gpu", {"benchmark": "gpu", "skipped": reason, "machine": machine()}, out)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__)
    p.add_argument("--python", default=sys.executable, help="a Python with torch + refit-trainer")
    p.add_argument("--users", type=int, default=50_000)
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--mean-per-user", type=float, default=20.0)
    p.add_argument("--allow-cpu", action="store_true", help="run on the CPU when no CUDA")
    p.add_argument("--skip-cli", action="store_true", help="only the timed training")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "trainer-image")])}
    probe = run_json(args.python, ["-c", PROBE], env, timeout=300)
    if probe["torch"] is None:
        if not args.allow_cpu:
            return skipped(
                f"no CUDA device (PyTorch is not installed in {args.python}; install "
                "refit-trainer[torch] in a separate venv and pass --python)",
                args.out,
            )
        print(f"cannot run on the CPU either: no PyTorch in {args.python}")
        return 1
    if not probe["cuda"] and not args.allow_cpu:
        return skipped(f"no CUDA device (torch {probe['torch']} sees none)", args.out)

    sampler = GpuSampler()
    result: dict[str, Any] = {"benchmark": "gpu", "probe": probe, "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="refit-bench-gpu-") as tmp:
        sampler.start()
        try:
            log(f"gpu: BPR training, {args.users:,} users x {args.items:,} items")
            train = run_json(
                args.python,
                [
                    "-m",
                    "bench.gpu.worker",
                    tmp,
                    str(args.users),
                    str(args.items),
                    str(args.mean_per_user),
                ],
                env,
                args.timeout,
            )
            train["gpu"] = sampler.during(train["window"])
            torch_util = train.pop("torch_utilization_pct")
            if not train["gpu"]["samples"] and torch_util:
                train["gpu"] = {
                    "source": "torch.cuda.utilization()",
                    "samples": len(torch_util),
                    "utilization_mean_pct": sum(torch_util) / len(torch_util),
                    "utilization_max_pct": max(torch_util),
                }
            result["training"] = train
            if not args.skip_cli:
                result["cli"] = run_cli(args.python, env, Path(tmp), train, sampler, args.timeout)
        finally:
            sampler.stop()
    path = write_result("gpu", result, args.out)
    print(render(result))
    print(f"wrote {path}")
    return 0


def run_cli(
    python: str,
    env: dict[str, str],
    tmp: Path,
    train: dict[str, Any],
    sampler: GpuSampler,
    timeout: float,
) -> dict[str, Any]:
    """`refit-trainer train --recipe recommender` as a Job runs it, MLflow in a sqlite file."""
    cli_env = {
        **env,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}",
        "MLFLOW_EXPERIMENT_NAME": "bench-gpu",
        "REFIT_TRAIN_DATA": train["data"],
        "REFIT_MODEL_NAME": "bench-gpu-recommender",
        "REFIT_TERMINATION_LOG": str(tmp / "termination.log"),
    }
    log("gpu: refit-trainer train --recipe recommender, end to end")
    start_wall, start = time.time(), time.perf_counter()
    proc = subprocess.run(
        [python, "-m", "refit_trainer", "train", "--recipe", "recommender"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp,
    )
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {
        "exit_code": proc.returncode,
        "seconds": seconds,
        "samples_per_second": train["epochs"] * train["train_interactions"] / seconds,
        "gpu": sampler.during([start_wall, time.time()]),
    }
    if proc.returncode != 0:
        out["stderr_tail"] = proc.stderr[-2000:]
    return out


def render(result: dict[str, Any]) -> str:
    t = result["training"]
    rows = [
        [
            "BPR training (train_bpr)",
            t["device_name"],
            f"{t['train_interactions']:,} x {t['epochs']}",
            t["train_seconds"],
            t["samples_per_second"],
            t["gpu"].get("utilization_mean_pct"),
            t["gpu"].get("utilization_max_pct"),
        ]
    ]
    if "cli" in result:
        c = result["cli"]
        rows.append(
            [
                f"refit-trainer train --recipe recommender (exit {c['exit_code']})",
                t["device_name"],
                f"{t['train_interactions']:,} x {t['epochs']}",
                c["seconds"],
                c["samples_per_second"],
                c["gpu"].get("utilization_mean_pct"),
                c["gpu"].get("utilization_max_pct"),
            ]
        )
    headers = [
        "what",
        "device",
        "interactions x epochs",
        "seconds",
        "samples/s",
        "GPU util mean %",
        "max %",
    ]
    memory = t.get("peak_gpu_memory_mb")
    return table(headers, rows) + (f"\npeak GPU memory (torch): {fmt(memory)} MB" if memory else "")
