"""How a local Job's container command runs: a fresh process, or a warm worker process.

`ProcessExecutor` is the faithful one: every Job is a new process, as every Pod is a new
container. `WarmExecutor` is for many short Jobs in a row (`refit demo` replays ~70 weeks):
starting Python, pandas, scikit-learn and MLflow costs seconds per process, more than the
training itself. It keeps one worker process alive with those modules imported, and runs a
command whose executable is a Python console script (e.g. `refit-trainer`) by calling that
script's entry point inside the worker, with the same argv, environment (replaced wholesale for
each Job), working directory, log file and exit code. Anything else, or a Job while every
worker is busy, falls back to a fresh process. What a warm worker does not isolate: module-level
state of the trainer survives between Jobs (imports, caches), which is why the operator never does
this and `refit run` only does it with `--warm`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Protocol

EXIT_WORKER_DIED = 137


class JobStartError(RuntimeError):
    """The command could not be started at all (like a container that cannot run)."""


class JobHandle(Protocol):
    def poll(self) -> int | None:
        """The exit code once finished, else None."""
        ...

    def wait(self, timeout: float | None) -> int | None:
        """Wait up to `timeout` seconds (None: until it ends); the exit code, or None."""
        ...

    def kill(self) -> None: ...


class Executor(Protocol):
    def start(
        self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path
    ) -> JobHandle: ...

    def close(self) -> None: ...


# --- a process per Job ------------------------------------------------------------------------------


class _ProcessHandle:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.proc.poll() is None:
            # The whole process group: a trainer may have started children of its own.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class ProcessExecutor:
    """Each Job is a new process (argv as given; never a shell)."""

    def start(
        self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path
    ) -> JobHandle:
        with log_path.open("ab") as log:
            try:
                proc = subprocess.Popen(  # noqa: S603 - argv from the pipeline's own trainer spec
                    list(argv),
                    env=dict(env),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as error:
                raise JobStartError(
                    f"cannot start {argv[0]!r}: {error.strerror or error}"
                ) from error
        return _ProcessHandle(proc)

    def close(self) -> None:
        pass


# --- a warm worker ----------------------------------------------------------------------------------


def console_script(name: str) -> str | None:
    """`module:function` of an installed console script named `name`, else None."""
    if os.sep in name:
        return None
    for entry in entry_points(group="console_scripts", name=name):
        return str(entry.value)
    return None


class _Worker:
    """One long-lived worker process and its socket; restarted after it dies or is killed.

    Started as `python -m refit.local.warm_worker FD MODULE...` rather than through
    multiprocessing: spawn would re-import the caller's main module, fork would copy threads and
    open SQLite connections.
    """

    def __init__(self, preload: Sequence[str], log_path: Path | None) -> None:
        self.preload = tuple(preload)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.busy = False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure(self) -> Connection:
        if not self.alive() or self.conn is None:
            self.stop(kill=True)
            ours, theirs = socket.socketpair()
            with contextlib.ExitStack() as stack:
                out: int | IO[bytes] = subprocess.DEVNULL
                if self.log_path is not None:
                    out = stack.enter_context(self.log_path.open("ab"))
                self.process = subprocess.Popen(  # noqa: S603 - this very Python, our own module
                    [
                        sys.executable,
                        "-m",
                        "refit.local.warm_worker",
                        str(theirs.fileno()),
                        *self.preload,
                    ],
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            theirs.close()
            self.conn = Connection(ours.detach())
            self.busy = False
        return self.conn

    def stop(self, kill: bool = False) -> None:
        if self.process is not None and self.process.poll() is None:
            if not kill and self.conn is not None and not self.busy:
                with contextlib.suppress(OSError):
                    self.conn.send(None)  # a clean exit
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(5)
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn, self.busy = None, None, False


class _WarmHandle:
    def __init__(self, worker: _Worker, log_path: Path) -> None:
        self.worker = worker
        self.log_path = log_path
        self.code: int | None = None

    def poll(self) -> int | None:
        return self.wait(0)

    def wait(self, timeout: float | None) -> int | None:
        if self.code is not None:
            return self.code
        conn = self.worker.conn
        assert conn is not None
        try:
            ready = conn.poll(timeout)
            if ready:
                self.code = int(conn.recv())
        except (EOFError, OSError):
            ready = True
        if ready and self.code is None:
            self._died()
        if self.code is not None:
            self.worker.busy = False
        return self.code

    def _died(self) -> None:
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write("refit: the warm worker process died while running this Job\n")
        self.worker.stop(kill=True)
        self.code = EXIT_WORKER_DIED

    def kill(self) -> None:
        if self.code is None:
            self.worker.stop(kill=True)
            self.code = EXIT_WORKER_DIED


class WarmExecutor:
    """Console-script commands run in warm worker processes; see the module docstring.

    `workers` processes (default 1) serve one Job each at a time; a Job that finds them all
    busy runs as a fresh process.
    """

    def __init__(
        self,
        preload: Sequence[str] = (),
        fallback: Executor | None = None,
        log_path: Path | None = None,
        workers: int = 1,
    ) -> None:
        self.workers = [_Worker(preload, log_path) for _ in range(max(1, workers))]
        self.fallback = fallback or ProcessExecutor()

    def warm_up(self, tracking_uri: str | None = None) -> None:
        """Start the workers now (they import while the caller does other work); with a
        tracking URI they also open that store once, so the first Jobs do not pay for it."""
        for worker in self.workers:
            conn = worker.ensure()
            if tracking_uri and not worker.busy:
                conn.send(("warm", tracking_uri))

    def start(
        self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: Path
    ) -> JobHandle:
        target = console_script(argv[0]) if argv else None
        idle = next((w for w in self.workers if not w.busy), None)
        if target is None or idle is None:
            return self.fallback.start(argv, env, log_path, cwd)
        conn = idle.ensure()
        conn.send(("run", target, list(argv), dict(env), str(log_path), str(cwd)))
        idle.busy = True
        return _WarmHandle(idle, log_path)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.fallback.close()


# What `refit-trainer` imports for its train, evaluate and drift steps: loaded once by the warm
# worker (a module that is not installed is skipped).
REFIT_TRAINER_PRELOAD = (
    "refit_trainer.__main__",
    "refit_trainer.commands.train",
    "refit_trainer.commands.evaluate",
    "refit_trainer.commands.drift",
    "refit_trainer.recipes.daily_sales",
    "refit_trainer.recipes.churn",
    "refit_trainer.tracking",
    "sklearn.linear_model",
    "mlflow.sklearn",
    "mlflow.pyfunc",
)
