"""`refit demo`'s pieces: the churn batches drift, the tables and PNGs, and a short demo run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from rich.console import Console

from refit.api.enums import RunPhase
from refit.core.validation import errors, validate_pipeline_spec
from refit.local.demo import churn_drift, daily_sales, run_demo
from refit.local.executors import WarmExecutor
from refit.local.store import LocalStore

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data"
PNG = b"\x89PNG\r\n\x1a\n"


def test_churn_batches_split_the_real_customers_by_tenure(tmp_path: Path) -> None:
    files = churn_drift.batches(DATA, tmp_path)
    reference = pd.read_csv(files.reference)
    current = pd.read_csv(files.current)
    train, validation = pd.read_csv(files.train), pd.read_csv(files.validation)
    assert len(reference) + len(current) == 7043
    assert (reference["tenure"] > churn_drift.ESTABLISHED_MONTHS).all()
    assert (current["tenure"] <= churn_drift.ESTABLISHED_MONTHS).mean() > 0.8
    assert len(train) + len(validation) == len(reference) + len(current)
    for new_batch in (False, True):
        tp = churn_drift.pipeline(files, new_batch=new_batch)
        assert errors(validate_pipeline_spec(tp.spec, "demo", "churn")) == []
    assert (
        errors(validate_pipeline_spec(daily_sales.pipeline(DATA).spec, "demo", "daily-sales")) == []
    )


def test_failure_summary_keeps_the_trainers_words() -> None:
    reason = (
        "training Job daily-sales-1-train failed (exit code 3: file:///x/cdnow.csv.gz: "
        "33 usable days before the cutoff; need at least 84)"
    )
    assert (
        daily_sales.failure_summary(reason) == "33 usable days before the cutoff; need at least 84"
    )


def test_short_demo_prints_decisions_and_writes_both_pngs(
    tmp_path: Path, warm: WarmExecutor
) -> None:
    console = Console(record=True, width=140)
    result = run_demo(
        console,
        data=DATA,
        out=tmp_path / "out",
        store=LocalStore(tmp_path / ".refit"),
        start=datetime(1997, 4, 20, tzinfo=UTC),
        end=datetime(1997, 5, 6, tzinfo=UTC),
        executor=warm,
    )
    text = console.export_text()
    assert [w.phase for w in result.weeks] == [
        RunPhase.FAILED,
        RunPhase.PROMOTED,
        result.weeks[2].phase,
    ]
    assert result.weeks[2].phase in (RunPhase.PROMOTED, RunPhase.REJECTED)
    assert "1997-04-28" in text and "Promoted (NoChampion)" in text
    assert "usable days before the cutoff" in text
    assert "verdict: DriftDetected=True (DatasetDrift)" in text
    assert "retrain (Drift run)" in text
    assert result.ok
    for png in result.pngs:
        assert png.read_bytes().startswith(PNG) and png.stat().st_size > 30_000
    assert {p.name for p in result.pngs} == {"daily-sales.png", "churn-drift.png"}
    assert (tmp_path / "out" / "daily-sales.yaml").exists()
