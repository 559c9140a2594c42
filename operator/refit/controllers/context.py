"""What every handler shares: configuration, clients, the clock, and the wake-up registry."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from refit.adapters.kube import Kube
from refit.adapters.mlflow import Mlflow
from refit.controllers.config import OperatorConfig

WakeKey = tuple[str, str, str]  # (kind, namespace, name)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Wakeups:
    """One asyncio.Event per object, so a watch event can wake the object's daemon at once
    instead of it polling: idle pipelines cost no API requests."""

    def __init__(self) -> None:
        self._events: dict[WakeKey, asyncio.Event] = {}

    def event(self, key: WakeKey) -> asyncio.Event:
        if key not in self._events:
            self._events[key] = asyncio.Event()
        return self._events[key]

    def wake(self, key: WakeKey) -> None:
        event = self._events.get(key)
        if event is not None:
            event.set()

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

    def mlflow(self, tracking_uri: str | None) -> Mlflow:
        """A client per tracking URI (pipelines may use different servers)."""
        uri = tracking_uri or self.config.mlflow_tracking_uri
        if not uri:
            raise LookupError(
                "no MLflow tracking URI: set spec.mlflow.trackingUri or REFIT_MLFLOW_TRACKING_URI"
            )
        with self._lock:
            if uri not in self._mlflow:
                self._mlflow[uri] = Mlflow(uri)
            return self._mlflow[uri]
