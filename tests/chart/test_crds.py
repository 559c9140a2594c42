"""The chart's crds/ is a generated copy of crds/ (charts/sync-crds.sh, `make chart-crds`)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "crds"
CHART_CRDS = REPO / "charts" / "refit" / "crds"


def test_chart_crds_are_a_copy_of_crds() -> None:
    source = {p.name: p.read_bytes() for p in SOURCE.glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in CHART_CRDS.glob("*.yaml")}
    assert source, "crds/ is empty"
    stale = sorted(
        name for name in source.keys() | chart.keys() if source.get(name) != chart.get(name)
    )
    assert not stale, f"charts/refit/crds differs from crds/ in {stale}: run `make chart-crds`"


def test_chart_installs_refit_and_kopf_peering_crds() -> None:
    names = {
        doc["metadata"]["name"]
        for path in CHART_CRDS.glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }
    assert names == {
        "trainingpipelines.refit.dev",
        "trainingruns.refit.dev",
        "kopfpeerings.kopf.dev",
        "clusterkopfpeerings.kopf.dev",
    }
