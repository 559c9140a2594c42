"""`refit-trainer drift`: compare current data with the reference and record the verdict.

The result goes to MLflow when MLFLOW_TRACKING_URI is set (into MLFLOW_RUN_ID, or a new
run): per-feature metrics, the dataset verdict as tags, and the full report as the
artifact `drift/report.json`. `--report PATH` also writes the report anywhere fsspec can.
Drift is a result, not a failure: the exit code is 0 either way.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from refit_trainer.commands import Session
from refit_trainer.contract import JobContext
from refit_trainer.data_io import read_table
from refit_trainer.drift.config import parse_config
from refit_trainer.drift.engine import TESTED, DriftReport, check_drift
from refit_trainer.errors import UsageError
from refit_trainer.tracking import (
    client_for,
    finish_run,
    log_metrics,
    mlflow_errors,
    open_run,
    set_tags,
)

REPORT_ARTIFACT = "drift/report.json"


def metric_key(feature: str) -> str:
    # MLflow metric names allow letters, digits, _ - . / and space; keep them readable.
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", feature)


def report_metrics(report: DriftReport) -> dict[str, float]:
    metrics = {
        "drift_share": report.drift_share,
        "drift_n_drifted": float(len(report.drifted_features)),
        "drift_n_tested": float(len(report.counted)),
        "dataset_drift": float(report.dataset_drift),
    }
    for result in report.features:
        key = metric_key(result.feature)
        metrics[f"drift.{key}.drifted"] = float(result.drifted)
        if result.status == TESTED and result.score is not None:
            metrics[f"drift.{key}.score"] = result.score
            if result.threshold is not None:
                metrics[f"drift.{key}.threshold"] = result.threshold
    # MLflow stores metrics as finite doubles; an infinite statistic stays in the JSON only.
    return {k: v for k, v in metrics.items() if v == v and abs(v) != float("inf")}


def report_tags(report: DriftReport) -> dict[str, Any]:
    drifted = ",".join(report.drifted_features)
    return {
        "refit.kind": "drift",
        "refit.dataset_drift": "true" if report.dataset_drift else "false",
        "refit.drift_share": f"{report.drift_share:.6g}",
        "refit.drifted_features": drifted if len(drifted) <= 4000 else drifted[:3999] + "…",
    }


def run(args: argparse.Namespace, ctx: JobContext, session: Session) -> int:
    reference_uri = args.reference or ctx.reference_data
    current_uri = args.current or ctx.current_data
    if not reference_uri or not current_uri:
        raise UsageError(
            "set REFIT_REFERENCE_DATA and REFIT_CURRENT_DATA (or --reference/--current)"
        )
    config = parse_config(args.config if args.config is not None else ctx.drift_config)

    client = None
    if ctx.tracking_uri:
        client = client_for(ctx)
        session.tracking_uri = ctx.tracking_uri
        session.run_id = open_run(client, ctx, kind="drift")

    reference = read_table(reference_uri)
    current = read_table(current_uri)
    report = check_drift(reference.frame, current.frame, config)
    document = report.as_dict()
    document["data"] = {
        "reference": {"uri": reference.uri, "sha256": reference.sha256, "rows": reference.rows},
        "current": {"uri": current.uri, "sha256": current.sha256, "rows": current.rows},
    }
    text = json.dumps(document, indent=1, sort_keys=False)

    if args.report:
        import fsspec

        with fsspec.open(args.report, "w") as handle:
            handle.write(text + "\n")
    if client is not None and session.run_id:
        run_id = session.run_id
        log_metrics(client, run_id, report_metrics(report))
        set_tags(
            client,
            run_id,
            {
                **ctx.identity_tags(),
                **report_tags(report),
                **reference.lineage("refit.data.reference"),
                **current.lineage("refit.data.current"),
            },
        )
        with mlflow_errors("log the drift report"):
            client.log_text(run_id, text, REPORT_ARTIFACT)
        finish_run(client, run_id)
    verdict = "drift" if report.dataset_drift else "no drift"
    print(
        f"{verdict}: {len(report.drifted_features)}/{len(report.counted)} features drifted "
        f"(share {report.drift_share:.3f}, threshold {config.drift_share})",
        file=sys.stdout,
    )
    return 0
