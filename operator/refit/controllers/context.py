"""What every handler shares: configuration, clients, the clock, and the wake-up registry."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from refit.adapters.kube import Kube
from refit.adapters.mlflow import Mlflow, connect
from refit.controllers.config import OperatorConfig
from refit.core.fair_queue import Waiting, admit

WakeKey = tuple[str, str, str]  # (kind, namespace, name)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Wakeups:
    """One asyncio.Event per object, so a watch event can wake the object's daemon at once
    instead of it polling: idle pipelines cost no API requests."""

    def __init__(self) -> None:
        self._events: dict[WakeKey, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def event(self, key: WakeKey) -> asyncio.Event:
        if key not in self._events:
            self._loop = asyncio.get_running_loop()
            self._events[key] = asyncio.Event()
        return self._events[key]

    def wake(self, key: WakeKey) -> None:
        event = self._events.get(key)
        if event is not None:
            event.set()

    def wake_from_thread(self, key: WakeKey) -> None:
        """`wake` for code running in a worker thread (a reconcile pass)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.wake, key)

    def forget(self, key: WakeKey) -> None:
        self._events.pop(key, None)


@dataclass
class Context:
    config: OperatorConfig
    kube: Kube
    clock: Callable[[], datetime] = utc_now
    wakeups: Wakeups = field(default_factory=Wakeups)
    _mlflow: dict[str, Mlflow] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _training: dict[str, str] = field(default_factory=dict)  # run → pipeline, Job running
    _waiting: dict[str, Waiting] = field(default_factory=dict)

    _pinged: dict[str, datetime] = field(default_factory=dict)

    def mlflow_reachable(self, tracking_uri: str | None, ttl_seconds: float = 30.0) -> None:
        """Raise MlflowUnavailable/LookupError unless the server answered within `ttl_seconds`:
        a fleet whose ticks fall in the same minute pings each server once, not once per run."""
        client = self.mlflow(tracking_uri)
        now = self.clock()
        with self._lock:
            last = self._pinged.get(client.tracking_uri)
        if last is not None and (now - last).total_seconds() < ttl_seconds:
            return
        client.ping()
        with self._lock:
            self._pinged[client.tracking_uri] = now

    def admit_training(self, run: str, pipeline: str, since: datetime) -> bool:
        """Whether `run` may create its training Job now under the global cap (fair by pipeline)."""
        cap = self.config.max_concurrent_jobs
        with self._lock:
            if cap <= 0 or run in self._training:
                self._training[run] = pipeline
                return True
            self._waiting[run] = Waiting(run, pipeline, since)
            running: dict[str, int] = {}
            for owner in self._training.values():
                running[owner] = running.get(owner, 0) + 1
            if run not in admit(list(self._waiting.values()), running, cap):
                return False
            del self._waiting[run]
            self._training[run] = pipeline
            return True

    def training_started(self, run: str, pipeline: str) -> None:
        """A run found training (e.g. after a restart) holds a slot."""
        with self._lock:
            self._waiting.pop(run, None)
            self._training[run] = pipeline

    def training_done(self, run: str) -> None:
        """`run` left its slot: wake the waiting runs that the fair queue admits now, instead of
        leaving them to notice on their next requeue (REFIT_REQUEUE_SECONDS later)."""
        with self._lock:
            freed = self._training.pop(run, None) is not None
            self._waiting.pop(run, None)
            admissible = self._admissible() if freed else []
        for waiting in admissible:
            namespace, _, name = waiting.partition("/")
            self.wakeups.wake_from_thread(("tr", namespace, name))

    def _admissible(self) -> list[str]:
        """Waiting runs the fair queue would admit now (caller holds the lock)."""
        cap = self.config.max_concurrent_jobs
        if cap <= 0 or not self._waiting:
            return []
        running: dict[str, int] = {}
        for owner in self._training.values():
            running[owner] = running.get(owner, 0) + 1
        return admit(list(self._waiting.values()), running, cap)

    def training_slots(self) -> tuple[int, int]:
        """(running, waiting) training Jobs, for messages and metrics."""
        with self._lock:
            return len(self._training), len(self._waiting)

    def mlflow(self, tracking_uri: str | None) -> Mlflow:
        """A client per tracking URI (pipelines may use different servers)."""
        uri = tracking_uri or self.config.mlflow_tracking_uri
        if not uri:
            raise LookupError(
                "no MLflow tracking URI: set spec.mlflow.trackingUri or REFIT_MLFLOW_TRACKING_URI"
            )
        with self._lock:
            if uri not in self._mlflow:
                self._mlflow[uri] = connect(uri)
            return self._mlflow[uri]
