"""The demo's two PNGs (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from refit.api.enums import RunPhase
from refit.local.demo.daily_sales import Week

PROMOTED = "#2ca02c"
CANDIDATE = "#1f77b4"
CHAMPION = "#ff7f0e"
DRIFTED = "#d62728"
STABLE = "#8c8c8c"


def daily_revenue(transactions: Path) -> pd.Series:
    """Revenue per day of the CDNOW log (context for the metric panel)."""
    frame = pd.read_csv(transactions, usecols=["date", "dollar_value"], parse_dates=["date"])
    return frame.groupby("date")["dollar_value"].sum().asfreq("D", fill_value=0.0)


def daily_sales_png(
    weeks: Sequence[Week], revenue: pd.Series, path: Path, *, metric: str, min_improvement: float
) -> Path:
    trained = [w for w in weeks if w.candidate is not None]
    promoted = [w for w in weeks if w.phase is RunPhase.PROMOTED]
    failed = [w for w in weeks if w.phase is RunPhase.FAILED]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 7.5), sharex=True, height_ratios=(1, 2), layout="constrained"
    )
    span = f"{weeks[0].cutoff:%Y-%m-%d} … {weeks[-1].cutoff:%Y-%m-%d}" if weeks else ""
    fig.suptitle(
        f"Daily sales (CDNOW): {len(weeks)} weekly retrains replayed, {span}; "
        "each candidate gated against the champion",
        fontsize=13,
    )
    weekly = revenue.rolling(7).mean()
    top.plot(revenue.index, revenue.to_numpy(), color="#c7c7c7", lw=0.6, label="revenue per day")
    top.plot(weekly.index, weekly.to_numpy(), color="#555555", lw=1.4, label="7-day mean")
    top.set_ylabel("revenue ($/day)")
    top.set_title(
        "the data: purchases per day (each run sees only the days before its cutoff)",
        fontsize=10,
        loc="left",
    )
    top.legend(loc="upper right", fontsize=9)

    times = [w.cutoff for w in trained]
    bottom.plot(
        times,
        [w.candidate for w in trained],
        "o-",
        color=CANDIDATE,
        ms=3.5,
        lw=1.2,
        label=f"candidate {metric} (new model)",
    )
    champion = [w for w in trained if w.champion is not None]
    bottom.plot(
        [w.cutoff for w in champion],
        [w.champion for w in champion],
        "s--",
        color=CHAMPION,
        ms=3,
        lw=1,
        label=f"champion {metric} (deployed model), same validation days",
    )
    bottom.scatter(
        [w.cutoff for w in promoted],
        [w.candidate for w in promoted],
        marker="^",
        s=110,
        color=PROMOTED,
        zorder=5,
        edgecolors="black",
        linewidths=0.6,
        label=f"promoted ({len(promoted)}): candidate won by ≥ {min_improvement:.0%}",
    )
    for week in promoted:
        bottom.axvline(week.cutoff, color=PROMOTED, alpha=0.15, lw=3)
        top.axvline(week.cutoff, color=PROMOTED, alpha=0.15, lw=3)
    if failed:
        half_week = pd.Timedelta(days=3.5)
        bottom.axvspan(
            min(w.cutoff for w in failed) - half_week,
            max(w.cutoff for w in failed) + half_week,
            color="#dddddd",
            alpha=0.7,
            label=f"failed ({len(failed)}): too little history before the cutoff",
        )
    bottom.set_ylabel(f"{metric} on the 28 days before the cutoff ($/day)")
    bottom.set_xlabel("weekly cutoff (REFIT_SCHEDULED_TIME, Mondays 00:00 UTC)")
    bottom.set_title(
        "the gate: lower is better; rejected candidates leave the champion in place",
        fontsize=10,
        loc="left",
    )
    bottom.legend(loc="upper right", fontsize=9)
    bottom.grid(alpha=0.3)
    bottom.xaxis.set_major_locator(mdates.MonthLocator())  # type: ignore[no-untyped-call]
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))  # type: ignore[no-untyped-call]
    for label in bottom.get_xticklabels():
        label.set_rotation(45)
        label.set_ha("right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def churn_drift_png(
    report: Mapping[str, Any],
    path: Path,
    *,
    verdict: str,
    gate: Mapping[str, float | None],
    decision: str,
    metric: str,
    min_improvement: float,
) -> Path:
    """Per-feature drift statistics against their thresholds, and the retrain's gate."""
    features = [f for f in report.get("features") or [] if f.get("score") is not None]
    features.sort(key=lambda f: float(f["score"]) / float(f.get("threshold") or 1))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(12, 6.5), width_ratios=(3, 1), layout="constrained"
    )
    fig.suptitle(f"Churn (telco): the new batch against the reference — {verdict}", fontsize=13)
    names = [f"{f['feature']}  ({f.get('stattest')})" for f in features]
    scores = [float(f["score"]) for f in features]
    colors = [DRIFTED if f.get("drifted") else STABLE for f in features]
    positions = range(len(features))
    # Log scale: one feature's distance can be 100x another's, and thresholds stay readable.
    floor = 1e-4
    left.barh(positions, [max(v, floor) for v in scores], color=colors, height=0.6)
    for y, feature in zip(positions, features, strict=True):
        threshold = feature.get("threshold")
        score = float(feature["score"])
        right_end = max(score, float(threshold or 0), floor)
        if threshold is not None:
            left.plot([threshold, threshold], [y - 0.4, y + 0.4], color="black", lw=2)
        left.text(right_end * 1.15, y, f"{score:.3g}", va="center", fontsize=8)
    left.set_xscale("log")
    shown = [v for v in scores if v > 0] + [
        float(f["threshold"]) for f in features if f.get("threshold")
    ]
    left.set_xlim(left=max(floor, min(shown, default=floor) / 3))
    left.set_yticks(list(positions), names)
    left.set_xlabel(
        "drift statistic, log scale (distance tests drift at ≥ threshold, p-value tests below it)"
    )
    left.set_title(
        "per-feature drift statistic (bars) against its threshold (black ticks)",
        fontsize=10,
        loc="left",
    )
    left.legend(
        handles=[
            Line2D([], [], color="black", lw=2, label="threshold"),
            Patch(color=DRIFTED, label="drifted"),
            Patch(color=STABLE, label="not drifted"),
        ],
        loc="lower right",
        fontsize=9,
    )
    left.grid(axis="x", alpha=0.3)

    champion, candidate = gate.get("champion"), gate.get("candidate")
    labels, values, bar_colors = [], [], []
    if champion is not None:
        labels.append("champion\n(reference batch)")
        values.append(champion)
        bar_colors.append(CHAMPION)
    if candidate is not None:
        labels.append("candidate\n(retrained)")
        values.append(candidate)
        bar_colors.append(CANDIDATE)
    right.bar(labels, values, color=bar_colors, width=0.6)
    for x, value in enumerate(values):
        right.text(x, value, f"{value:.4f}", ha="center", va="bottom", fontsize=9)
    if champion is not None:
        right.axhline(
            champion + min_improvement,
            color="black",
            ls="--",
            lw=1,
            label=f"champion + {min_improvement}",
        )
        right.legend(loc="upper left", fontsize=8)
    if values:
        low, high = min(values), max(values)
        right.set_ylim(max(0.0, low - 0.05), min(1.0, high + 0.03))
    right.set_ylabel(f"{metric} on held-out new customers")
    right.set_title(f"the gate: {decision}", fontsize=10, loc="left", wrap=True)
    right.grid(axis="y", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
