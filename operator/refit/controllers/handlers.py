"""kopf wiring: thin handlers that hand each object to its reconcile function.

One daemon per pipeline and per unfinished run sleeps until its next deadline or until a watch
event wakes it (a run changed, a Job changed, the object itself changed). Runs are kept in an
in-memory index so a pipeline pass reads no API at all: idle pipelines cost no requests.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from refit.adapters import metrics
from refit.adapters.kube import PIPELINES, RUNS, Conflict
from refit.adapters.kube_jobs import job_summary
from refit.api.base import GROUP, VERSION
from refit.api.enums import RunPhase
from refit.controllers.context import Context
from refit.controllers.pipelines import reconcile_pipeline
from refit.controllers.runs import reconcile_run
from refit.core.job_spec import LABEL_MANAGED_BY, LABEL_PIPELINE, LABEL_RUN, LABEL_STEP, MANAGED_BY
from refit.core.pipeline_plan import RunSummary

log = logging.getLogger(__name__)

FINALIZER = "refit.dev/finalizer"
ANNOTATION_PREFIX = "refit.dev"
MAX_BACKOFF = 300.0
# Reconcile passes block on HTTP (apiserver, MLflow), so they run in threads. Pipelines and runs
# get a pool each: at a tick, the pipelines' passes (which create the scheduled runs) must not
# queue behind the new runs' passes, which wait on MLflow (asyncio's default pool has only
# cpu_count + 4 threads, 6 on two cores).
PIPELINE_WORKERS = 16
RUN_WORKERS = 16


def _terminal(status: Any, **_: Any) -> bool:
    phase = (status or {}).get("phase")
    return phase in {p.value for p in RunPhase if p.terminal}


def _snapshot(body: Any) -> dict[str, Any]:
    return copy.deepcopy(dict(body))


async def _sleep(ctx: Context, key: tuple[str, str, str], stopped: Any, seconds: float) -> None:
    """Sleep until woken by a watch event, stopped by kopf, or `seconds` pass."""
    event = ctx.wakeups.event(key)
    if not event.is_set():

        async def until_stopped() -> None:
            await stopped.wait()

        waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(until_stopped())}
        try:
            await asyncio.wait(
                waiters, timeout=min(max(0.0, seconds), 3600.0), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
    event.clear()


async def _reread(ctx: Context, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The object as the API server has it now: after a Conflict the watch may not have
    delivered the newer version yet, and deciding again from the stale one would conflict again."""
    try:
        return await asyncio.to_thread(ctx.kube.get, plural, namespace, name)
    except Exception as error:  # e.g. the API server is restarting: the loop backs off
        log.warning("re-reading %s %s/%s failed: %s", plural, namespace, name, error)
        return None


def register(registry: kopf.OperatorRegistry, ctx: Context) -> None:
    """Register every handler on `registry`, closing over the shared context."""
    pipeline_pool = ThreadPoolExecutor(PIPELINE_WORKERS, thread_name_prefix="refit-pipeline")
    run_pool = ThreadPoolExecutor(RUN_WORKERS, thread_name_prefix="refit-run")

    # A daemon copies its body only when its pass can start: at a tick, 1000 woken pipelines
    # would otherwise each hold a copy while queued for the pool's 16 threads.
    pipeline_turns = asyncio.Semaphore(PIPELINE_WORKERS)
    run_turns = asyncio.Semaphore(RUN_WORKERS)

    async def in_pool(pool: ThreadPoolExecutor, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(fn, *args))

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # A private registry has none of kopf's default login handlers: use the kubernetes
        # client's own config loading (in-cluster, or the kubeconfig kubectl would use).
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = FINALIZER
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
            prefix=ANNOTATION_PREFIX
        )
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
        )
        settings.posting.enabled = (
            False  # our own events carry reasons; kopf's would duplicate them
        )
        settings.watching.server_timeout = 300
        # Serving a fixed list of namespaces, there is nothing to discover: without this kopf lists
        # and watches every namespace and CRD of the cluster (and, lacking the permission in the
        # chart's namespaced mode, retries for about a minute before it serves anything). Off, the
        # operator needs no cluster-scoped permission at all. Patterns (globs, negations) still
        # need the namespace watch.
        settings.scanning.disabled = bool(ctx.config.namespaces) and not any(
            set(ns) & set("*?[!") for ns in ctx.config.namespaces
        )
        settings.networking.request_timeout = 60
        settings.execution.max_workers = 8

    @kopf.index(GROUP, VERSION, "trainingruns", id="runs_by_pipeline", registry=registry)
    def runs_by_pipeline(
        namespace: str | None, body: kopf.Body, **_: Any
    ) -> dict[tuple[str | None, str], RunSummary]:
        pipeline = (body.get("spec") or {}).get("pipelineRef", {}).get("name", "")
        return {(namespace, pipeline): RunSummary.from_object(body)}

    @kopf.index(
        "batch",
        "v1",
        "jobs",
        labels={LABEL_MANAGED_BY: MANAGED_BY},
        id="jobs_by_run",
        registry=registry,
    )
    def jobs_by_run(
        namespace: str | None,
        name: str,
        labels: Mapping[str, str],
        spec: Any,
        status: Any,
        **_: Any,
    ) -> dict[tuple[str, str], dict[str, Any]] | None:
        # A run pass reads its Jobs here instead of listing them: no request per pass.
        run = labels.get(LABEL_RUN)
        if not run or labels.get(LABEL_STEP) == "drift":
            return None
        return {(namespace or "", run): job_summary(name, spec, status)}

    @kopf.on.event(GROUP, VERSION, "trainingruns", registry=registry)
    def run_changed(namespace: str | None, name: str, body: kopf.Body, **_: Any) -> None:
        pipeline = (body.get("spec") or {}).get("pipelineRef", {}).get("name", "")
        ctx.wakeups.wake(("tp", namespace or "", pipeline))
        ctx.wakeups.wake(("tr", namespace or "", name))

    @kopf.on.event("batch", "v1", "jobs", labels={LABEL_MANAGED_BY: MANAGED_BY}, registry=registry)
    def job_changed(namespace: str | None, labels: Mapping[str, str], **_: Any) -> None:
        if labels.get(LABEL_STEP) == "drift":
            ctx.wakeups.wake(("tp", namespace or "", labels.get(LABEL_PIPELINE, "")))
        else:
            ctx.wakeups.wake(("tr", namespace or "", labels.get(LABEL_RUN, "")))

    @kopf.on.event(GROUP, VERSION, "trainingpipelines", registry=registry)
    def pipeline_changed(namespace: str | None, name: str, type: str, **_: Any) -> None:
        ctx.wakeups.wake(("tp", namespace or "", name))
        if type == "DELETED":
            metrics.forget_pipeline(namespace or "", name)

    @kopf.daemon(GROUP, VERSION, "trainingpipelines", registry=registry, cancellation_timeout=5.0)
    async def pipeline_daemon(
        stopped: kopf.DaemonStopped,
        namespace: str | None,
        name: str,
        body: kopf.Body,
        **kwargs: Any,
    ) -> None:
        runs_by_pipeline: kopf.Index[Any, Any] = kwargs["runs_by_pipeline"]
        namespace = namespace or ""
        key = ("tp", namespace, name)
        backoff = 1.0
        fresh: dict[str, Any] | None = None  # re-read after a Conflict, used for one pass
        current: dict[str, Any] | None = None
        while not stopped:
            try:
                async with pipeline_turns:
                    runs = list(runs_by_pipeline.get((namespace, name), []))
                    current, fresh = fresh or _snapshot(body), None
                    wake_at = await in_pool(pipeline_pool, reconcile_pipeline, ctx, current, runs)
                backoff = 1.0
                delay = (wake_at - ctx.clock()).total_seconds() if wake_at else 3600.0
            except Conflict as conflict:
                log.info("pipeline %s/%s: %s", namespace, name, conflict)
                metrics.STATUS_CONFLICTS.labels("TrainingPipeline").inc()
                fresh, delay = await _reread(ctx, PIPELINES, namespace, name), 0.0
                if fresh is None:  # deleted meanwhile (kopf stops this daemon), or unreadable
                    delay = backoff
            except Exception:
                log.exception(
                    "pipeline %s/%s: reconcile failed; retrying in %.0fs", namespace, name, backoff
                )
                metrics.RECONCILE_ERRORS.labels("TrainingPipeline").inc()
                delay, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
            current = None  # not kept alive while sleeping: 13 KB per pipeline, 13 MB at N=1000
            await _sleep(ctx, key, stopped, delay)
        ctx.wakeups.forget(key)

    @kopf.daemon(
        GROUP,
        VERSION,
        "trainingruns",
        registry=registry,
        when=lambda status, **_: not _terminal(status),
        cancellation_timeout=5.0,
    )
    async def run_daemon(
        stopped: kopf.DaemonStopped,
        namespace: str | None,
        name: str,
        body: kopf.Body,
        **kwargs: Any,
    ) -> None:
        jobs_by_run: kopf.Index[Any, Any] = kwargs["jobs_by_run"]
        namespace = namespace or ""
        key = ("tr", namespace, name)
        backoff = 1.0
        fresh: dict[str, Any] | None = None  # re-read after a Conflict, used for one pass
        current: dict[str, Any] | None = None
        while not stopped:
            try:
                async with run_turns:
                    current, fresh = fresh or _snapshot(body), None
                    jobs = list(jobs_by_run.get((namespace, name), []))
                    delay = await in_pool(run_pool, reconcile_run, ctx, current, jobs)
                backoff = 1.0
            except Conflict as conflict:
                log.info("run %s/%s: %s", namespace, name, conflict)
                metrics.STATUS_CONFLICTS.labels("TrainingRun").inc()
                fresh, delay = await _reread(ctx, RUNS, namespace, name), 0.0
                if fresh is None:
                    delay = backoff
            except Exception:
                log.exception(
                    "run %s/%s: reconcile failed; retrying in %.0fs", namespace, name, backoff
                )
                metrics.RECONCILE_ERRORS.labels("TrainingRun").inc()
                delay, backoff = backoff, min(backoff * 2, MAX_BACKOFF)
            if delay is None:
                break
            current = None  # not kept alive while sleeping
            await _sleep(ctx, key, stopped, delay)
        ctx.wakeups.forget(key)
