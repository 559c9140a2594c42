"""The real parts the control-plane benchmarks run against: the test control plane of
tests/cluster (etcd, kube-apiserver, kube-controller-manager with its Job and CronJob
controllers, the simulated kubelet) in a private state directory, a real `mlflow server`
(sqlite), and `refit operator` as a process of its own.

The operator talks to the apiserver as a ServiceAccount of its own (bound to cluster-admin)
rather than with the admin certificate the rest of the control plane uses: the apiserver's
API Priority and Fairness then files its requests under the `service-accounts` flow schema,
so `apiserver_flowcontrol_dispatched_requests_total` counts exactly the operator's requests.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from bench.common import REPO, log

sys.path.insert(0, str(REPO / "tests"))
from cluster.controlplane import ClusterState, down, free_port, up
from operator_harness import OperatorProcess, wait_for

DEFAULT_STATE_DIR = Path(tempfile.gettempdir()) / "bench-cluster"
OPERATOR_FLOW_SCHEMA = "service-accounts"
GROUP, VERSION = "refit.dev", "v1alpha1"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass
class Env:
    cluster: ClusterState
    api: client.ApiClient
    mlflow_uri: str
    work: Path

    def apiserver_metrics(self) -> str:
        ctx = ssl.create_default_context(cafile=str(self.cluster.path / "pki" / "ca.crt"))
        pki = self.cluster.path / "pki"
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        with urllib.request.urlopen(self.cluster.server + "/metrics", context=ctx, timeout=30) as r:
            body: bytes = r.read()
            return body.decode()

    def request_counts(self) -> RequestCounts:
        return RequestCounts.parse(self.apiserver_metrics())

    def namespace(self, prefix: str) -> str:
        core = client.CoreV1Api(self.api)
        name = f"{prefix}-{os.getpid()}-{int(time.time()) % 100000}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        wait_for(
            f"default ServiceAccount in {name}",
            lambda: any(
                sa.metadata.name == "default"
                for sa in core.list_namespaced_service_account(name).items
            ),
            timeout=60,
            interval=0.2,
        )
        return name

    def delete_namespace(self, name: str) -> None:
        """Delete a benchmark namespace once its operator is stopped: Refit objects still
        carrying the operator's finalizer get it removed, or the namespace would stay
        Terminating (and its controller would keep retrying, polluting request counts)."""
        custom = client.CustomObjectsApi(self.api)
        for plural in ("trainingruns", "trainingpipelines"):
            with contextlib.suppress(client.ApiException):
                items = custom.list_namespaced_custom_object(GROUP, VERSION, name, plural)
                for item in items["items"]:
                    if item["metadata"].get("finalizers"):
                        custom.patch_namespaced_custom_object(
                            GROUP,
                            VERSION,
                            name,
                            plural,
                            item["metadata"]["name"],
                            {"metadata": {"finalizers": None}},
                        )
        with contextlib.suppress(client.ApiException):
            client.CoreV1Api(self.api).delete_namespace(name, propagation_policy="Background")

    def operator(self, namespace: str, name: str) -> OperatorProcess:
        """`refit operator` serving `namespace`, as its own ServiceAccount."""
        kubeconfig = self._service_account_kubeconfig(namespace, name)
        proc = OperatorProcess(
            cluster=self.cluster,
            namespace=namespace,
            tracking_uri=self.mlflow_uri,
            log_path=self.work / f"{name}.log",
            extra_env={
                "KUBECONFIG": str(kubeconfig),
                # The operator's own default: the harness's 5 s would make runs poll.
                "REFIT_REQUEUE_SECONDS": "30",
            },
        )
        return proc

    def _service_account_kubeconfig(self, namespace: str, name: str) -> Path:
        core = client.CoreV1Api(self.api)
        core.create_namespaced_service_account(
            namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=name))
        )
        client.RbacAuthorizationV1Api(self.api).create_cluster_role_binding(
            client.V1ClusterRoleBinding(
                metadata=client.V1ObjectMeta(name=f"{namespace}-{name}"),
                role_ref=client.V1RoleRef(
                    api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"
                ),
                subjects=[
                    client.RbacV1Subject(kind="ServiceAccount", name=name, namespace=namespace)
                ],
            )
        )
        token = core.create_namespaced_service_account_token(
            name,
            namespace,
            client.AuthenticationV1TokenRequest(
                spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=6 * 3600)
            ),
        ).status.token
        cfg = yaml.safe_load(self.cluster.kubeconfig.read_text())
        cfg["users"] = [{"name": name, "user": {"token": token}}]
        cfg["contexts"][0]["context"]["user"] = name
        path = self.work / f"{name}.kubeconfig"
        path.write_text(yaml.safe_dump(cfg))
        path.chmod(0o600)
        return path


@dataclass
class RequestCounts:
    """apiserver_request_total by (verb, resource, subresource) and the operator's requests
    (its flow schema's dispatched requests), from one scrape."""

    by_kind: Counter[tuple[str, str, str]]
    operator: float

    @classmethod
    def parse(cls, text: str) -> RequestCounts:
        by_kind: Counter[tuple[str, str, str]] = Counter()
        operator = 0.0
        for line in text.splitlines():
            m = _SAMPLE.match(line)
            if not m:
                continue
            name, labels, value = m.group(1), dict(_LABEL.findall(m.group(3) or "")), m.group(4)
            if name == "apiserver_request_total":
                key = (
                    labels.get("verb", ""),
                    labels.get("resource", ""),
                    labels.get("subresource", ""),
                )
                by_kind[key] += float(value)
            elif (
                name == "apiserver_flowcontrol_dispatched_requests_total"
                and labels.get("flow_schema") == OPERATOR_FLOW_SCHEMA
            ):
                operator += float(value)
        return cls(by_kind, operator)

    def minus(self, before: RequestCounts) -> RequestCounts:
        diff = Counter(self.by_kind)
        diff.subtract(before.by_kind)
        return RequestCounts(+diff, self.operator - before.operator)

    @property
    def total(self) -> float:
        return float(sum(self.by_kind.values()))

    def by_resource(self) -> dict[str, float]:
        out: Counter[str] = Counter()
        for (verb, resource, sub), n in self.by_kind.items():
            out[f"{verb} {resource}{'/' + sub if sub else ''}"] += n
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def start_mlflow(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`mlflow server` with a sqlite backend, as tests/cluster/fixtures.py starts it."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    argv = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with (root / "server.log").open("wb") as out:
        proc = subprocess.Popen(
            argv,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited; see {root / 'server.log'}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    wait_for("mlflow server", healthy, timeout=300, interval=0.5)
    return proc, uri


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextlib.contextmanager
def environment(state_dir: Path = DEFAULT_STATE_DIR) -> Iterator[Env]:
    """A running control plane (a healthy one in `state_dir` is reused and left running;
    otherwise one is started there and stopped at the end) and a fresh MLflow server."""
    state_dir = state_dir.resolve()
    existing = ClusterState.load(state_dir)
    reuse = existing is not None and existing.healthy()
    started = time.monotonic()
    state = up(state_dir, owner=f"bench pid {os.getpid()}", die_with_parent=not reuse, log=log)
    log(f"control plane ready in {time.monotonic() - started:.0f}s ({state.server})")
    api = config.new_client_from_config(config_file=str(state.kubeconfig))
    work = Path(tempfile.mkdtemp(prefix="refit-bench-"))
    mlflow, uri = start_mlflow(work / "mlflow")
    failed = True
    try:
        yield Env(cluster=state, api=api, mlflow_uri=uri, work=work)
        failed = False
    finally:
        stop(mlflow)
        api.close()
        if not reuse:
            down(state_dir, log=log)
        if failed:  # keep the operator and MLflow logs for a look
            log(f"bench: logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
