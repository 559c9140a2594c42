"""Drift benchmark: Refit's drift engine against Evidently 0.7.23's DataDriftPreset and
plain per-column scipy, with one numpy sort of the same data as the floor.

    python -m bench.drift                 # quick: 10k x 20 and 100k x 50 (rows x features)
    python -m bench.drift --full          # 10k, 100k and 1M rows x 20 and 50 features
    python -m bench.drift --rows 10000 --features 20 --repeats 1   # while developing

Each (engine, case) runs in a fresh process (bench/drift/worker.py), so its peak RSS is its
own; Evidently runs with the Python of its own virtualenv, which this script creates with
uv under ${XDG_CACHE_HOME:-~/.cache}/refit/evidently-venv when missing (Evidently 0.7
pins pandas 2; Refit runs pandas 3). Times are the best of --repeats runs (Evidently: one
run: it takes seconds to minutes). Writes bench/results/drift.json (drift-full.json with --full).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import REPO, cache_dir, fmt, log, machine, table, write_result
from bench.drift.data import generate

EVIDENTLY_VERSION = "0.7.23"
ENGINES = ("sort", "refit", "scipy", "evidently")
QUICK_CASES = ((10_000, 20), (100_000, 50))
FULL_ROWS = (10_000, 100_000, 1_000_000)
FEATURES = (20, 50)
MB = 2**20


def evidently_python() -> Path:
    """The Python of Evidently's virtualenv, created (with uv) when missing or outdated.

    numpy and scipy are pinned to the versions of the running environment, so both sides
    compute with the same libraries; only pandas differs (2.x there, as Evidently needs).
    """
    from importlib.metadata import version

    venv = cache_dir() / "evidently-venv"
    python = venv / "bin" / "python"
    pins = [
        f"evidently=={EVIDENTLY_VERSION}",
        "pandas>=2.2,<3",
        f"numpy=={version('numpy')}",
        f"scipy=={version('scipy')}",
    ]
    stamp = venv / "refit-bench-pins.txt"
    if python.exists() and stamp.exists() and stamp.read_text().split() == pins:
        return python
    uv = shutil.which("uv", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    if uv is None:
        raise SystemExit("uv is needed to create Evidently's virtualenv (`make setup` has it)")
    log(f"creating {venv} with {' '.join(pins)}")
    if not python.exists():
        subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *pins], check=True)
    stamp.write_text("\n".join(pins) + "\n")
    return python


def run_worker(python: Path, engine: str, case: Path, repeats: int, timeout: float) -> Any:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [str(python), "-m", "bench.drift.worker", engine, str(case), str(repeats)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} worker failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def agreement(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """Per-feature verdicts compared: same features, same test, same drifted flag."""
    features = sorted(set(ours) | set(theirs))
    disagreements = []
    max_diff = 0.0
    for name in features:
        a, b = ours.get(name), theirs.get(name)
        if a is None or b is None:
            disagreements.append({"feature": name, "ours": a, "theirs": b})
            continue
        if (a["stattest"], a["drifted"]) != (b["stattest"], b["drifted"]):
            disagreements.append({"feature": name, "ours": a, "theirs": b})
        if a["score"] is not None and b["score"] is not None:
            max_diff = max(max_diff, abs(a["score"] - b["score"]))
    return {
        "features": len(features),
        "agree": len(features) - len(disagreements),
        "total": not disagreements,
        "max_abs_score_diff": max_diff,
        "disagreements": disagreements,
    }


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    wall = min(raw["wall_s"])
    return {
        "wall_s": wall,
        "cpu_s": min(raw["cpu_s"]),
        "wall_s_all": raw["wall_s"],
        "peak_rss_mb": raw["peak_rss_bytes"] / MB,
        "work_rss_mb": (raw["peak_rss_bytes"] - raw["rss_loaded_bytes"]) / MB,
    }


def run_case(
    rows: int,
    features: int,
    engines: list[str],
    repeats: int,
    timeout: float,
    current_fraction: float = 1.0,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="refit-bench-drift-") as tmp:
        case = Path(tmp)
        manifest = generate(case, rows, features, current_fraction=current_fraction)
        drifted = sum(c["drifted"] for c in manifest["columns"])
        results: dict[str, Any] = {}
        verdicts: dict[str, Any] = {}
        for engine in engines:
            python = evidently_python() if engine == "evidently" else Path(sys.executable)
            n = 1 if engine == "evidently" else repeats
            log(f"drift {rows:>9,} x {features}: {engine} ({n} run{'s' * (n > 1)})")
            raw = run_worker(python, engine, case, n, timeout)
            results[engine] = summarise(raw)
            verdicts[engine] = raw["verdicts"]
            log(
                f"  {fmt(results[engine]['wall_s'])} s, peak {results[engine]['peak_rss_mb']:.0f} MB"
            )
    out: dict[str, Any] = {
        "rows": rows,
        "current_rows": manifest["current_rows"],
        "features": features,
        "designed_drifted_features": drifted,
        "engines": results,
        "ratios": ratios(results),
        "agreement": {},
        "verdicts": verdicts,
    }
    for peer in ("evidently", "scipy"):
        if "refit" in verdicts and peer in verdicts:
            out["agreement"][peer] = agreement(verdicts["refit"], verdicts[peer])
    if "refit" in verdicts:
        out["refit_drifted_features"] = sum(v["drifted"] for v in verdicts["refit"].values())
    return out


def ratios(results: dict[str, Any]) -> dict[str, float]:
    def ratio(a: str, b: str, key: str) -> float | None:
        if a in results and b in results and results[b][key] > 0:
            return float(results[a][key] / results[b][key])
        return None

    pairs = {
        "evidently_over_refit": ("evidently", "refit"),
        "scipy_over_refit": ("scipy", "refit"),
        "refit_over_sort": ("refit", "sort"),
    }
    out = {}
    for name, (a, b) in pairs.items():
        for key, suffix in (("wall_s", "wall"), ("cpu_s", "cpu")):
            value = ratio(a, b, key)
            if value is not None:
                out[f"{name}_{suffix}"] = value
    return out


def render(result: dict[str, Any]) -> str:
    rows = []
    for case in result["cases"]:
        e, r, a = case["engines"], case["ratios"], case["agreement"]

        def wall(name: str, e: dict[str, Any] = e) -> float | None:
            return e[name]["wall_s"] if name in e else None

        def peak(name: str, e: dict[str, Any] = e) -> float | None:
            return e[name]["peak_rss_mb"] if name in e else None

        def agreed(peer: str, a: dict[str, Any] = a) -> str:
            if peer not in a:
                return "-"
            return f"{a[peer]['agree']}/{a[peer]['features']}"

        sizes = f"{case['rows']:,}"
        if case.get("current_rows", case["rows"]) != case["rows"]:
            sizes += f" (current {case['current_rows']:,})"
        rows.append(
            [
                f"{sizes} x {case['features']}",
                wall("refit"),
                wall("evidently"),
                wall("scipy"),
                wall("sort"),
                r.get("evidently_over_refit_wall"),
                r.get("scipy_over_refit_wall"),
                r.get("refit_over_sort_wall"),
                peak("refit"),
                peak("evidently"),
                agreed("evidently"),
                agreed("scipy"),
            ]
        )
    headers = [
        "rows x features",
        "refit s",
        "evidently s",
        "scipy s",
        "sort s",
        "evidently/refit",
        "scipy/refit",
        "refit/sort",
        "refit peak MB",
        "evidently peak MB",
        "same verdicts (evidently)",
        "same verdicts (scipy)",
    ]
    return table(headers, rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__)
    p.add_argument("--full", action="store_true", help="also 1M rows")
    p.add_argument("--rows", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--features", type=lambda s: [int(x) for x in s.split(",")])
    p.add_argument("--engines", type=lambda s: s.split(","), default=list(ENGINES))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--current-fraction",
        type=float,
        default=1.0,
        help="current rows as a fraction of reference rows (default 1: equal sizes)",
    )
    p.add_argument("--timeout", type=float, default=3600, help="seconds per worker")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.rows or args.features or args.full:
        cases = [(r, f) for r in args.rows or FULL_ROWS for f in args.features or FEATURES]
    else:
        cases = list(QUICK_CASES)
    result: dict[str, Any] = {
        "benchmark": "drift",
        "description": "per-feature drift verdicts on synthetic mixed data (reference and "
        "current of `rows` rows each); times are wall seconds of the engine call, best of "
        "the repeats; ratios > 1 mean Refit is faster (or, for refit/sort, slower than the "
        "floor)",
        "peers": {
            "evidently": f"Evidently {EVIDENTLY_VERSION} DataDriftPreset (own venv, pandas 2)",
            "scipy": "plain per-column pandas + scipy (wasserstein_distance, jensenshannon)",
            "sort": "np.sort of every column of both samples (categoricals as integer codes)",
        },
        "machine": machine(),
        "cases": [],
    }
    for r, f in cases:
        result["cases"].append(
            run_case(r, f, args.engines, args.repeats, args.timeout, args.current_fraction)
        )
    name = "drift-full" if args.full else "drift"
    if args.current_fraction != 1.0:
        name += f"-current{args.current_fraction:g}"
    path = write_result(name, result, args.out)
    print(render(result))
    failed = [
        (c["rows"], c["features"], peer)
        for c in result["cases"]
        for peer, a in c["agreement"].items()
        if not a["total"]
    ]
    for r, f, peer in failed:
        print(f"DISAGREEMENT with {peer} at {r:,} x {f}: see {path}")
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return 1 if failed else 0
