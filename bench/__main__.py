"""`make bench`: the quick version of every benchmark, then one summary table.

    python -m bench                # drift (10k x 20, 100k x 50), trigger, schedule (N=50), gpu
    python -m bench --skip drift   # any of drift, trigger, schedule, gpu

Drift runs first (no cluster); trigger and schedule share one control plane (tests/cluster,
state in $TMPDIR/bench-cluster, reused when already up) and one MLflow server. bench/gpu
skips itself without a CUDA device. Results: bench/results/*.json and summary.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bench.common import RESULTS, fmt, log, machine, table


def _lateness_verdict(verdicts: dict[str, bool]) -> str:
    if not verdicts.get("all_children_created", True):
        return "p99 no worse than CronJob: not shown (children missing)"
    return f"p99 no worse than CronJob: {'met' if verdicts['p99_lateness_no_worse_than_cronjob'] else 'not met'}"


def summary() -> str:
    def load(name: str) -> dict[str, Any] | None:
        path = RESULTS / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    rows: list[list[Any]] = []
    drifts = [("drift-full", "drift (full)"), ("drift", "drift (quick)")]
    for path in sorted(RESULTS.glob("drift-current*.json")):
        drifts.append((path.stem, f"drift ({path.stem.removeprefix('drift-')})"))
    for name, label in drifts:
        drift = load(name)
        if drift is None:
            continue
        for case in drift["cases"]:
            r, e = case["ratios"], case["engines"]
            agree = case["agreement"].get("evidently")
            rows.append(
                [
                    f"{label} {case['rows']:,} x {case['features']}"
                    + (
                        f" (current {case['current_rows']:,})"
                        if case.get("current_rows", case["rows"]) != case["rows"]
                        else ""
                    ),
                    f"refit {fmt(e['refit']['wall_s'])} s, evidently "
                    f"{fmt(e.get('evidently', {}).get('wall_s'))} s, sort "
                    f"{fmt(e['sort']['wall_s'])} s",
                    f"{fmt(r.get('evidently_over_refit_wall'))}x faster than Evidently, "
                    f"{fmt(r.get('refit_over_sort_wall'))}x the sort",
                    f"verdicts {agree['agree']}/{agree['features']} equal" if agree else "-",
                ]
            )
    trigger = load("trigger")
    if trigger:
        for kind in trigger["kinds"]:
            t = trigger["results"][kind]
            rows.append(
                [
                    f"trigger ({kind} run → Job)",
                    f"p50 {fmt(t['p50_ms'])} ms, p99 {fmt(t['p99_ms'])} ms ({t['runs']} runs)",
                    f"target p50 < 100 ms: {'met' if t['p50_ms'] < 100 else 'not met'}",
                    f"MLflow find-or-create {fmt(trigger['results']['floors']['mlflow_ensure_run_ms']['p50_ms'])} ms",
                ]
            )
    for path in sorted(RESULTS.glob("schedule-n*.json")):
        s = json.loads(path.read_text())
        if "active" not in s["results"]:
            res, op, idle = s["results"], s["results"]["operator"], s["results"]["idle"]
            rows.append(
                [
                    f"schedule N={res['n']} idle only",
                    f"operator peak RSS {fmt(op['peak_rss_mb'])} MB",
                    f"RSS < 200 MB: {'met' if s['verdicts']['operator_rss_under_200_mb'] else 'not met'}",
                    f"{fmt(idle['operator_requests_per_pipeline_hour'])} req/idle pipeline-h",
                ]
            )
            continue
        res = s["results"]
        a, op, idle = res["active"], res["operator"], res["idle"]
        rows.append(
            [
                f"schedule N={res['n']} lateness p50/p99",
                f"pipelines {fmt(a['pipelines']['seen_p50_ms'])}/{fmt(a['pipelines']['seen_p99_ms'])} ms, "
                f"CronJobs {fmt(a['cronjobs']['seen_p50_ms'])}/{fmt(a['cronjobs']['seen_p99_ms'])} ms",
                _lateness_verdict(s["verdicts"]),
                f"children {a['pipelines']['children']} vs {a['cronjobs']['children']}"
                f" of {res['n'] * res['ticks']} each",
            ]
        )
        rows.append(
            [
                f"schedule N={res['n']} operator",
                f"peak RSS {fmt(op['peak_rss_mb'])} MB, CPU {fmt(a['operator_cpu_s'])} s "
                f"in {fmt(a['window_s'])} s",
                f"RSS < 200 MB: {'met' if s['verdicts']['operator_rss_under_200_mb'] else 'not met'}",
                f"{fmt(idle['operator_requests_per_pipeline_hour'])} req/idle pipeline-h, "
                f"{fmt(a['operator_requests_per_run'])} req/run",
            ]
        )
    gpu = load("gpu")
    if gpu:
        if "skipped" in gpu:
            rows.append(["gpu (recommender)", f"skipped: {gpu['skipped']}", "-", "-"])
        else:
            t = gpu["training"]
            rows.append(
                [
                    "gpu (recommender BPR)",
                    f"{fmt(t['samples_per_second'])} samples/s on {t['device_name']}",
                    f"GPU util mean {fmt(t['gpu'].get('utilization_mean_pct'))} %",
                    f"end to end {fmt(gpu.get('cli', {}).get('seconds'))} s",
                ]
            )
    m = machine()
    head = (
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, shared "
        f"(load average now {m['load_average'][0]}); commit {m['git_commit']}\n\n"
    )
    return head + table(["benchmark", "measured", "against the target", "also"], rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--skip", action="append", default=[], help="drift|trigger|schedule|gpu")
    p.add_argument("--summary", action="store_true", help="only print the table of bench/results")
    args = p.parse_args(argv)
    if args.summary:
        print(summary())
        return 0
    started = time.monotonic()
    failed: list[str] = []

    def step(name: str, fn: Any) -> None:
        if name in args.skip:
            return
        t0 = time.monotonic()
        log(f"=== bench/{name}")
        try:
            code = fn()
        except Exception as error:  # one broken benchmark must not hide the others
            log(f"bench/{name} failed: {error!r}")
            code = 1
        if code:
            failed.append(name)
        log(f"=== bench/{name}: {time.monotonic() - t0:.0f} s")

    from bench.drift.run import main as drift

    step("drift", lambda: drift([]))
    if not {"trigger", "schedule"} <= set(args.skip):
        from bench.harness import environment
        from bench.schedule.run import main as schedule
        from bench.trigger.run import main as trigger

        with environment() as env:
            step("trigger", lambda: trigger([], env))
            step("schedule", lambda: schedule([], env))
    from bench.gpu.run import main as gpu

    step("gpu", lambda: gpu([]))
    text = summary()
    (RESULTS / "summary.md").write_text(text + "\n")
    print()
    print(text)
    print(f"\nbench: {time.monotonic() - started:.0f} s; results in {RESULTS}")
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
