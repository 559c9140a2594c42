"""Fixtures for operator tests: the real operator process and a client for the namespace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster.controlplane import ClusterState
from kubernetes import client
from operator_harness import OperatorProcess, Refit


@pytest.fixture
def refit(api_client: client.ApiClient, namespace: str) -> Refit:
    return Refit(api_client, namespace)


@pytest.fixture
def operator_process(
    cluster: ClusterState, mlflow_server: str, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    proc = OperatorProcess(cluster, namespace, mlflow_server, tmp_path / "operator.log").start()
    try:
        yield proc
    finally:
        proc.stop()
        print(f"--- operator log ({proc.log_path}) ---\n{proc.log_tail(80)}")
