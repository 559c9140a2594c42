"""MLflow I/O over the documented REST API 2.0: runs found by tag before one is created,
versions found by run before registering, the champion alias moved only after re-reading it
(compare-and-set).

The operator needs a dozen endpoints, so it speaks them itself (urllib3, already a dependency
of the kubernetes client) instead of importing the `mlflow` package, which alone costs ~160 MB
of RSS and a second of start-up. The local runner and demo, which use SQLite stores, use
`refit.adapters.mlflow_sdk.MlflowSdk` (same methods, the mlflow client underneath).

Authentication and TLS follow the mlflow client's environment variables:
MLFLOW_TRACKING_TOKEN (bearer), MLFLOW_TRACKING_USERNAME/PASSWORD (basic),
MLFLOW_TRACKING_INSECURE_TLS, MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_HTTP_REQUEST_TIMEOUT.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import urllib3

log = logging.getLogger(__name__)

RUN_UID_TAG = "refit.run-uid"
PIPELINE_TAG = "refit.pipeline"
NAMESPACE_TAG = "refit.namespace"
TRAINING_RUN_TAG = "refit.training-run"
DECISION_TAG = "refit.decision"
FAILURE_TAG = "refit.failure_reason"
CHAMPION_VERSION_TAG = "refit.champion_version"
DRIFT_CHECK_UID_TAG = "refit.drift-check-uid"

_NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"})
_UNAVAILABLE_CODES = frozenset({"INTERNAL_ERROR", "TEMPORARILY_UNAVAILABLE"})


class MlflowUnavailable(RuntimeError):
    """The tracking server could not be reached or answered with a server error."""


class MlflowError(RuntimeError):
    """The tracking server refused a request (4xx): `error_code` is MLflow's code."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}" if message else error_code)
        self.status = status
        self.error_code = error_code

    @property
    def not_found(self) -> bool:
        return self.error_code in _NOT_FOUND_CODES or self.status == 404


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    experiment_id: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifact_uri: str = ""


def _run_record(run: dict[str, Any]) -> RunRecord:
    info, data = run.get("info") or {}, run.get("data") or {}
    metrics: dict[str, float] = {}
    # The REST API lists each metric's latest value once (as MlflowClient's run.data.metrics).
    for metric in data.get("metrics") or []:
        metrics[metric["key"]] = float(metric["value"])
    tags = {t["key"]: t.get("value", "") for t in data.get("tags") or []}
    return RunRecord(
        str(info.get("run_id") or info.get("run_uuid")),
        str(info.get("experiment_id", "")),
        str(info.get("status", "RUNNING")),
        metrics,
        tags,
        str(info.get("artifact_uri", "")),
    )


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


class Mlflow:
    """One tracking server. Every method is safe to call again after a crash."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self._experiments: dict[str, str] = {}
        if not self.tracking_uri.startswith(("http://", "https://")):
            return  # MlflowSdk (local stores) does not use the HTTP pool
        env = os.environ
        timeout = float(env.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "20"))
        self._timeout = urllib3.Timeout(connect=min(timeout, 5.0), read=timeout)
        headers = {"Content-Type": "application/json", "User-Agent": "refit-operator"}
        if env.get("MLFLOW_TRACKING_TOKEN"):
            headers["Authorization"] = f"Bearer {env['MLFLOW_TRACKING_TOKEN']}"
        elif env.get("MLFLOW_TRACKING_USERNAME"):
            headers.update(
                urllib3.make_headers(
                    basic_auth=f"{env['MLFLOW_TRACKING_USERNAME']}:"
                    f"{env.get('MLFLOW_TRACKING_PASSWORD', '')}"
                )
            )
        self._headers = headers
        tls: dict[str, Any] = {}
        if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
            tls["cert_reqs"] = "CERT_NONE"
        elif env.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
            tls["ca_certs"] = env["MLFLOW_TRACKING_SERVER_CERT_PATH"]
        # One retry on a dropped connection (never on a response): a reconcile pass must give
        # up fast, report MLflowUnreachable, and try again on its own schedule.
        self._http = urllib3.PoolManager(
            maxsize=16, retries=urllib3.Retry(total=1, read=0, status=0, redirect=2), **tls
        )

    # -- transport ---------------------------------------------------------------------------

    def _request(
        self,
        what: str,
        method: str,
        endpoint: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        url = f"{self.tracking_uri}/api/2.0/mlflow/{endpoint}"
        try:
            response = self._http.request(
                method,
                url,
                fields=query,
                body=json.dumps(body).encode() if body is not None else None,
                headers=self._headers,
                timeout=self._timeout,
            )
        except urllib3.exceptions.HTTPError as error:
            raise MlflowUnavailable(
                f"MLflow at {self.tracking_uri} unreachable during {what}: {error}"
            ) from error
        return self._decode(what, response)

    def _decode(self, what: str, response: Any) -> dict[str, Any]:
        try:
            payload: Any = json.loads(response.data or b"{}")
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if response.status < 400:
            return dict(payload)
        code = str(payload.get("error_code") or f"HTTP_{response.status}")
        message = str(payload.get("message") or response.data[:200].decode(errors="replace"))
        if response.status >= 500 or code in _UNAVAILABLE_CODES:
            raise MlflowUnavailable(
                f"MLflow at {self.tracking_uri} unavailable during {what}: "
                f"HTTP {response.status} {code}"
            )
        raise MlflowError(response.status, code, message)

    # -- tracking ----------------------------------------------------------------------------

    def ping(self) -> None:
        """Cheap reachability check (raises MlflowUnavailable)."""
        self._request("ping", "POST", "experiments/search", body={"max_results": 1})

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created when missing; cached (experiments are never renamed
        by Refit, and a deleted one fails the next run creation loudly)."""
        cached = self._experiments.get(name)
        if cached is not None:
            return cached
        found = self._experiment_by_name(name)
        if found is None:
            try:
                found = str(
                    self._request(
                        "create experiment", "POST", "experiments/create", body={"name": name}
                    )["experiment_id"]
                )
            except MlflowError as error:
                if error.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                found = self._experiment_by_name(name)
                if found is None:
                    raise
        self._experiments[name] = found
        return found

    def _experiment_by_name(self, name: str) -> str | None:
        try:
            reply = self._request(
                "get experiment",
                "GET",
                "experiments/get-by-name",
                query={"experiment_name": name},
            )
        except MlflowError as error:
            if error.not_found:
                return None
            raise
        return str(reply["experiment"]["experiment_id"])

    def find_run(self, experiment_id: str, tag: str, value: str) -> RunRecord | None:
        reply = self._request(
            "search runs",
            "POST",
            "runs/search",
            body={
                "experiment_ids": [experiment_id],
                "filter": f"tags.`{tag}` = '{value}'",
                "run_view_type": "ALL",
                "max_results": 2,
                "order_by": ["attributes.start_time ASC"],
            },
        )
        runs = reply.get("runs") or []
        return _run_record(runs[0]) if runs else None

    def ensure_run(
        self, experiment: str, tag: str, uid: str, run_name: str, tags: dict[str, str]
    ) -> RunRecord:
        """The run tagged `tag=uid`, created only when none exists (idempotency key)."""
        experiment_id = self.experiment_id(experiment)
        try:
            found = self.find_run(experiment_id, tag, uid)
        except MlflowError as error:
            if not error.not_found:
                raise
            self._experiments.pop(experiment, None)  # deleted since cached: look it up again
            experiment_id = self.experiment_id(experiment)
            found = self.find_run(experiment_id, tag, uid)
        if found is not None:
            return found
        reply = self._request(
            "create run",
            "POST",
            "runs/create",
            body={
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": int(time.time() * 1000),
                "tags": _tag_list({**tags, tag: uid}),
            },
        )
        run = _run_record(reply["run"])
        return RunRecord(run.run_id, experiment_id, run.status, {}, run.tags, run.artifact_uri)

    def read_run(self, run_id: str) -> RunRecord:
        reply = self._request("get run", "GET", "runs/get", query={"run_id": run_id})
        return _run_record(reply["run"])

    def set_run_tags(self, run_id: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._request(
                "set tag",
                "POST",
                "runs/set-tag",
                body={"run_id": run_id, "key": key, "value": value},
            )

    def finish_run(self, run_id: str, status: str) -> None:
        """Mark the run FINISHED/FAILED unless it already is terminal."""
        run = self.read_run(run_id)
        if run.status in {"FINISHED", "FAILED", "KILLED"}:
            return
        self._request(
            "terminate run",
            "POST",
            "runs/update",
            body={"run_id": run_id, "status": status, "end_time": int(time.time() * 1000)},
        )

    def run_url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.tracking_uri}/#/experiments/{experiment_id}/runs/{run_id}"

    def download_artifact(self, run_id: str, path: str, dst_dir: str | Path) -> Path:
        """One file artifact of the run, copied into `dst_dir`; returns its local path.

        Served through the tracking server's artifact proxy (`mlflow-artifacts:` roots, the
        default of `mlflow server`) or read directly from a `file:` root; any other store
        (s3:, gs: ...) goes through the mlflow package, imported only then."""
        run = self.read_run(run_id)
        root = run.artifact_uri.rstrip("/")
        target = Path(dst_dir) / Path(path).name
        if root.startswith("mlflow-artifacts:"):
            parts = urlsplit(root)
            proxied = f"{parts.path.lstrip('/')}/{path}"
            url = f"{self.tracking_uri}/api/2.0/mlflow-artifacts/artifacts/{quote(proxied)}"
            try:
                response = self._http.request(
                    "GET", url, headers=self._headers, timeout=self._timeout
                )
            except urllib3.exceptions.HTTPError as error:
                raise MlflowUnavailable(
                    f"MLflow at {self.tracking_uri} unreachable during download artifact"
                ) from error
            if response.status >= 400:
                self._decode("download artifact", response)
            target.write_bytes(response.data)
            return target
        if root.startswith("file:") or root.startswith("/"):
            source = Path(urlsplit(root).path if root.startswith("file:") else root) / path
            shutil.copyfile(source, target)
            return target
        from mlflow.artifacts import download_artifacts  # other stores: rare, heavy

        return Path(
            download_artifacts(
                run_id=run_id,
                artifact_path=path,
                dst_path=str(dst_dir),
                tracking_uri=self.tracking_uri,
            )
        )

    # -- registry ---------------------------------------------------------------------------

    def version_for_run(self, model: str, run_id: str) -> str | None:
        try:
            reply = self._request(
                "search versions",
                "GET",
                "model-versions/search",
                query={"filter": f"name = '{model}' and run_id = '{run_id}'"},
            )
        except MlflowError as error:
            if error.not_found:
                return None
            raise
        versions = reply.get("model_versions") or []
        if not versions:
            return None
        return str(min(int(v["version"]) for v in versions))

    def ensure_version(self, model: str, run_id: str, tags: dict[str, str]) -> str:
        """The registered version of the run's `model` artifact, registered only once."""
        existing = self.version_for_run(model, run_id)
        if existing is not None:
            return existing
        try:
            self._request(
                "create registered model", "POST", "registered-models/create", body={"name": model}
            )
        except MlflowError as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        source, model_id = self._model_source(run_id)
        body: dict[str, Any] = {
            "name": model,
            "source": source,
            "run_id": run_id,
            "tags": _tag_list(tags),
        }
        if model_id:
            body["model_id"] = model_id
        reply = self._request("create version", "POST", "model-versions/create", body=body)
        return str(reply["model_version"]["version"])

    def _model_source(self, run_id: str) -> tuple[str, str | None]:
        """Where the run's `model` lives: a logged model (MLflow 3, with its id) or the run's
        artifact path (MLflow 2 servers answer the logged-models search with 404)."""
        run = self.read_run(run_id)
        try:
            reply = self._request(
                "search logged models",
                "POST",
                "logged-models/search",
                body={
                    "experiment_ids": [run.experiment_id],
                    "filter": f"source_run_id = '{run_id}' AND name = 'model'",
                },
            )
        except MlflowError:
            reply = {}
        models = reply.get("models") or []
        if models:
            model_id = str(models[0]["info"]["model_id"])
            return f"models:/{model_id}", model_id
        return f"runs:/{run_id}/model", None

    def alias_version(self, model: str, alias: str) -> str | None:
        try:
            reply = self._request(
                "get alias",
                "GET",
                "registered-models/alias",
                query={"name": model, "alias": alias},
            )
        except MlflowError as error:
            if error.not_found or error.error_code == "INVALID_PARAMETER_VALUE":
                return None
            raise
        return str(reply["model_version"]["version"])

    def set_alias(self, model: str, alias: str, version: str) -> None:
        self._request(
            "set alias",
            "POST",
            "registered-models/alias",
            body={"name": model, "alias": alias, "version": str(version)},
        )

    def set_version_tags(self, model: str, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._request(
                "set version tag",
                "POST",
                "model-versions/set-tag",
                body={"name": model, "version": str(version), "key": key, "value": value},
            )

    def version_run_id(self, model: str, version: str) -> str | None:
        reply = self._request(
            "get version",
            "GET",
            "model-versions/get",
            query={"name": model, "version": str(version)},
        )
        run_id = reply["model_version"].get("run_id")
        return str(run_id) if run_id else None

    def move_alias_if(
        self, model: str, alias: str, expected: str | None, new: str
    ) -> tuple[bool, str | None]:
        """Compare-and-set: move `alias` to `new` only if it still points at `expected`.

        Returns (moved, current). MLflow has no atomic CAS; re-reading immediately before the
        write narrows the window to one request, and a single active operator replica
        (peering) is the only writer Refit has.
        """
        current = self.alias_version(model, alias)
        if current == new:
            return True, current
        if current != expected:
            return False, current
        self.set_alias(model, alias, new)
        return True, new


def connect(tracking_uri: str) -> Mlflow:
    """The adapter for `tracking_uri`: REST for an http(s) server, else (a local SQLite or file
    store) the mlflow package's client, imported only then."""
    if tracking_uri.startswith(("http://", "https://")):
        return Mlflow(tracking_uri)
    from refit.adapters.mlflow_sdk import MlflowSdk

    return MlflowSdk(tracking_uri)
