"""Entry point of the `refit-trainer` command (also `python -m refit_trainer`).

Every failure ends the same way, whatever the sub-command: a one-line reason on stderr,
in the termination log (REFIT_TERMINATION_LOG, else /dev/termination-log when Kubernetes
mounted it) and, when the run is known, as the MLflow tag `refit.failure_reason` with the
run marked FAILED; then the exit code of CONTRACT.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from refit_trainer.commands import Session
from refit_trainer.contract import DEFAULT_TERMINATION_LOG, JobContext
from refit_trainer.errors import EXIT_INTERNAL, TrainerError, one_line

Handler = Callable[[argparse.Namespace, JobContext, Session], int]


def _lazy(module: str) -> Handler:
    def handler(args: argparse.Namespace, ctx: JobContext, session: Session) -> int:
        import importlib

        return int(
            importlib.import_module(f"refit_trainer.commands.{module}").run(args, ctx, session)
        )

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refit-trainer",
        description="Refit's trainer image: built-in recipes, evaluation and drift checks. "
        "Configuration comes from the Job contract's environment (see CONTRACT.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a built-in recipe into MLFLOW_RUN_ID")
    train.add_argument("--recipe", required=True, help="daily-sales | churn | recommender")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.set_defaults(handler=_lazy("train"))

    evaluate = commands.add_parser(
        "evaluate", help="score the run's candidate and the champion on the same validation data"
    )
    evaluate.set_defaults(handler=_lazy("evaluate"))

    drift = commands.add_parser("drift", help="compare current data with the reference")
    drift.add_argument("--reference", help="reference data (default: REFIT_REFERENCE_DATA)")
    drift.add_argument("--current", help="current data (default: REFIT_CURRENT_DATA)")
    drift.add_argument("--config", help="options as JSON (default: REFIT_DRIFT_CONFIG)")
    drift.add_argument("--report", help="also write the JSON report to this path or URI")
    drift.set_defaults(handler=_lazy("drift"))

    generate = commands.add_parser(
        "gen-interactions", help="write SYNTHETIC seeded interaction data for the recommender"
    )
    generate.add_argument("--seed", type=int, required=True)
    generate.add_argument("--users", type=int, required=True)
    generate.add_argument("--items", type=int, required=True)
    generate.add_argument("--mean-per-user", type=float, default=20.0)
    generate.add_argument("--out", required=True, help="path or URI (.csv, .csv.gz, .parquet)")
    generate.set_defaults(handler=_lazy("generate"))
    return parser


def cpu_budget() -> int:
    """CPUs this container may use: the cgroup quota when set, else the affinity mask.

    Native thread pools size themselves by the host's cores; in a pod limited to 2 CPUs
    on a 64-core node that oversubscribes badly.
    """
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, int(int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, len(os.sched_getaffinity(0)))


def limit_threads() -> None:
    budget = str(cpu_budget())
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, budget)


def termination_log_path(ctx_value: str | None) -> Path | None:
    if ctx_value:
        return Path(ctx_value)
    default = Path(DEFAULT_TERMINATION_LOG)
    # Outside Kubernetes the file does not exist; never create one in /dev.
    return default if default.exists() else None


def report_failure(reason: str, code: int, session: Session, log_path: Path | None) -> None:
    print(f"refit-trainer: {reason}", file=sys.stderr, flush=True)
    if log_path is not None:
        try:
            log_path.write_text(reason + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"refit-trainer: cannot write {log_path}: {exc}", file=sys.stderr)
    from refit_trainer.tracking import record_failure

    record_failure(session.tracking_uri, session.run_id, reason, code)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limit_threads()
    session = Session()
    log_value = os.environ.get("REFIT_TERMINATION_LOG", "").strip() or None
    try:
        ctx = JobContext.from_env(os.environ)
        from refit_trainer.tracking import apply_http_defaults

        apply_http_defaults()
        return int(args.handler(args, ctx, session))
    except TrainerError as exc:
        code, reason = exc.exit_code, one_line(str(exc))
    except Exception as exc:
        # A bug: keep the traceback for whoever debugs it, and still give a one-line reason.
        traceback.print_exc()
        code, reason = EXIT_INTERNAL, one_line(f"internal error: {type(exc).__name__}: {exc}")
    report_failure(reason, code, session, termination_log_path(log_value))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
