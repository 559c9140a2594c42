"""Run `python -m refit_trainer` the way a Kubernetes Job would: a fresh process whose only
input is the Job contract's environment. Several jobs can run at once (the suite must stay
fast on 2 cores, and most of a job's time is importing MLflow)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"
CDNOW = DATA / "cdnow_transactions.csv.gz"
TELCO = DATA / "telco_churn.csv.gz"


@dataclasses.dataclass(frozen=True)
class Job:
    args: Sequence[str]
    env: Mapping[str, str]
    script: Path | None = None  # run this file instead of `-m refit_trainer`

    def argv(self) -> list[str]:
        head = [str(self.script)] if self.script else ["-m", "refit_trainer"]
        return [sys.executable, *head, *self.args]


@dataclasses.dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    termination_log: str | None

    @property
    def reason(self) -> str:
        """The trainer's one-line reason: its last stderr line."""
        lines = [line for line in self.stderr.splitlines() if line.startswith("refit-trainer: ")]
        return lines[-1].removeprefix("refit-trainer: ") if lines else ""


def contract_env(tracking_uri: str | None, **refit: str) -> dict[str, str]:
    """A clean environment: the contract's variables and nothing from the developer's shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        # Bytecode caching on, as in a container: recompiling MLflow on every start costs
        # seconds of CPU per job.
        if not k.startswith(("MLFLOW_", "REFIT_"))
        and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    # One native thread per job: several jobs share 2 cores here.
    env.update({"OMP_NUM_THREADS": "1", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    env.update(refit)
    return env


def run_jobs(jobs: Sequence[Job], tmp: Path, timeout: float = 240) -> list[Finished]:
    procs = []
    for n, job in enumerate(jobs):
        log = tmp / f"termination-{n}.log"
        env = {**job.env, "REFIT_TERMINATION_LOG": str(log)}
        procs.append(
            (
                subprocess.Popen(
                    job.argv(),
                    env=env,
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
                log,
            )
        )
    finished = []
    for proc, log in procs:
        out, err = proc.communicate(timeout=timeout)
        text = log.read_text(encoding="utf-8") if log.exists() else None
        finished.append(Finished(proc.returncode, out, err, text))
    return finished


def run_job(job: Job, tmp: Path) -> Finished:
    return run_jobs([job], tmp)[0]
