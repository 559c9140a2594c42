"""Argo CD health checks (charts/refit/argocd/*.lua) on sample objects, run by Lua 5.1 in a
harness that mimics Argo CD's sandbox (tests/argocd/harness.lua)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.argocd.lua import run_health, to_lua
from tests.tools import find_tool

REPO = Path(__file__).resolve().parents[2]
ARGOCD = REPO / "charts" / "refit" / "argocd"
SAMPLES = Path(__file__).with_name("samples")
SCRIPTS = {
    "TrainingPipeline": ARGOCD / "health-trainingpipeline.lua",
    "TrainingRun": ARGOCD / "health-trainingrun.lua",
}


def _cases() -> list[Any]:
    cases = []
    for kind, script in SCRIPTS.items():
        for case in yaml.safe_load((SAMPLES / f"{kind.lower()}.yaml").read_text()):
            cases.append(pytest.param(script, case, id=f"{kind}-{case['name']}"))
    return cases


@pytest.fixture(scope="module")
def lua() -> Path:
    return find_tool("lua5.1")


@pytest.mark.parametrize(("script", "case"), _cases())
def test_health(lua: Path, script: Path, case: dict[str, Any]) -> None:
    status, message = run_health(lua, script, case["object"])
    assert status == case["expect"]["status"], message
    assert case["expect"]["message"] in message


def test_every_status_is_covered() -> None:
    # Each script's samples exercise each health it can return, so none is untested.
    wanted = {
        "TrainingPipeline": {"Healthy", "Progressing", "Degraded", "Suspended"},
        "TrainingRun": {"Healthy", "Progressing", "Degraded", "Unknown"},
    }
    for kind, statuses in wanted.items():
        cases = yaml.safe_load((SAMPLES / f"{kind.lower()}.yaml").read_text())
        assert {c["expect"]["status"] for c in cases} == statuses


def test_argocd_cm_embeds_the_scripts_verbatim() -> None:
    cm = yaml.safe_load((ARGOCD / "argocd-cm.yaml").read_text())
    assert cm["kind"] == "ConfigMap" and cm["metadata"]["name"] == "argocd-cm"
    for kind, script in SCRIPTS.items():
        key = f"resource.customizations.health.refit.dev_{kind}"
        assert cm["data"][key] == script.read_text(), f"copy {script.name} into {key} again"


def test_example_applications_parse() -> None:
    apps = list(yaml.safe_load_all((ARGOCD / "application.yaml").read_text()))
    assert [a["kind"] for a in apps] == ["Application", "Application"]
    chart_app = apps[0]
    assert chart_app["spec"]["source"]["path"] == "charts/refit"
    assert "ServerSideApply=true" in chart_app["spec"]["syncPolicy"]["syncOptions"]


def test_lua_literal_escapes() -> None:
    assert (
        to_lua({"a": 'x"\\\ny', "b": [1, True], "c": None})
        == '{["a"] = "x\\"\\\\\\ny", ["b"] = {1, true}}'
    )
