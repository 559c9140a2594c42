"""The MLflow adapter against the real tracking server: the REST client the operator uses and
the mlflow-client one the local runner uses must behave the same (idempotency keys, logged
models, compare-and-set alias moves), and the operator must not import the mlflow package."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from refit.adapters.mlflow import Mlflow, MlflowError, MlflowUnavailable, connect
from refit.adapters.mlflow_sdk import MlflowSdk

pytestmark = pytest.mark.mlflow

Factory = Callable[[str], Mlflow]


@pytest.fixture(params=["rest", "sdk"])
def adapter(request: pytest.FixtureRequest, mlflow_server: str) -> Mlflow:
    if request.param == "rest":
        return Mlflow(mlflow_server)
    return MlflowSdk(mlflow_server)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_connect_picks_rest_for_http_and_the_sdk_for_local_stores(tmp_path: Path) -> None:
    assert type(connect("http://127.0.0.1:1")) is Mlflow
    assert isinstance(connect(f"sqlite:///{tmp_path / 'db.sqlite'}"), MlflowSdk)


def test_ensure_run_creates_once_by_tag(adapter: Mlflow, mlflow_server: str) -> None:
    experiment = _unique("exp")
    uid = str(uuid.uuid4())
    first = adapter.ensure_run(experiment, "refit.run-uid", uid, "run-a", {"refit.pipeline": "p"})
    again = adapter.ensure_run(experiment, "refit.run-uid", uid, "run-a", {"refit.pipeline": "p"})
    assert again.run_id == first.run_id
    assert again.experiment_id == first.experiment_id
    assert again.tags["refit.run-uid"] == uid and again.tags["refit.pipeline"] == "p"
    # A second adapter (a restarted operator, no cache) finds the same run.
    other = Mlflow(mlflow_server).ensure_run(experiment, "refit.run-uid", uid, "run-a", {})
    assert other.run_id == first.run_id
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([first.experiment_id], f"tags.`refit.run-uid` = '{uid}'")
    assert [r.info.run_id for r in runs] == [first.run_id]
    assert runs[0].info.run_name == "run-a"


def test_read_tag_and_finish_run(adapter: Mlflow, mlflow_server: str) -> None:
    record = adapter.ensure_run(_unique("exp"), "refit.run-uid", str(uuid.uuid4()), "r", {})
    client = MlflowClient(mlflow_server)
    client.log_metric(record.run_id, "rmse", 2.0)
    client.log_metric(record.run_id, "rmse", 1.5)
    adapter.set_run_tags(record.run_id, {"refit.decision": "Promoted"})
    run = adapter.read_run(record.run_id)
    assert run.metrics == {"rmse": 1.5}
    assert run.tags["refit.decision"] == "Promoted"
    assert run.status == "RUNNING"
    adapter.finish_run(record.run_id, "FAILED")
    adapter.finish_run(record.run_id, "FINISHED")  # already terminal: unchanged
    assert adapter.read_run(record.run_id).status == "FAILED"


def _log_model(client: MlflowClient, experiment_id: str, run_id: str) -> str:
    """An MLflow 3 logged model named `model` from the run (what the trainer logs)."""
    model = client.create_logged_model(experiment_id, name="model", source_run_id=run_id)
    return str(model.model_id)


def test_ensure_version_registers_the_logged_model_once(
    adapter: Mlflow, mlflow_server: str
) -> None:
    record = adapter.ensure_run(_unique("exp"), "refit.run-uid", str(uuid.uuid4()), "r", {})
    client = MlflowClient(mlflow_server)
    model_id = _log_model(client, record.experiment_id, record.run_id)
    name = _unique("model")
    assert adapter.version_for_run(name, record.run_id) is None  # no such model yet
    version = adapter.ensure_version(name, record.run_id, {"refit.training-run": "r"})
    assert adapter.ensure_version(name, record.run_id, {}) == version
    mv = client.get_model_version(name, version)
    assert mv.source == f"models:/{model_id}"
    assert mv.run_id == record.run_id
    assert mv.tags["refit.training-run"] == "r"
    assert adapter.version_run_id(name, version) == record.run_id
    adapter.set_version_tags(name, version, {"refit.decision": "Promoted"})
    assert client.get_model_version(name, version).tags["refit.decision"] == "Promoted"


def test_ensure_version_without_logged_model_uses_the_run_artifact(adapter: Mlflow) -> None:
    record = adapter.ensure_run(_unique("exp"), "refit.run-uid", str(uuid.uuid4()), "r", {})
    name = _unique("model")
    version = adapter.ensure_version(name, record.run_id, {})
    assert version == "1"


def test_move_alias_if_is_compare_and_set(adapter: Mlflow) -> None:
    name = _unique("model")
    versions = []
    for _ in range(3):
        record = adapter.ensure_run(_unique("exp"), "refit.run-uid", str(uuid.uuid4()), "r", {})
        versions.append(adapter.ensure_version(name, record.run_id, {}))
    v1, v2, v3 = versions
    assert adapter.alias_version(name, "champion") is None
    assert adapter.alias_version(_unique("missing-model"), "champion") is None
    assert adapter.move_alias_if(name, "champion", None, v1) == (True, v1)
    assert adapter.move_alias_if(name, "champion", None, v2) == (False, v1)  # it moved
    assert adapter.move_alias_if(name, "champion", v1, v2) == (True, v2)
    assert adapter.move_alias_if(name, "champion", v1, v2) == (True, v2)  # already there
    adapter.set_alias(name, "challenger", v3)
    assert adapter.alias_version(name, "challenger") == v3


def test_download_artifact_through_the_proxy(
    adapter: Mlflow, mlflow_server: str, tmp_path: Path
) -> None:
    record = adapter.ensure_run(_unique("exp"), "refit.run-uid", str(uuid.uuid4()), "r", {})
    source = tmp_path / "src" / "report.json"
    source.parent.mkdir()
    source.write_text(json.dumps({"dataset_drift": True}))
    MlflowClient(mlflow_server).log_artifact(record.run_id, str(source), "drift")
    out = tmp_path / "out"
    out.mkdir()
    path = adapter.download_artifact(record.run_id, "drift/report.json", out)
    assert json.loads(Path(path).read_text()) == {"dataset_drift": True}


def test_errors_are_typed(mlflow_server: str) -> None:
    rest = Mlflow(mlflow_server)
    with pytest.raises(MlflowError) as raised:
        rest.read_run("0" * 32)
    assert raised.value.not_found
    with pytest.raises(MlflowUnavailable):
        Mlflow("http://127.0.0.1:9").ping()


def test_the_operator_does_not_import_mlflow() -> None:
    code = (
        "import sys, refit.controllers.main, refit.controllers.handlers; "
        "print(sorted(m for m in sys.modules if m == 'mlflow' or m.startswith('mlflow.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
