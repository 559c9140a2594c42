"""N TrainingPipelines on `* * * * *` beside N CronJobs (kube-controller-manager's CronJob
controller) on the same apiserver, in the same minutes.

    python -m bench.schedule                   # N=50, 45 s idle window, 2 active ticks
    python -m bench.schedule --n 500 --ticks 3 --idle-seconds 300
    python -m bench.schedule --n 500 --ticks 0     # idle phase only

Phases, all against the real test control plane and a real MLflow server:

1. idle: N pipelines on a yearly schedule (`0 0 1 1 *`), reconciled, then a window in which
   nothing is due: the operator's apiserver requests and CPU per idle pipeline-hour.
2. active: the N pipelines are patched to, and N CronJobs created with, one cron expression
   that names only the measured minutes (e.g. `27,28 16 4 12 *`, UTC on both sides), so that
   neither side fires while the 2N objects are still being written (with `* * * * *` the
   first ones patched at N=1000 ran for minutes before the measured ticks and loaded them);
   both then fire every minute for --ticks minutes. Lateness
   of each child against its scheduled minute: TrainingRun (pipeline) and Job (CronJob)
   `creationTimestamp` (whole seconds, as the apiserver stores it) and the time this
   process's watch saw it (milliseconds; includes the watch delivery, equal for both).
   Both trainers are `python -c pass`, concurrencyPolicy Forbid, default history limits.
3. the operator's CPU seconds and peak RSS (VmHWM) from /proc; its apiserver requests
   exactly, because it runs as its own ServiceAccount (bench/harness.py); the apiserver's
   `apiserver_request_total` by verb and resource for all clients, before/after each phase.

"requests/run" is exact for the operator (all its requests in the active window, less its
idle rate, over the runs it created); for the CronJob controller, which shares
kube-controller-manager's identity with the Job controller, only its requests on the
`cronjobs` resource can be told apart, so its column is a lower bound (add at least the
Job POST and an event per run).

Targets: pipeline p99 lateness no worse than CronJob's; operator RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, watch

from bench.common import fmt, log, machine, percentile, proc_stats, table, write_result
from bench.harness import DEFAULT_STATE_DIR, Env, environment

GROUP, VERSION = "refit.dev", "v1alpha1"
CRON_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
RSS_TARGET_MB = 200
MB = 2**20
COMMAND = ["python", "-c", "pass"]
CREATE_THREADS = 4


def pipeline(name: str, cron: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainingPipeline",
        "metadata": {"name": name},
        "spec": {
            "schedule": {"cron": cron},
            "concurrencyPolicy": "Forbid",
            "data": {"train": "file:///dev/null"},
            "trainer": {
                "image": "refit-trainer:bench",
                "command": COMMAND,
                "evaluateCommand": COMMAND,
                "backoffLimit": 0,
            },
            "evaluation": {"metric": "rmse", "direction": "minimize"},
            "model": {"name": f"bench-{name}"},
        },
    }


def cronjob(name: str, cron: str) -> client.V1CronJob:
    container = client.V1Container(name="trainer", image="refit-trainer:bench", command=COMMAND)
    return client.V1CronJob(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1CronJobSpec(
            schedule=cron,
            time_zone="Etc/UTC",  # as the pipelines' (UTC by default)
            concurrency_policy="Forbid",
            job_template=client.V1JobTemplateSpec(
                spec=client.V1JobSpec(
                    backoff_limit=0,
                    template=client.V1PodTemplateSpec(
                        spec=client.V1PodSpec(containers=[container], restart_policy="Never")
                    ),
                )
            ),
        ),
    )


class Children:
    """Watches TrainingRuns and Jobs; records each child's scheduled time, creation time and
    the wall-clock time this process first saw it."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.cron_jobs: dict[str, dict[str, Any]] = {}
        self.run_jobs: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._watches: list[watch.Watch] = []
        custom, batch = client.CustomObjectsApi(api), client.BatchV1Api(api)
        runs = (custom.list_namespaced_custom_object, GROUP, VERSION, namespace, "trainingruns")
        self._threads = [
            threading.Thread(target=self._follow, args=(runs, self._on_run), daemon=True),
            threading.Thread(
                target=self._follow,
                args=((batch.list_namespaced_job, namespace), self._on_job),
                daemon=True,
            ),
        ]
        for t in self._threads:
            t.start()

    def _follow(self, call: tuple[Any, ...], handle: Any) -> None:
        lister, *args = call
        while not self._stop.is_set():
            w = watch.Watch()
            self._watches.append(w)
            try:
                for event in w.stream(lister, *args, timeout_seconds=120):
                    if event["type"] == "ADDED":
                        handle(event["object"], time.time())
                    if self._stop.is_set():
                        return
            except Exception as error:  # closed when stopping; otherwise watch again
                if self._stop.is_set():
                    return
                log(f"schedule: watch failed ({error!r}); watching again")
                time.sleep(1)

    def _on_run(self, run: dict[str, Any], seen: float) -> None:
        meta, trigger = run["metadata"], (run.get("spec") or {}).get("trigger") or {}
        if trigger.get("type") != "Schedule" or meta["name"] in self.runs:
            return
        self.runs[meta["name"]] = {
            "owner": (run.get("spec") or {}).get("pipelineRef", {}).get("name"),
            "scheduled": _ts(trigger["scheduledTime"]),
            "created": _ts(meta["creationTimestamp"]),
            "seen": seen,
        }

    def _on_job(self, job: Any, seen: float) -> None:
        meta = job.metadata
        owners = meta.owner_references or []
        labels = meta.labels or {}
        if any(o.kind == "CronJob" for o in owners):
            if meta.name in self.cron_jobs:
                return
            annotation = (meta.annotations or {}).get(CRON_ANNOTATION)
            # Without the annotation, the name says it: <cronjob>-<unix minutes>.
            scheduled = _ts(annotation) if annotation else int(meta.name.rsplit("-", 1)[1]) * 60.0
            self.cron_jobs[meta.name] = {
                "owner": owners[0].name,
                "scheduled": scheduled,
                "created": meta.creation_timestamp.timestamp(),
                "seen": seen,
            }
        elif labels.get("refit.dev/step") == "train" and meta.name not in self.run_jobs:
            self.run_jobs[meta.name] = {
                "run": labels.get("refit.dev/run"),
                "created": meta.creation_timestamp.timestamp(),
                "seen": seen,
            }

    def stop(self) -> None:
        self._stop.set()
        for w in self._watches:
            w.stop()


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def lateness(children: dict[str, dict[str, Any]], ticks: list[float]) -> dict[str, Any]:
    chosen = [c for c in children.values() if c["scheduled"] in ticks]
    created = [c["created"] - c["scheduled"] for c in chosen]
    seen = [(c["seen"] - c["scheduled"]) * 1000 for c in chosen]
    per_tick = {
        datetime.fromtimestamp(t, UTC).strftime("%H:%M"): sum(
            1 for c in chosen if c["scheduled"] == t
        )
        for t in ticks
    }
    return {
        "children": len(chosen),
        "per_tick": per_tick,
        "created_p50_s": percentile(created, 50),
        "created_p99_s": percentile(created, 99),
        "created_max_s": max(created) if created else None,
        "seen_p50_ms": percentile(seen, 50),
        "seen_p99_ms": percentile(seen, 99),
        "seen_max_ms": max(seen) if seen else None,
    }


def first_tick_after(earliest: float, ticks: int) -> float:
    """The first minute boundary after `earliest` from which `ticks` minutes fit in one hour
    (so that one cron expression can name exactly them)."""
    first = (int(earliest // 60) + 1) * 60.0
    minute = int(first // 60) % 60
    if minute + ticks > 60:
        first += (60 - minute) * 60
    return first


def tick_cron(ticks: list[float]) -> str:
    """A cron expression (UTC) that fires at exactly these minutes of one hour, and never
    before them: `27,28 16 4 12 *`."""
    moments = [datetime.fromtimestamp(t, UTC) for t in ticks]
    first = moments[0]
    if any((m.hour, m.day, m.month) != (first.hour, first.day, first.month) for m in moments):
        raise ValueError("the ticks must fall in one hour")
    minutes = ",".join(str(m.minute) for m in moments)
    return f"{minutes} {first.hour} {first.day} {first.month} *"


def wait_until(what: str, check: Any, timeout: float, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def measure(env: Env, n: int, ticks: int, idle_seconds: float) -> dict[str, Any]:
    namespace = env.namespace("bench-schedule")
    custom = client.CustomObjectsApi(env.api)
    batch = client.BatchV1Api(env.api)
    names = [f"p{i:04d}" for i in range(n)]
    out: dict[str, Any] = {"n": n, "ticks": ticks}
    operator = env.operator(namespace, "refit-operator-schedule").start()
    assert operator.proc is not None
    pid = operator.proc.pid
    children = Children(env.api, namespace)
    try:
        # --- idle ----------------------------------------------------------------------
        started = time.monotonic()
        _each(
            lambda name: custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, "trainingpipelines", pipeline(name, "0 0 1 1 *")
            ),
            names,
        )
        out["idle_creation_s"] = time.monotonic() - started

        def reconciled() -> bool:
            items = custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, "trainingpipelines"
            )["items"]
            return sum(bool((p.get("status") or {}).get("nextScheduleTime")) for p in items) == n

        wait_until(f"{n} pipelines reconciled", reconciled, timeout=120 + n)
        time.sleep(5)
        before, cpu_before, t0 = env.request_counts(), proc_stats(pid), time.monotonic()
        log(f"schedule: {n} idle pipelines, {idle_seconds:.0f} s window")
        time.sleep(idle_seconds)
        after, cpu_after = env.request_counts(), proc_stats(pid)
        idle_hours = n * (time.monotonic() - t0) / 3600
        idle = after.minus(before)
        out["idle"] = {
            "window_s": time.monotonic() - t0,
            "operator_requests": idle.operator,
            "operator_requests_per_pipeline_hour": idle.operator / idle_hours,
            "operator_cpu_s": cpu_after["cpu_s"] - cpu_before["cpu_s"],
            "operator_cpu_s_per_pipeline_hour": (cpu_after["cpu_s"] - cpu_before["cpu_s"])
            / idle_hours,
            "operator_rss_mb": cpu_after["rss_bytes"] / MB,
            "apiserver_requests_all_clients": idle.total,
            "apiserver_requests_by_kind": idle.by_resource(),
        }

        if ticks == 0:  # idle only
            stats = proc_stats(pid)
            out["operator"] = {
                "cpu_s_total": stats["cpu_s"],
                "peak_rss_mb": stats["peak_rss_bytes"] / MB,
                "rss_mb_end": stats["rss_bytes"] / MB,
            }
            return out
        # --- active: both on * * * * *, created before the same minute boundary -----------
        # Twice as many calls as the idle phase's creation, and the operator busier: at
        # N=1000 a fixed 0.15 s per object was not enough.
        creation_budget = max(15 + 0.15 * 2 * n, 30 + 3 * out["idle_creation_s"])
        first_tick = first_tick_after(time.time() + creation_budget, ticks)
        tick_list = [first_tick + 60 * k for k in range(ticks)]
        cron = tick_cron(tick_list)
        log(
            f"schedule: {n} pipelines and {n} CronJobs on `{cron}` (UTC); first tick "
            f"{datetime.fromtimestamp(first_tick, UTC):%H:%M:%S}, {ticks} tick(s)"
        )
        writing = time.monotonic()

        def both(index: int) -> None:
            custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                "trainingpipelines",
                names[index],
                {"spec": {"schedule": {"cron": cron}}},
            )
            batch.create_namespaced_cron_job(namespace, cronjob(f"c{index:04d}", cron))

        _each(both, range(n))
        created_by = time.time()
        if created_by >= first_tick:
            raise RuntimeError("creating the objects took past the first tick; raise the budget")
        out["active_creation_s"] = time.monotonic() - writing
        # The window starts once every object is written: its requests are the ticks' own.
        time.sleep(max(0.0, first_tick - 10 - time.time()))
        before, cpu_before, t0 = env.request_counts(), proc_stats(pid), time.monotonic()
        end = tick_list[-1] + 45
        time.sleep(max(0.0, end - time.time()))
        after, cpu_after = env.request_counts(), proc_stats(pid)
        active = after.minus(before)
        window_s = time.monotonic() - t0
        # The idle rate, taken out, leaves what the runs themselves cost.
        idle_rate = out["idle"]["operator_requests"] / out["idle"]["window_s"]
        runs = [r for r in children.runs.values() if r["scheduled"] in tick_list]
        cron_runs = [j for j in children.cron_jobs.values() if j["scheduled"] in tick_list]
        cron_requests = sum(v for (_, res, _s), v in active.by_kind.items() if res == "cronjobs")
        out["active"] = {
            "window_s": window_s,
            "seconds_to_spare_before_first_tick": first_tick - created_by,
            "pipelines": lateness(children.runs, tick_list),
            "cronjobs": lateness(children.cron_jobs, tick_list),
            "pipeline_training_jobs_seen": len(children.run_jobs),
            "operator_requests": active.operator,
            "operator_requests_per_run": (active.operator - idle_rate * window_s) / len(runs)
            if runs
            else None,
            "cronjob_resource_requests_per_cronjob_run": cron_requests / len(cron_runs)
            if cron_runs
            else None,
            "operator_cpu_s": cpu_after["cpu_s"] - cpu_before["cpu_s"],
            "apiserver_requests_all_clients": active.total,
            "apiserver_requests_by_kind": active.by_resource(),
        }
        stats = proc_stats(pid)
        out["operator"] = {
            "cpu_s_total": stats["cpu_s"],
            "peak_rss_mb": stats["peak_rss_bytes"] / MB,
            "rss_mb_end": stats["rss_bytes"] / MB,
        }
    finally:
        children.stop()
        try:
            _tear_down(env, namespace)
        except Exception as error:  # the figures must survive a slow clean-up
            # At N=1000 the apiserver dropped a collection delete of the CronJobs mid-request;
            # the figures are already taken, and a private cluster is discarded anyway.
            log(f"schedule: tear-down incomplete ({type(error).__name__}: {error})")
        operator.stop()
        try:
            env.delete_namespace(namespace)
        except Exception as error:
            log(f"schedule: namespace {namespace} not deleted ({type(error).__name__}: {error})")
    return out


def _each(call: Any, items: Any) -> None:
    """Apply `call` to every item on a few threads: creating 2N objects one at a time took
    minutes at N=1000."""
    with ThreadPoolExecutor(max_workers=CREATE_THREADS) as pool:
        list(pool.map(call, items))  # consumed, so that the first failure is raised here


def _tear_down(env: Env, namespace: str) -> None:
    custom = client.CustomObjectsApi(env.api)
    batch = client.BatchV1Api(env.api)
    with contextlib.suppress(client.ApiException):
        # One call each, CronJobs first: patching N objects one by one took minutes at
        # N=1000, during which unsuspended CronJobs kept firing and loaded the machine.
        batch.delete_collection_namespaced_cron_job(namespace, _request_timeout=300)
        # Deleted while the operator still runs, so that its finalizers come off.
        custom.delete_collection_namespaced_custom_object(
            GROUP, VERSION, namespace, "trainingpipelines"
        )
        with contextlib.suppress(TimeoutError):
            wait_until(
                "pipelines deleted",
                lambda: (
                    not custom.list_namespaced_custom_object(
                        GROUP, VERSION, namespace, "trainingpipelines"
                    )["items"]
                ),
                timeout=120,
            )


def lateness_verdicts(results: dict[str, Any]) -> dict[str, bool]:
    """p99 lateness no worse than CronJob's, counted only when both sides created every
    child in the window: percentiles over the children that did appear say nothing about
    the ones that did not (at N=1000 here, 97 and 245 of 2,000)."""
    a, expected = results["active"], results["n"] * results["ticks"]
    complete = all(a[side]["children"] >= expected for side in ("pipelines", "cronjobs"))

    def no_worse(key: str) -> bool:
        ours, theirs = a["pipelines"][key], a["cronjobs"][key]
        return complete and ours is not None and theirs is not None and ours <= theirs

    return {
        "all_children_created": complete,
        "p99_lateness_no_worse_than_cronjob": no_worse("seen_p99_ms"),
        "p99_created_lateness_no_worse_than_cronjob": no_worse("created_p99_s"),
    }


def render(result: dict[str, Any]) -> str:
    a = result["results"]["active"]
    p, c = a["pipelines"], a["cronjobs"]
    rows = [
        [
            "Refit pipelines",
            p["children"],
            p["created_p50_s"],
            p["created_p99_s"],
            p["seen_p50_ms"],
            p["seen_p99_ms"],
            a["operator_requests_per_run"],
        ],
        [
            "CronJobs (kube-controller-manager)",
            c["children"],
            c["created_p50_s"],
            c["created_p99_s"],
            c["seen_p50_ms"],
            c["seen_p99_ms"],
            a["cronjob_resource_requests_per_cronjob_run"],
        ],
    ]
    headers = [
        f"N={result['results']['n']}, {result['results']['ticks']} ticks",
        "children",
        "created late p50 s",
        "p99 s",
        "seen late p50 ms",
        "p99 ms",
        "apiserver requests/run",
    ]
    return table(headers, rows)


def main(argv: list[str] | None = None, env: Env | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.schedule", description=__doc__)
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--ticks", type=int, default=2)
    p.add_argument("--idle-seconds", type=float, default=45)
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if env is None:
        with environment(args.state_dir) as env:
            return main(argv, env)
    results = measure(env, args.n, args.ticks, args.idle_seconds)
    idle, op = results["idle"], results["operator"]
    if "active" not in results:
        result = {
            "benchmark": "schedule",
            "description": f"{args.n} idle TrainingPipelines (no active phase: --ticks 0)",
            "verdicts": {"operator_rss_under_200_mb": op["peak_rss_mb"] < RSS_TARGET_MB},
            "results": results,
            "machine": machine(),
        }
        path = write_result(f"schedule-n{args.n}-idle", result, args.out)
        print(
            f"{args.n} idle pipelines: operator peak RSS {op['peak_rss_mb']:.0f} MB, "
            f"{fmt(idle['operator_requests_per_pipeline_hour'])} requests and "
            f"{fmt(idle['operator_cpu_s_per_pipeline_hour'])} CPU s per pipeline-hour; wrote {path}"
        )
        return 0
    a = results["active"]
    verdicts = lateness_verdicts(results)
    verdicts["operator_rss_under_200_mb"] = op["peak_rss_mb"] < RSS_TARGET_MB
    result = {
        "benchmark": "schedule",
        "description": "N TrainingPipelines and N CronJobs on * * * * * in the same minutes",
        "targets": {"p99 lateness": "no worse than CronJob", "operator RSS": "< 200 MB"},
        "verdicts": verdicts,
        "results": results,
        "machine": machine(),
    }
    path = write_result(f"schedule-n{args.n}", result, args.out)
    print(render(result))
    print(
        f"operator: peak RSS {op['peak_rss_mb']:.0f} MB, CPU {fmt(a['operator_cpu_s'])} s "
        f"over the {fmt(a['window_s'])} s active window; idle: "
        f"{fmt(idle['operator_requests_per_pipeline_hour'])} requests and "
        f"{fmt(idle['operator_cpu_s_per_pipeline_hour'])} CPU s per pipeline-hour"
    )
    print(f"targets: {verdicts}; wrote {path}")
    return 0
