"""Start and stop the test control plane: etcd, kube-apiserver, kube-controller-manager and
the simulated node agent, all on random free ports of 127.0.0.1.

Everything a running cluster needs lives in one state directory (``.cluster/`` for
``make cluster-up``; a temporary directory for a cluster a test session starts itself):

    state.json    process ids (with their start times, so a recycled pid is never signalled),
                  ports, server URL, version
    kubeconfig    admin credentials (client certificate in ``system:masters``), embedded
    pki/          CA, apiserver serving certificate, admin certificate, service-account keys
    etcd/         etcd data
    logs/         one log per process
    pods/         the node agent's pod sandboxes and container logs
    bin/          links to the cached kubectl, helm, promtool (``source <dir>/env``)

``up`` is idempotent (a healthy cluster is left alone, a broken one is torn down and
restarted) and so is ``down`` (stops by process id, removes the directory).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime as dt
import fcntl
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .binaries import HERE, REPO_ROOT, Binaries, require, versions

DEFAULT_STATE_DIR = REPO_ROOT / ".cluster"
CRD_DIR = REPO_ROOT / "crds"
NODE_NAME = "refit-node"
SERVICE_CIDR = "10.0.0.0/24"
KCM_CONTROLLERS = [
    "job-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "ttl-after-finished-controller",
    "cronjob-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
]


class ClusterError(RuntimeError):
    pass


@dataclass
class Proc:
    pid: int
    start_time: int  # /proc/<pid>/stat field 22: tells a recycled pid apart

    def alive(self) -> bool:
        return _start_time(self.pid) == self.start_time


@dataclass
class ClusterState:
    dir: str
    server: str
    version: str
    ports: dict[str, int]
    procs: dict[str, Proc] = field(default_factory=dict)
    owner: str = "cluster-up"

    @property
    def path(self) -> Path:
        return Path(self.dir)

    @property
    def kubeconfig(self) -> Path:
        return self.path / "kubeconfig"

    def save(self) -> None:
        tmp = self.path / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(self.path / "state.json")

    @classmethod
    def load(cls, state_dir: Path) -> ClusterState | None:
        try:
            raw: dict[str, Any] = json.loads((state_dir / "state.json").read_text())
            raw["procs"] = {k: Proc(**v) for k, v in raw["procs"].items()}
            return cls(**raw)
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def healthy(self) -> bool:
        expected = {"etcd", "kube-apiserver", "kube-controller-manager", "node-agent"}
        if set(self.procs) != expected or not all(p.alive() for p in self.procs.values()):
            return False
        try:
            return _get(self.path, self.server + "/readyz", timeout=3) == "ok"
        except OSError:
            return False


# ------------------------------------------------------------------------------ helpers


def _start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields_after_comm = stat.rsplit(")", 1)[1].split()
    if fields_after_comm[0] == "Z":  # zombie: exited, not yet reaped
        return None
    return int(fields_after_comm[19])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tls(state_dir: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(state_dir / "pki" / "ca.crt"))
    ctx.load_cert_chain(str(state_dir / "pki" / "admin.crt"), str(state_dir / "pki" / "admin.key"))
    return ctx


def _get(state_dir: Path | None, url: str, timeout: float = 5) -> str:
    """GET with the admin client certificate (or no TLS verification when state_dir is
    None: kube-controller-manager serves a self-signed certificate)."""
    if state_dir is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = _tls(state_dir)
    with urllib.request.urlopen(url, timeout=timeout, context=ctx) as r:
        body: bytes = r.read()
        return body.decode()


def _wait(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    log: Path | None,
    proc: Proc | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            timeout = 0  # the process died: no point waiting
            what = f"{what} (the process exited)"
            break
        try:
            if check():
                return
        except (OSError, ValueError, subprocess.SubprocessError, ClusterError):
            pass
        time.sleep(0.2)
    tail = ""
    if log is not None and log.exists():
        tail = (
            "\n--- last lines of "
            + str(log)
            + "\n"
            + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        )
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:  # between fork and exec: SIGTERM when the parent exits
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_children: dict[int, subprocess.Popen[bytes]] = {}  # keeps Popen objects (and reaping) alive


def _spawn(state: ClusterState, name: str, argv: list[str], die_with_parent: bool) -> Proc:
    logfile = state.path / "logs" / f"{name}.log"
    with logfile.open("ab") as out:
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=state.dir,
            start_new_session=True,  # survives the shell that ran `make cluster-up`
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    _children[p.pid] = p
    start = None
    for _ in range(50):
        start = _start_time(p.pid)
        if start is not None or p.poll() is not None:
            break
        time.sleep(0.01)
    if start is None:
        raise ClusterError(f"{name} exited at once; see {logfile}")
    proc = state.procs[name] = Proc(p.pid, start)
    state.save()
    return proc


def _stop(proc: Proc, timeout: float = 10) -> None:
    if not proc.alive():
        return
    os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child = _children.get(proc.pid)
        if child is not None:
            child.poll()  # reap our own child so that it does not linger as a zombie
        if not proc.alive():
            _children.pop(proc.pid, None)
            return
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    if (child := _children.pop(proc.pid, None)) is not None:
        child.wait(5)


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise up/down on one state directory across processes."""
    digest = hashlib.sha256(str(state_dir).encode()).hexdigest()[:16]
    lock = Path(tempfile.gettempdir()) / f"refit-cluster-{digest}.lock"
    with lock.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


# --------------------------------------------------------------------------------- PKI


def _write_key(path: Path, key: Any) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _make_pki(pki: Path) -> None:
    """A CA, the apiserver's serving certificate, an admin client certificate
    (O=system:masters) and the service-account signing key pair."""
    pki.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    later = now + dt.timedelta(days=365)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "refit-test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(later)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (pki / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _write_key(pki / "ca.key", ca_key)

    def leaf(name: str, subject: x509.Name, usage: ExtendedKeyUsageOID, san: list[Any]) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(later)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        (pki / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(pki / f"{name}.key", key)

    service_ip = next(ipaddress.ip_network(SERVICE_CIDR).hosts())
    leaf(
        "apiserver",
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
        ExtendedKeyUsageOID.SERVER_AUTH,
        [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(service_ip),
            x509.DNSName("localhost"),
            *(
                x509.DNSName(n)
                for n in (
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                )
            ),
        ],
    )
    leaf(
        "admin",
        x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                x509.NameAttribute(NameOID.COMMON_NAME, "refit-test-admin"),
            ]
        ),
        ExtendedKeyUsageOID.CLIENT_AUTH,
        [],
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _write_kubeconfig(state: ClusterState) -> None:
    def b64(name: str) -> str:
        return base64.b64encode((state.path / "pki" / name).read_bytes()).decode()

    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "refit-test",
                "cluster": {"server": state.server, "certificate-authority-data": b64("ca.crt")},
            }
        ],
        "users": [
            {
                "name": "refit-test-admin",
                "user": {
                    "client-certificate-data": b64("admin.crt"),
                    "client-key-data": b64("admin.key"),
                },
            }
        ],
        "contexts": [
            {
                "name": "refit-test",
                "context": {
                    "cluster": "refit-test",
                    "user": "refit-test-admin",
                    "namespace": "default",
                },
            }
        ],
        "current-context": "refit-test",
    }
    state.kubeconfig.write_text(yaml.safe_dump(cfg, sort_keys=False))
    state.kubeconfig.chmod(0o600)


def _write_env(state: ClusterState, b: Binaries) -> None:
    bindir = state.path / "bin"
    bindir.mkdir(exist_ok=True)
    for binary in (b.kubectl, b.helm, b.promtool, b.etcd, b.kube_apiserver):
        link = bindir / binary.name
        link.unlink(missing_ok=True)
        if binary.exists():
            link.symlink_to(binary)
    (state.path / "env").write_text(
        f"# source this file: kubectl, helm and promtool of the pinned versions\n"
        f"export KUBECONFIG={state.kubeconfig}\n"
        f'export PATH={bindir}:"$PATH"\n'
    )


# ------------------------------------------------------------------------------ kubectl


def kubectl(state: ClusterState, *args: str, timeout: float = 60) -> str:
    b = require()
    r = subprocess.run(
        [str(b.kubectl), "--kubeconfig", str(state.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if r.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed:\n{r.stderr}{r.stdout}")
    return r.stdout


def install_crds(state: ClusterState, crd_dir: Path = CRD_DIR) -> list[str]:
    """Apply every crd_dir/*.yaml (if any) and wait until each CRD is Established."""
    files = sorted(crd_dir.glob("*.yaml")) + sorted(crd_dir.glob("*.yml"))
    if not files:
        return []
    args = ["apply", "--server-side", "--force-conflicts", "-o", "name"]
    for f in files:
        args += ["-f", str(f)]
    names = [n for n in kubectl(state, *args).split() if n.startswith("customresourcedefinition")]
    if names:
        kubectl(state, "wait", "--for=condition=Established", "--timeout=60s", *names)
    return names


# ------------------------------------------------------------------------------- up/down


def up(
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    owner: str = "cluster-up",
    die_with_parent: bool = False,
    crd_dir: Path = CRD_DIR,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> ClusterState:
    """Start a control plane in ``state_dir`` unless a healthy one runs there already."""
    state_dir = state_dir.resolve()
    with _locked(state_dir):
        return _up(state_dir, owner, die_with_parent, crd_dir, log)


def _up(
    state_dir: Path,
    owner: str,
    die_with_parent: bool,
    crd_dir: Path,
    log: Callable[[str], None],
) -> ClusterState:
    existing = ClusterState.load(state_dir)
    if existing is not None and existing.healthy():
        log(f"cluster already running ({existing.server}, state in {state_dir})")
        install_crds(existing, crd_dir)
        return existing
    if existing is not None or state_dir.exists():
        _down(state_dir, log=lambda _m: None)

    b = require()
    started = time.monotonic()
    v = versions()
    state_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("logs", "etcd", "pods"):
        (state_dir / sub).mkdir(exist_ok=True)
    (state_dir / "etcd").chmod(0o700)
    ports = {n: free_port() for n in ("etcd", "etcd-peer", "apiserver", "controller-manager")}
    state = ClusterState(
        dir=str(state_dir),
        server=f"https://127.0.0.1:{ports['apiserver']}",
        version=v["KUBERNETES_VERSION"],
        ports=ports,
        owner=owner,
    )
    state.save()
    try:
        phases = _start(state, b, die_with_parent, crd_dir)
    except BaseException:
        # Stop what started, keep the files (logs) for a look; the next `up` or `down`
        # removes them.
        for name in reversed(list(state.procs)):
            _stop(state.procs[name])
        (state_dir / "state.json").unlink(missing_ok=True)
        log(f"cluster start failed; logs in {state_dir / 'logs'}")
        raise
    log(
        f"cluster up in {time.monotonic() - started:.1f}s ({phases}): {state.server} "
        f"(Kubernetes {state.version}); kubeconfig {state.kubeconfig}"
    )
    return state


def _apiserver_argv(state: ClusterState, b: Binaries) -> list[str]:
    """kube-apiserver's flags: the same at the first start and at a restart."""
    ports, pki = state.ports, state.path / "pki"
    etcd_url = f"http://127.0.0.1:{ports['etcd']}"
    return [
        str(b.kube_apiserver),
        f"--etcd-servers={etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={ports['apiserver']}",
        f"--cert-dir={pki}",
        f"--tls-cert-file={pki / 'apiserver.crt'}",
        f"--tls-private-key-file={pki / 'apiserver.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        "--authorization-mode=Node,RBAC",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--service-account-issuer={state.server}",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--endpoint-reconciler-type=none",
        "--allow-privileged=true",
        "--max-requests-inflight=1000",
        "--max-mutating-requests-inflight=500",
    ]


def _start(state: ClusterState, b: Binaries, die_with_parent: bool, crd_dir: Path) -> str:
    """Start the processes in order; returns how long each phase took."""
    d, ports, pki = state.path, state.ports, state.path / "pki"
    logs = d / "logs"
    phases: list[str] = []
    last = time.monotonic()

    def mark(phase: str) -> None:
        nonlocal last
        phases.append(f"{phase} {time.monotonic() - last:.1f}s")
        last = time.monotonic()

    _make_pki(pki)
    _write_kubeconfig(state)
    _write_env(state, b)
    mark("pki")

    etcd_url = f"http://127.0.0.1:{ports['etcd']}"
    peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
    etcd = _spawn(
        state,
        "etcd",
        [
            str(b.etcd),
            "--name=refit",
            f"--data-dir={d / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=refit={peer_url}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync=true",  # test data: speed over durability
            "--log-level=warn",
        ],
        die_with_parent,
    )
    _wait(
        "etcd",
        lambda: '"health":"true"' in _get(None, etcd_url + "/health"),
        30,
        logs / "etcd.log",
        etcd,
    )
    mark("etcd")

    apiserver = _spawn(state, "kube-apiserver", _apiserver_argv(state, b), die_with_parent)
    _wait(
        "kube-apiserver /readyz",
        lambda: _get(d, state.server + "/readyz") == "ok",
        90,
        logs / "kube-apiserver.log",
        apiserver,
    )
    mark("kube-apiserver")

    # The garbage collector reads discovery at start (and only about every 30s after):
    # install the CRDs before kube-controller-manager starts.
    names = install_crds(state, crd_dir)
    if names:
        print(f"CRDs established: {', '.join(n.split('/', 1)[1] for n in names)}", file=sys.stderr)
    mark("crds")

    kubeconfig = str(state.kubeconfig)
    kcm_proc = _spawn(
        state,
        "kube-controller-manager",
        [
            str(b.kube_controller_manager),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['controller-manager']}",
            f"--cert-dir={d / 'pki' / 'controller-manager'}",
            f"--controllers={','.join(KCM_CONTROLLERS)}",
            "--leader-elect=false",
            "--use-service-account-credentials=false",
            f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--concurrent-job-syncs=10",
        ],
        die_with_parent,
    )
    kcm = f"https://127.0.0.1:{ports['controller-manager']}/healthz"
    _wait(
        "kube-controller-manager /healthz",
        lambda: _get(None, kcm) == "ok",
        60,
        logs / "kube-controller-manager.log",
        kcm_proc,
    )
    # The serviceaccount controller creates `default` in every namespace: proof that the
    # controllers run, and what pods need before the ServiceAccount admission admits them.
    _wait(
        "the default ServiceAccount",
        lambda: bool(
            kubectl(state, "get", "serviceaccount", "default", "-n", "default", "-o", "name")
        ),
        60,
        logs / "kube-controller-manager.log",
        kcm_proc,
    )
    mark("kube-controller-manager")

    agent = _spawn(
        state,
        "node-agent",
        [
            sys.executable,
            str(HERE / "node_agent.py"),
            f"--kubeconfig={kubeconfig}",
            f"--node-name={NODE_NAME}",
            f"--work-dir={d / 'pods'}",
            f"--kubernetes-version={state.version}",
            f"--python-bin-dir={Path(sys.executable).parent}",
        ],
        die_with_parent,
    )
    _wait(
        f"node {NODE_NAME} Ready",
        lambda: (
            kubectl(
                state,
                "get",
                "node",
                NODE_NAME,
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            ).strip()
            == "True"
        ),
        30,
        logs / "node-agent.log",
        agent,
    )
    mark("node-agent")
    return ", ".join(phases)


def restart_apiserver(
    state: ClusterState,
    downtime: float = 0.0,
    while_down: Callable[[], None] = lambda: None,
) -> ClusterState:
    """Stop kube-apiserver (SIGTERM), stay down `downtime` seconds, run `while_down`, and start it
    again with the same flags, port, certificates and etcd; returns once /readyz says ok.

    For fault tests. Everything else keeps running, so clients see connection refused and their
    watches end, then reconnect to the same server. The new process dies with this one only if
    this process started the cluster (a shared ``make cluster-up`` cluster must outlive it).
    """
    d = state.path
    with _locked(d):
        _stop(state.procs["kube-apiserver"])
        try:
            time.sleep(downtime)
            while_down()
        finally:
            own = state.owner == f"pytest pid {os.getpid()}"
            proc = _spawn(state, "kube-apiserver", _apiserver_argv(state, require()), own)
            _wait(
                "kube-apiserver /readyz after a restart",
                lambda: _get(d, state.server + "/readyz") == "ok",
                120,
                d / "logs" / "kube-apiserver.log",
                proc,
            )
    return state


def down(
    state_dir: Path = DEFAULT_STATE_DIR,
    *,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> None:
    """Stop every process the state records (by pid, newest first) and remove the state."""
    state_dir = state_dir.resolve()
    with _locked(state_dir):
        _down(state_dir, log)


def _down(state_dir: Path, log: Callable[[str], None]) -> None:
    state = ClusterState.load(state_dir)
    if state is not None:
        for name in reversed(list(state.procs)):
            _stop(state.procs[name])
        log(f"cluster stopped ({len(state.procs)} processes); removed {state_dir}")
    elif not state_dir.exists():
        log(f"no cluster in {state_dir}")
    if state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
