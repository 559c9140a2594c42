"""refit.adapters.series exposes exactly what prometheus_client's own labelled metrics would for
the same calls, so alerts and dashboards cannot tell them apart."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import prometheus_client
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from refit.adapters import metrics, series

BUCKETS = (30, 60, 120, 300)


@pytest.fixture(autouse=True)
def without_created_series() -> Iterator[None]:
    """Refit exports no `_created` series; prometheus_client's reference must not either (a
    global switch it reads whenever a labelled child is made)."""
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    yield
    prometheus_client.enable_created_metrics()  # type: ignore[no-untyped-call]


def _both() -> tuple[CollectorRegistry, CollectorRegistry, list[object], list[object]]:
    """The same three metrics in prometheus_client and in series, each in its own registry."""
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    reference = [
        prometheus_client.Counter("x_runs_total", "Runs.", ["ns", "p"], registry=theirs),
        prometheus_client.Gauge("x_ready", "Ready.", ["ns", "p"], registry=theirs),
        prometheus_client.Histogram(
            "x_seconds", "Time.", ["ns", "p"], buckets=BUCKETS, registry=theirs
        ),
    ]
    compact = [
        series.Counter("x_runs_total", "Runs.", ["ns", "p"], registry=ours),
        series.Gauge("x_ready", "Ready.", ["ns", "p"], registry=ours),
        series.Histogram("x_seconds", "Time.", ["ns", "p"], buckets=BUCKETS, registry=ours),
    ]
    return theirs, ours, reference, compact


def test_exposition_equals_prometheus_clients_for_the_same_calls() -> None:
    theirs, ours, reference, compact = _both()
    for counter, gauge, histogram in (reference, compact):
        counter.labels("a", "p1").inc()
        counter.labels("a", "p1").inc(2.5)
        counter.labels("a", "p2")  # declared, exported at 0
        gauge.labels("a", "p1").set(1)
        gauge.labels("b", "p3").set(-0.25)
        for value in (1, 30, 31, 299.5, 301, 10_000):
            histogram.labels("a", "p1").observe(value)
        histogram.labels("b", "p3").observe(60)
    assert generate_latest(ours).decode() == generate_latest(theirs).decode()


def test_removal_matches_and_forgets_only_the_named_series() -> None:
    theirs, ours, reference, compact = _both()
    for counter, gauge, _ in (reference, compact):
        for p in ("p1", "p2"):
            counter.labels("a", p).inc()
            gauge.labels("a", p).set(3)
        gauge.remove("a", "p1")
        gauge.remove("a", "p1")  # already gone: no error
    compact[0].remove_matching(("a", "p2"))
    reference[0].remove("a", "p2")
    assert generate_latest(ours).decode() == generate_latest(theirs).decode()


def test_wrong_label_count_and_misuse_are_refused() -> None:
    counter = series.Counter("y_total", "Y.", ["ns", "p"])
    with pytest.raises(ValueError, match="expected labels"):
        counter.labels("only-one")
    with pytest.raises(ValueError, match="only go up"):
        counter.labels("a", "b").inc(-1)
    with pytest.raises(TypeError):
        counter.labels("a", "b").set(3)
    with pytest.raises(ValueError, match="ascending"):
        series.Histogram("z_seconds", "Z.", ["ns"], buckets=(5, 1))


def test_concurrent_increments_are_not_lost() -> None:
    counter = series.Counter("w_total", "W.", ["ns"])

    def add() -> None:
        for _ in range(20_000):
            counter.labels("a").inc()

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.value("a") == 80_000


def test_a_metric_without_labels_is_set_directly() -> None:
    gauge = series.Gauge("v_jobs", "V.")
    gauge.set(3)
    assert gauge.value() == 3.0


def test_forget_pipeline_drops_every_series_of_that_pipeline_only() -> None:
    metrics.declare_pipeline("forget-ns", "gone")
    metrics.declare_pipeline("forget-ns", "kept")
    metrics.READY.labels("forget-ns", "gone").set(1)
    metrics.RUN_DURATION.labels("forget-ns", "gone", "Promoted").observe(42)
    metrics.CHAMPION_METRIC.labels("forget-ns", "gone", "rmse").set(3)
    metrics.forget_pipeline("forget-ns", "gone")
    text = generate_latest(metrics.REGISTRY).decode()
    assert 'pipeline="gone"' not in text
    assert 'namespace="forget-ns",pipeline="kept"' in text
    metrics.forget_pipeline("forget-ns", "kept")
