"""`refit get` (the fleet at a glance) and `refit status NAME` (one pipeline in depth)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from refit.cli.connection import PIPELINES, RUNS, Cluster
from refit.core.job_spec import LABEL_PIPELINE

DRIFT_REPORT_ARTIFACT = "drift/report.json"
RECENT_RUNS = 10


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def ago(value: Any, now: datetime) -> str:
    """`3h ago` / `in 2d` / `—`, like kubectl's AGE column."""
    moment = _time(value)
    if moment is None:
        return "—"
    seconds = (now - moment).total_seconds()
    span = _span(abs(seconds))
    return f"{span} ago" if seconds >= 0 else f"in {span}"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return None


def _status_text(value: str | None) -> Text:
    style = {"True": "green", "False": "red"}.get(value or "", "")
    return Text(value or "—", style=style)


def _schedule(spec: dict[str, Any]) -> str:
    schedule = spec.get("schedule")
    if schedule:
        zone = schedule.get("timeZone") or "UTC"
        return str(schedule["cron"]) + ("" if zone == "UTC" else f" {zone}")
    if (spec.get("triggers") or {}).get("drift"):
        return "on drift"
    return "manual"


def _number(value: Any) -> str:
    if value is None:
        return "—"
    number = float(value)
    return f"{number:.4g}" if abs(number) < 1000 else f"{number:,.0f}"


def fleet_rows(items: list[dict[str, Any]], all_namespaces: bool, now: datetime) -> list[list[str]]:
    """The `refit get` table, header first: one row per pipeline, kubectl-style."""
    header = [
        "NAME",
        "SCHEDULE",
        "LAST RUN",
        "PHASE",
        "CHAMPION",
        "METRIC",
        "DRIFT",
        "READY",
        "NEXT RUN",
    ]
    rows = [["NAMESPACE", *header] if all_namespaces else header]
    ordered = sorted(
        items, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
    )
    for obj in ordered:
        meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
        last = status.get("lastRun") or {}
        champion = status.get("champion") or {}
        drift = status.get("lastDriftCheck") or {}
        ready = condition(obj, "Ready")
        metric = "—"
        if champion.get("metricValue") is not None:
            name = champion.get("metric") or (spec.get("evaluation") or {}).get("metric")
            metric = f"{name}={_number(champion['metricValue'])}"
        drift_text = "—"
        if drift.get("result"):
            drift_text = str(drift["result"])
            if drift.get("driftShare") is not None and drift["result"] in ("Drift", "NoDrift"):
                drift_text += f" {float(drift['driftShare']):.0%}"
        last_run = "—"
        if last.get("name"):
            when = last.get("completionTime") or last.get("startTime") or last.get("scheduledTime")
            last_run = f"{last['name']} ({ago(when, now)})"
        row = [
            meta["name"],
            _schedule(spec),
            last_run,
            last.get("phase") or "—",
            f"v{champion['version']}" if champion.get("version") else "—",
            metric,
            drift_text,
            (ready or {}).get("status") or "—",
            "suspended" if spec.get("suspend") else ago(status.get("nextScheduleTime"), now),
        ]
        rows.append([meta.get("namespace", ""), *row] if all_namespaces else row)
    return rows


def columns(rows: list[list[str]]) -> str:
    """Aligned columns, three spaces apart, never wrapped (like kubectl get)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


# --- status ---------------------------------------------------------------------------------------


def tracking_uri(pipeline: dict[str, Any], override: str | None) -> str | None:
    """Where the pipeline's MLflow is, as seen from here: --tracking-uri, the spec, the env."""
    spec_uri = ((pipeline.get("spec") or {}).get("mlflow") or {}).get("trackingUri")
    return (
        override
        or spec_uri
        or os.environ.get("REFIT_MLFLOW_TRACKING_URI")
        or os.environ.get("MLFLOW_TRACKING_URI")
    )


def ui_base(uri: str | None) -> str | None:
    return uri.rstrip("/") if uri and uri.startswith(("http://", "https://")) else None


def _conditions(obj: dict[str, Any]) -> Table:
    table = Table(title="conditions", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("TYPE", "STATUS", "REASON", "MESSAGE", "SINCE"):
        table.add_column(column, overflow="fold")
    now = datetime.now(UTC)
    for item in (obj.get("status") or {}).get("conditions") or []:
        table.add_row(
            item.get("type", ""),
            _status_text(item.get("status")),
            item.get("reason", ""),
            item.get("message", ""),
            ago(item.get("lastTransitionTime"), now),
        )
    return table


def _champion(pipeline: dict[str, Any], ui: str | None) -> list[RenderableType]:
    status = pipeline.get("status") or {}
    model = ((pipeline.get("spec") or {}).get("model") or {}).get("name", "")
    champion = status.get("champion") or {}
    now = datetime.now(UTC)
    if not champion.get("version"):
        return [Text("champion: none yet")]
    line = Text.assemble(
        ("champion: ", "bold"),
        f"{model} version {champion['version']}",
        f", {champion.get('metric')}={_number(champion.get('metricValue'))}"
        if champion.get("metricValue") is not None
        else "",
        f", promoted {ago(champion.get('promotedAt'), now)}",
        f" by {champion['trainingRun']}" if champion.get("trainingRun") else "",
    )
    out: list[RenderableType] = [line]
    if ui:
        out.append(Text(f"  {ui}/#/models/{model}/versions/{champion['version']}"))
    history = status.get("championHistory") or []
    if history:
        past = ", ".join(
            f"v{c.get('version')} ({ago(c.get('promotedAt'), now)})" for c in history[:5]
        )
        out.append(
            Text(f"previous champions (newest first; `refit rollback` restores the first): {past}")
        )
    return out


def _runs(cluster: Cluster, name: str, metric: str | None) -> list[RenderableType]:
    runs = cluster.list(RUNS, selector=f"{LABEL_PIPELINE}={name}")
    runs = [r for r in runs if (r.get("spec") or {}).get("pipelineRef", {}).get("name") == name]
    runs.sort(key=lambda r: r["metadata"].get("creationTimestamp") or "", reverse=True)
    if not runs:
        return [Text("runs: none yet")]
    table = Table(
        title=f"recent runs ({min(len(runs), RECENT_RUNS)} of {len(runs)})",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for column in (
        "NAME",
        "TRIGGER",
        "PHASE",
        f"CANDIDATE {metric}",
        f"CHAMPION {metric}",
        "DECISION",
        "AGE",
    ):
        table.add_column(column, overflow="fold")
    now = datetime.now(UTC)
    links: list[str] = []
    for run in runs[:RECENT_RUNS]:
        status = run.get("status") or {}
        decision = status.get("decision") or {}
        failed = status.get("phase") == "Failed"
        why = status.get("failureReason") if failed else decision.get("reason")
        candidate = (status.get("candidate") or {}).get("metrics") or {}
        champion = (status.get("champion") or {}).get("metrics") or {}
        table.add_row(
            run["metadata"]["name"],
            (run.get("spec") or {}).get("trigger", {}).get("type", ""),
            status.get("phase") or "Pending",
            _number(candidate.get(metric or "")),
            _number(champion.get(metric or "")),
            why or "—",
            ago(run["metadata"].get("creationTimestamp"), now),
        )
        if status.get("mlflowRunUrl"):
            links.append(f"  {run['metadata']['name']}: {status['mlflowRunUrl']}")
    out: list[RenderableType] = [table]
    if links:
        # Outside the table: a link folded across two cells cannot be clicked or copied.
        out.append(Text("MLflow runs:\n" + "\n".join(links), no_wrap=True, overflow="ignore"))
    return out


def drift_report(uri: str | None, run_id: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The last drift check's report from MLflow, or why it could not be read."""
    if not run_id:
        return None, None
    if not uri:
        return None, "no MLflow tracking URI (set --tracking-uri or MLFLOW_TRACKING_URI)"
    # Fail fast: `refit status` should not hang on an MLflow it cannot reach.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        from mlflow.tracking import MlflowClient

        path = MlflowClient(tracking_uri=uri).download_artifacts(run_id, DRIFT_REPORT_ARTIFACT)
        with open(path, encoding="utf-8") as handle:
            return json.load(handle), None
    except Exception as error:  # any failure here only costs the per-feature detail
        return None, f"drift report not readable from {uri}: {str(error).splitlines()[0][:200]}"


def _drift(pipeline: dict[str, Any], uri: str | None) -> list[RenderableType]:
    check = (pipeline.get("status") or {}).get("lastDriftCheck") or {}
    if not check:
        return []
    now = datetime.now(UTC)
    share = check.get("driftShare")
    out: list[RenderableType] = [
        Text.assemble(
            ("drift: ", "bold"),
            f"{check.get('result') or '—'}",
            f", share {float(share):.0%}" if share is not None else "",
            f", checked {ago(check.get('time') or check.get('scheduledTime'), now)}",
            f"; drifted: {', '.join(check.get('driftedFeatures') or []) or 'none'}",
            f"; {check['message']}"
            if check.get("message") and check.get("result") == "Failed"
            else "",
        )
    ]
    report, problem = drift_report(uri, check.get("mlflowRunId"))
    if problem:
        out.append(Text(f"  ({problem})", style="dim"))
    features = (report or {}).get("features") or []
    if features:
        table = Table(show_edge=False, pad_edge=False)
        for column in ("FEATURE", "TEST", "STATISTIC", "THRESHOLD", "DRIFTED"):
            table.add_column(column)
        for item in features:
            table.add_row(
                str(item.get("feature")),
                str(item.get("stattest") or item.get("status")),
                _number(item.get("score")),
                _number(item.get("threshold")),
                Text("yes", style="red") if item.get("drifted") else Text("no"),
            )
        out.append(table)
    return out


def status_view(cluster: Cluster, name: str, override_uri: str | None) -> Group:
    pipeline = cluster.get(PIPELINES, name)
    spec, status = pipeline.get("spec") or {}, pipeline.get("status") or {}
    uri = tracking_uri(pipeline, override_uri)
    ui = ui_base(uri)
    metric = (spec.get("evaluation") or {}).get("metric")
    now = datetime.now(UTC)
    header = Text.assemble(
        (f"TrainingPipeline {cluster.namespace}/{name}", "bold"),
        f"  schedule: {_schedule(spec)}",
        "  (suspended)" if spec.get("suspend") else "",
        f", next run {ago(status.get('nextScheduleTime'), now)}"
        if status.get("nextScheduleTime")
        else "",
        f"\nmodel: {(spec.get('model') or {}).get('name')} (alias {(spec.get('model') or {}).get('championAlias', 'champion')}), "
        f"gate: {metric} {(spec.get('evaluation') or {}).get('direction')}",
        f"\nMLflow: {uri}" if uri else "",
    )
    parts: list[RenderableType] = [header, _conditions(pipeline), *_champion(pipeline, ui)]
    parts += _runs(cluster, name, metric)
    parts += _drift(pipeline, uri)
    return Group(*parts)


def print_get(console: Console, cluster: Cluster, all_namespaces: bool) -> None:
    items = cluster.list(PIPELINES, all_namespaces=all_namespaces)
    if not items:
        where = "any namespace" if all_namespaces else f'namespace "{cluster.namespace}"'
        console.print(f"No TrainingPipelines in {where}.")
        return
    console.print(
        columns(fleet_rows(items, all_namespaces, datetime.now(UTC))),
        highlight=False,
        soft_wrap=True,
    )
