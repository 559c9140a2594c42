"""pytest fixtures for tests against real parts (registered by tests/conftest.py).

cluster        session: a running control plane. Reuses the one ``make cluster-up`` started
               (``.cluster/``, or ``$REFIT_CLUSTER_DIR``) when it is healthy and leaves it
               running; otherwise starts a private one in a temporary directory and stops it
               at the end of the session (so concurrent sessions never stop each other's).
api_client     session: a ``kubernetes.client.ApiClient`` for that cluster (admin).
namespace      function: a fresh namespace whose ``default`` ServiceAccount exists; deleted
               (in the background) after the test.
mlflow_server  session: a real ``mlflow server`` (sqlite backend, local artifact root,
               ``--serve-artifacts``) on a free 127.0.0.1 port; yields its tracking URI.

Missing binaries are a test failure (never a skip): build them with ``make binaries``.
Tests that use these fixtures are marked ``cluster`` / ``mlflow`` automatically.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from .binaries import BinariesMissing, require
from .controlplane import (
    DEFAULT_STATE_DIR,
    ClusterError,
    ClusterState,
    install_crds,
    up,
)
from .controlplane import down as cluster_down
from .mlflow_proc import MlflowServer, MlflowStartError

CLUSTER_FIXTURES = {"cluster", "api_client", "namespace"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & CLUSTER_FIXTURES:
            item.add_marker(pytest.mark.cluster)
        if "mlflow_server" in used:
            item.add_marker(pytest.mark.mlflow)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterState]:
    shared_dir = Path(os.environ.get("REFIT_CLUSTER_DIR", DEFAULT_STATE_DIR)).resolve()
    shared = ClusterState.load(shared_dir)
    if shared is not None and shared.healthy():
        install_crds(shared)  # crds/ may have changed since cluster-up
        yield shared
        return
    problem = None
    try:
        require()
    except BinariesMissing as e:
        problem = str(e)
    if problem:  # a failure, not a skip: CI must never pass without the real API
        pytest.fail(problem, pytrace=False)
    state_dir = tmp_path_factory.mktemp("cluster")
    try:
        state = up(
            state_dir,
            owner=f"pytest pid {os.getpid()}",
            die_with_parent=True,  # no stray control plane if pytest is killed
            log=lambda m: print(f"[cluster] {m}", file=sys.stderr),
        )
    except ClusterError as e:
        problem = f"could not start the test control plane: {e}"
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield state
    finally:
        cluster_down(state_dir, log=lambda _m: None)


@pytest.fixture(scope="session")
def api_client(cluster: ClusterState) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        yield api
    finally:
        api.close()


def _namespace_name(node_name: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", node_name.lower()).strip("-")[:40].strip("-")
    return f"{base or 't'}-{secrets.token_hex(3)}"


@pytest.fixture
def namespace(
    cluster: ClusterState, api_client: client.ApiClient, request: pytest.FixtureRequest
) -> Iterator[str]:
    core = client.CoreV1Api(api_client)
    name = _namespace_name(request.node.name)
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=name, labels={"refit.dev/test": "true"})
        )
    )
    # The serviceaccount controller creates `default`; pods are rejected until it exists.
    deadline = time.monotonic() + 30
    while True:
        accounts = core.list_namespaced_service_account(name)
        if any(sa.metadata and sa.metadata.name == "default" for sa in accounts.items):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no default ServiceAccount in {name} after 30s", pytrace=False)
        time.sleep(0.1)
    try:
        yield name
    finally:
        try:  # in the background: the namespace controller empties it
            core.delete_namespace(name, propagation_policy="Background")
        except ApiException as e:  # teardown must not mask the test's own result
            if e.status != 404:
                print(f"[namespace] cleanup of {name} failed: {e}", file=sys.stderr)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    try:
        server.start()
    except MlflowStartError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield server.uri
    finally:
        server.stop()
