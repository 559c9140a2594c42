"""The inside of `executors.WarmExecutor`'s worker process: import once, then run Jobs.

Each Job gets what a container would: its own environment (os.environ is replaced, not merged),
argv, working directory, stdout/stderr (file descriptors 1 and 2 point at the Job's log) and an
exit code taken from the entry point's return value or SystemExit. Messages on the pipe:
("run", "module:function", argv, env, log path, cwd) answers the exit code; ("warm", tracking
URI) opens that MLflow store once and answers nothing; None (or the socket closing) ends
the worker.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

EXIT_ERROR = 1


def _load(target: str) -> Callable[[], Any]:
    module, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)  # sys.exit("message") prints the message and exits 1
    return EXIT_ERROR


def run_job(target: str, argv: Sequence[str], env: dict[str, str], log_path: str, cwd: str) -> int:
    """Run one Job's entry point as if it were the process's main program."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = list(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            code = _exit_code(_load(target)())
        except SystemExit as exit_:
            code = _exit_code(exit_.code)
        except BaseException:
            traceback.print_exc()
            code = EXIT_ERROR
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    return code


def _warm_store(tracking_uri: str) -> None:
    # Opening a SQLite store runs MLflow's schema checks: seconds, once per process.
    with contextlib.suppress(Exception):
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=tracking_uri).search_experiments(max_results=1)


def serve(conn: Connection, preload: Sequence[str]) -> None:
    """The worker's main loop."""
    for module in preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "warm":
            _warm_store(message[1])
            continue
        _, target, argv, env, log_path, cwd = message
        conn.send(run_job(target, argv, env, log_path, cwd))


def main(argv: Sequence[str]) -> None:
    """`python -m refit.local.warm_worker FD MODULE...`: serve on the socket FD."""
    serve(Connection(int(argv[0])), argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
