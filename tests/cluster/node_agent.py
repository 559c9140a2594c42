"""A simulated kubelet for the test control plane.

The test cluster has a real etcd, kube-apiserver and kube-controller-manager but no kubelet
and no container runtime. This agent stands in for both, so that the real Job controller can
run Jobs to completion:

* registers one Ready Node with labels and allocatable resources that include
  ``nvidia.com/gpu`` (and removes the ``not-ready`` taint the admission chain puts on new nodes,
  since no node-lifecycle controller runs);
* acts as the scheduler: binds pending pods (default scheduler, no scheduling gates) whose
  ``nodeSelector`` and extended-resource requests fit the node; others get
  ``PodScheduled=False/Unschedulable``;
* acts as the kubelet: runs each container's ``command`` + ``args`` as a local process (an
  argv list, never a shell string; the image is ignored), with the container's environment
  (literal values with ``$(VAR)`` expansion, Secret/ConfigMap key references, ``envFrom``,
  ``fieldRef`` and a best-effort ``resourceFieldRef``), and writes the pod status:
  ``Running``, then ``Succeeded``/``Failed`` with each container's exit code and termination
  message. Init containers run first, in order; ``restartPolicy`` is honoured;
* kills a pod's processes (SIGTERM, SIGKILL after the grace period) when the pod is deleted,
  and then finishes the deletion (``gracePeriodSeconds=0``), as a kubelet does. Pod-tracking
  finalizers of Job pods are left to the Job controller.

It is watch-based (one pod watch for all namespaces, re-listing on ``410 Gone``) and runs
each pod in its own thread, so many pods run at once.

Differences from a real kubelet that tests must know about:

* processes run on the host with the agent's user: no isolation, no volumes, no probes, no
  resource limits, no ``kubectl logs``/``exec``. ``python``/``python3`` resolve to the test
  virtualenv (its ``bin`` directory is first on the child's ``PATH``). A container without
  ``command`` fails with ``StartError`` (no image entrypoint to fall back on).
* stdout/stderr go to ``<work-dir>/<namespace>_<pod>_<uid>/<container>.log``.
* a host process cannot have a file mounted at ``terminationMessagePath``; the agent gives
  each container a fresh file and passes its path in ``REFIT_TERMINATION_LOG``.
  ``terminationMessagePolicy: FallbackToLogsOnError`` uses the log tail, as the kubelet does.
* the working directory is ``workingDir`` when it exists on the host, else the pod's sandbox.

Run: ``python node_agent.py --kubeconfig .cluster/kubeconfig`` (``cluster-up`` does this).
The agent depends only on ``requests`` and ``PyYAML`` and talks plain JSON to the API.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
import yaml

log = logging.getLogger("node-agent")

Obj = dict[str, Any]

POD_IP = "127.0.0.1"
MESSAGE_LIMIT = 4096  # bytes, as the kubelet
LOG_FALLBACK_LINES = 80
LOG_FALLBACK_BYTES = 2048
PUBLISH_RETRY_SECONDS = 600  # how long a pod status write is retried while the API is away


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- API client


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status


class Kube:
    """Minimal JSON client for the apiserver, configured from a kubeconfig with embedded
    client-certificate credentials (the kind ``cluster-up`` writes). Thread-safe: one
    ``requests.Session`` per thread."""

    def __init__(self, kubeconfig: Path) -> None:
        cfg = yaml.safe_load(kubeconfig.read_text())
        ctx_name = cfg["current-context"]
        ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
        user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
        self.server = cluster["server"].rstrip("/")
        self._dir = tempfile.mkdtemp(prefix="refit-node-agent-")
        self._ca = self._material(cluster, "certificate-authority", "ca.crt")
        self._cert = (
            self._material(user, "client-certificate", "client.crt"),
            self._material(user, "client-key", "client.key"),
        )
        self._local = threading.local()

    def _material(self, section: Obj, key: str, filename: str) -> str:
        if f"{key}-data" in section:
            path = Path(self._dir, filename)
            path.write_bytes(base64.b64decode(section[f"{key}-data"]))
            path.chmod(0o600)
            return str(path)
        return str(section[key])

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def session(self) -> requests.Session:
        s: requests.Session | None = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.trust_env = False  # no proxies, and no REQUESTS_CA_BUNDLE overriding our CA
            s.verify = self._ca
            s.cert = self._cert
            self._local.session = s
        return s

    def request(self, method: str, path: str, body: Any = None, **kw: Any) -> Obj:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = kw.pop("content_type", "application/json")
        r = self.session.request(
            method,
            self.server + path,
            data=None if body is None else json.dumps(body),
            headers=headers,
            timeout=kw.pop("timeout", 30),
            **kw,
        )
        if r.status_code >= 400:
            raise ApiError(r.status_code, r.text)
        return r.json() if r.content else {}

    def get(self, path: str, **params: Any) -> Obj:
        return self.request("GET", path, params=params or None)

    def get_or_none(self, path: str) -> Obj | None:
        try:
            return self.get(path)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def merge_patch(self, path: str, body: Obj) -> Obj:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def watch(self, path: str, resource_version: str) -> Iterator[Obj]:
        params = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "300",
        }
        with self.session.get(
            self.server + path, params=params, stream=True, timeout=(10, 330)
        ) as r:
            if r.status_code >= 400:
                raise ApiError(r.status_code, r.text)
            for line in r.iter_lines():
                if line:
                    yield json.loads(line)


# --------------------------------------------------------------------- environment


class ConfigError(Exception):
    """A referenced Secret/ConfigMap or key is missing: the kubelet's
    CreateContainerConfigError. The pod stays Pending and the agent retries."""


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined variables are replaced, undefined ones are
    left as written, ``$$`` is a literal ``$``."""
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "$" and i + 1 < len(value):
            if value[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if value[i + 1] == "(":
                end = value.find(")", i + 2)
                if end != -1:
                    name = value[i + 2 : end]
                    out.append(env.get(name, value[i : end + 1]))
                    i = end + 1
                    continue
        out.append(value[i])
        i += 1
    return "".join(out)


def _field_ref(pod: Obj, path: str) -> str:
    meta = pod["metadata"]
    simple = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.hostIP": POD_IP,
        "status.hostIPs": POD_IP,
        "status.podIP": POD_IP,
        "status.podIPs": POD_IP,
    }
    if path in simple:
        return str(simple[path])
    for prefix, key in (("metadata.labels['", "labels"), ("metadata.annotations['", "annotations")):
        if path.startswith(prefix) and path.endswith("']"):
            return str((meta.get(key) or {}).get(path[len(prefix) : -2], ""))
    raise ConfigError(f"unsupported fieldRef fieldPath {path!r}")


@dataclass
class EnvResolver:
    """Resolves a container's env and envFrom against the API, like the kubelet."""

    kube: Kube
    pod: Obj
    allocatable: dict[str, str]

    def _data(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        ns = self.pod["metadata"]["namespace"]
        resource = "secrets" if kind == "Secret" else "configmaps"
        obj = self.kube.get_or_none(f"/api/v1/namespaces/{ns}/{resource}/{name}")
        if obj is None:
            if optional:
                return None
            raise ConfigError(f'{kind.lower()} "{name}" not found')
        data: dict[str, str] = dict(obj.get("data") or {})
        if kind == "Secret":
            return {k: base64.b64decode(v).decode() for k, v in data.items()}
        data.update(
            {k: base64.b64decode(v).decode() for k, v in (obj.get("binaryData") or {}).items()}
        )
        return data

    def _key(self, kind: str, ref: Obj) -> str | None:
        optional = bool(ref.get("optional", False))
        data = self._data(kind, ref["name"], optional)
        if data is None:
            return None
        if ref["key"] not in data:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {ref['key']} in {kind} {ref['name']}")
        return data[ref["key"]]

    def _resource(self, container: Obj, ref: Obj) -> str:
        # Best effort: the container's limit, else its request, else node allocatable.
        resources = container.get("resources") or {}
        kind, _, res = ref["resource"].partition(".")
        value = (resources.get(kind) or {}).get(res) or self.allocatable.get(res, "0")
        return str(value)

    def resolve(self, container: Obj) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key in source:
                    ref = source[key]
                    data = self._data(kind, ref["name"], bool(ref.get("optional", False)))
                    env.update({prefix + k: v for k, v in (data or {}).items()})
        for var in container.get("env") or []:
            name = var["name"]
            source = var.get("valueFrom")
            value: str | None
            if source is None:
                value = expand(var.get("value", ""), env)
            elif "secretKeyRef" in source:
                value = self._key("Secret", source["secretKeyRef"])
            elif "configMapKeyRef" in source:
                value = self._key("ConfigMap", source["configMapKeyRef"])
            elif "fieldRef" in source:
                value = _field_ref(self.pod, source["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in source:
                value = self._resource(container, source["resourceFieldRef"])
            else:
                raise ConfigError(f"unsupported valueFrom for {name}")
            if value is not None:
                env[name] = value
        return env


# --------------------------------------------------------------------------- pods


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    _libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: no orphans if the agent dies


@dataclass
class ContainerState:
    name: str
    image: str
    restarts: int = 0
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    exit_code: int | None = None
    container_id: str = ""

    def status(self) -> Obj:
        running = "running" in self.state
        return {
            "name": self.name,
            "image": self.image,
            "imageID": "",
            "containerID": self.container_id,
            "ready": running,
            "started": running,
            "restartCount": self.restarts,
            "state": self.state,
            "lastState": self.last_state,
        }


class PodWorker(threading.Thread):
    """Runs one pod: init containers in order, then all containers, writing pod status."""

    def __init__(self, agent: NodeAgent, pod: Obj) -> None:
        meta = pod["metadata"]
        super().__init__(name=f"pod-{meta['namespace']}/{meta['name']}", daemon=True)
        self.agent = agent
        self.pod = pod
        self.ns, self.name, self.uid = meta["namespace"], meta["name"], meta["uid"]
        self.path = f"/api/v1/namespaces/{self.ns}/pods/{self.name}"
        spec = pod["spec"]
        self.restart_policy = spec.get("restartPolicy", "Always")
        self.sandbox = agent.work_dir / f"{self.ns}_{self.name}_{self.uid}"
        self.init = [
            ContainerState(c["name"], c.get("image", "")) for c in spec.get("initContainers") or []
        ]
        self.main = [ContainerState(c["name"], c.get("image", "")) for c in spec["containers"]]
        self.phase = "Pending"
        self.start_time = now()
        self.initialized = not self.init
        self.stopping = threading.Event()
        self.finalize = False
        self.finished = threading.Event()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._transitions: dict[str, tuple[str, str]] = {}  # condition -> (status, time)
        self._lock = threading.Lock()

    # -- status --------------------------------------------------------------------
    def _conditions(self) -> list[Obj]:
        ready = self.phase == "Running" and all("running" in c.state for c in self.main)
        terminal = self.phase in ("Succeeded", "Failed")

        def cond(kind: str, ok: bool, reason: str | None = None) -> Obj:
            status = "True" if ok else "False"
            last = self._transitions.get(kind)
            if last is None or last[0] != status:  # the time moves only on a change
                last = self._transitions[kind] = (status, now())
            c: Obj = {"type": kind, "status": status, "lastTransitionTime": last[1]}
            if reason and not ok:
                c["reason"] = reason
            return c

        not_ready = "PodCompleted" if terminal else "ContainersNotReady"
        return [
            cond("PodReadyToStartContainers", not terminal),
            cond("Initialized", self.initialized, "ContainersNotInitialized"),
            cond("Ready", ready, not_ready),
            cond("ContainersReady", ready, not_ready),
            cond("PodScheduled", True),
        ]

    def publish(self) -> None:
        """Write the pod's status. Like a kubelet, keep trying while the API server is
        unreachable or restarting (connection errors, 429, 5xx): a pod that finished during an
        apiserver restart must still be reported, or its Job would run forever."""
        delay, deadline = 0.5, time.monotonic() + PUBLISH_RETRY_SECONDS
        while True:
            try:
                self.agent.kube.merge_patch(self.path + "/status", {"status": self._status()})
                return
            except ApiError as e:
                if e.status in (404, 409):
                    return
                if e.status == 422:
                    log.warning("%s/%s: status rejected: %s", self.ns, self.name, e)
                    return
                if e.status != 429 and e.status < 500:
                    raise
                error: Exception = e
            except requests.RequestException as e:
                error = e
            if time.monotonic() > deadline:
                raise error
            log.warning("%s/%s: status not written (%s); retrying", self.ns, self.name, error)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _status(self) -> Obj:
        with self._lock:
            status: Obj = {
                "phase": self.phase,
                "hostIP": POD_IP,
                "hostIPs": [{"ip": POD_IP}],
                "podIP": POD_IP,
                "podIPs": [{"ip": POD_IP}],
                "startTime": self.start_time,
                "conditions": self._conditions(),
                "containerStatuses": [c.status() for c in self.main],
            }
            if self.init:
                status["initContainerStatuses"] = [c.status() for c in self.init]
        return status

    # -- processes -----------------------------------------------------------------
    def _spawn(self, spec: Obj, st: ContainerState, env: dict[str, str]) -> int:
        """Runs one container process to completion; returns its exit code."""
        argv = [expand(a, env) for a in (spec.get("command") or []) + (spec.get("args") or [])]
        child_env = self.agent.base_env(self.name) | env
        message_file = self.sandbox / f"{st.name}.termination-log"
        message_file.write_text("")
        child_env["REFIT_TERMINATION_LOG"] = str(message_file)
        started = now()
        exe = None
        if spec.get("command"):
            exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=child_env["PATH"])
        if exe is None:
            why = "no command: the image is ignored" if not spec.get("command") else argv[0]
            st.state = {
                "terminated": {
                    "exitCode": 128,
                    "reason": "StartError",
                    "message": f"executable not found: {why}",
                    "startedAt": started,
                    "finishedAt": now(),
                }
            }
            return 128
        workdir = spec.get("workingDir")
        cwd = workdir if workdir and os.path.isdir(workdir) else str(self.sandbox)
        logfile = self.sandbox / f"{st.name}.log"
        if self.stopping.is_set():
            st.state = {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": started,
                                       "finishedAt": now()}}  # fmt: skip
            return 137
        with logfile.open("ab") as out:
            proc = subprocess.Popen(
                argv,
                executable=exe,
                env=child_env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        with self._lock:
            self._procs[st.name] = proc
            if self.stopping.is_set():  # stop() ran while this process was starting
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        st.container_id = f"refit-node-agent://{self.uid}/{st.name}/{proc.pid}"
        st.state = {"running": {"startedAt": started}}
        log.info("%s/%s[%s]: started pid %d: %s", self.ns, self.name, st.name, proc.pid, argv)
        self.publish_phase()
        code = self._wait(proc)
        with self._lock:
            self._procs.pop(st.name, None)
        st.state = {
            "terminated": {
                "exitCode": code,
                "reason": "Completed" if code == 0 else "Error",
                "startedAt": started,
                "finishedAt": now(),
                "containerID": st.container_id,
            }
        }
        message = self._message(spec, message_file, logfile, code)
        if message:
            st.state["terminated"]["message"] = message
        log.info("%s/%s[%s]: exited %d", self.ns, self.name, st.name, code)
        return code

    def _wait(self, proc: subprocess.Popen[bytes]) -> int:
        code = proc.wait()  # blocking waitpid; stop() signals the process group
        # Reap the rest of the process group, as a container runtime would.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        return code if code >= 0 else 128 - code  # killed by signal N: 128+N

    @staticmethod
    def _message(spec: Obj, message_file: Path, logfile: Path, code: int) -> str:
        raw = message_file.read_bytes()[:MESSAGE_LIMIT] if message_file.exists() else b""
        fallback = spec.get("terminationMessagePolicy") == "FallbackToLogsOnError"
        if not raw.strip() and code != 0 and fallback:
            lines = logfile.read_bytes().splitlines()[-LOG_FALLBACK_LINES:]
            raw = b"\n".join(lines)[-LOG_FALLBACK_BYTES:]
        return raw.decode(errors="replace")

    def stop(self, grace: float, finalize: bool = False) -> None:
        """Stop the pod's processes: SIGTERM now, SIGKILL after ``grace`` seconds. With
        ``finalize`` (the pod was deleted gracefully) the deletion is completed afterwards."""
        self.finalize = self.finalize or finalize
        self.stopping.set()
        self._signal_all(signal.SIGTERM if grace > 0 else signal.SIGKILL)
        if grace > 0:
            timer = threading.Timer(grace, self._signal_all, args=(signal.SIGKILL,))
            timer.daemon = True
            timer.start()

    def _signal_all(self, sig: int) -> None:
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)

    # -- lifecycle -----------------------------------------------------------------
    def publish_phase(self) -> None:
        if self.initialized and any("running" in c.state for c in self.main):
            self.phase = "Running"
        self.publish()

    def _run_container(self, spec: Obj, st: ContainerState, env: dict[str, str]) -> int:
        """Runs a container, restarting it as restartPolicy says; returns the last exit code."""
        backoff = 1.0
        while True:
            code = self._spawn(spec, st, env)
            restart = self.restart_policy == "Always" or (
                self.restart_policy == "OnFailure" and code != 0
            )
            if not restart or self.stopping.is_set():
                return code
            st.last_state, st.restarts = st.state, st.restarts + 1
            st.state = {"waiting": {"reason": "CrashLoopBackOff"}}
            self.publish()
            if self.stopping.wait(backoff):
                return code
            backoff = min(backoff * 2, 10.0)

    def _environment(self, specs: list[Obj]) -> dict[str, dict[str, str]] | None:
        resolver = EnvResolver(self.agent.kube, self.pod, self.agent.allocatable)
        while not self.stopping.is_set():
            try:
                return {c["name"]: resolver.resolve(c) for c in specs}
            except ConfigError as e:
                for st in self.init + self.main:
                    st.state = {
                        "waiting": {"reason": "CreateContainerConfigError", "message": str(e)}
                    }
                self.publish()
                self.stopping.wait(2)
        return None

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("%s/%s: agent error", self.ns, self.name)
            self.phase = "Failed"
            with contextlib.suppress(Exception):
                self.publish()
        finally:
            self.finished.set()
            if self.finalize:
                self.agent.finish_deletion(self.path, self.uid)

    def _run(self) -> None:
        spec = self.pod["spec"]
        self.sandbox.mkdir(parents=True, exist_ok=True)
        (self.sandbox / "tmp").mkdir(exist_ok=True)
        init_specs = spec.get("initContainers") or []
        envs = self._environment(init_specs + spec["containers"])
        if envs is None:
            return
        for c in self.init + self.main:
            c.state = {
                "waiting": {"reason": "PodInitializing" if self.init else "ContainerCreating"}
            }
        self.publish()
        for cspec, st in zip(init_specs, self.init, strict=True):
            if self._run_container(cspec, st, envs[st.name]) != 0 or self.stopping.is_set():
                for c in self.main:
                    c.state = {"waiting": {"reason": "PodInitializing"}}
                self.phase = "Failed"
                self.publish()
                return
        self.initialized = True
        codes: dict[str, int] = {}

        def run_main(cspec: Obj, st: ContainerState) -> None:
            codes[st.name] = self._run_container(cspec, st, envs[st.name])

        threads = [
            threading.Thread(target=run_main, args=(c, st), daemon=True)
            for c, st in zip(spec["containers"], self.main, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = all(codes.get(st.name, 1) == 0 for st in self.main)
        self.phase = "Succeeded" if ok else "Failed"
        self.publish()


# --------------------------------------------------------------------------- node


def _memory_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 16 << 30


def _quantity(value: Any) -> float:
    """Integer-ish Kubernetes quantities (extended resources are integers)."""
    s = str(value)
    for suffix, factor in (("k", 1e3), ("M", 1e6), ("G", 1e9), ("Ki", 1024), ("Mi", 1024**2)):
        if s.endswith(suffix):
            return float(s[: -len(suffix)]) * factor
    if s.endswith("m"):
        return float(s[:-1]) / 1000
    return float(s)


class NodeAgent:
    def __init__(self, kube: Kube, args: argparse.Namespace) -> None:
        self.kube = kube
        self.node = args.node_name
        self.work_dir = Path(args.work_dir).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.python_bin = args.python_bin_dir
        self.version = args.kubernetes_version
        self.labels = {
            "kubernetes.io/hostname": self.node,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "node.kubernetes.io/instance-type": "refit-simulated",
            "topology.kubernetes.io/zone": "local",
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": "Simulated-GPU",
            "nvidia.com/gpu.count": str(args.gpus),
            "refit.dev/simulated-node": "true",
        }
        self.labels.update(dict(kv.split("=", 1) for kv in args.label))
        self.allocatable = {
            "cpu": str(os.cpu_count() or 2),
            "memory": str(_memory_bytes()),
            "ephemeral-storage": str(100 << 30),
            "pods": "250",
            "nvidia.com/gpu": str(args.gpus),
        }
        self.workers: dict[str, PodWorker] = {}
        self.unschedulable: dict[str, str] = {}
        self.binding: set[str] = set()  # binds in flight
        self.binder = ThreadPoolExecutor(max_workers=8, thread_name_prefix="bind")
        self.lock = threading.Lock()

    def base_env(self, pod_name: str) -> dict[str, str]:
        return {
            "PATH": f"{self.python_bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "HOSTNAME": pod_name,
        }

    # -- node ----------------------------------------------------------------------
    def register(self) -> None:
        ts = now()
        status: Obj = {
            "capacity": self.allocatable,
            "allocatable": self.allocatable,
            "addresses": [
                {"type": "InternalIP", "address": POD_IP},
                {"type": "Hostname", "address": self.node},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "refit simulated node agent is ready",
                    "lastHeartbeatTime": ts,
                    "lastTransitionTime": ts,
                },
                *(
                    {
                        "type": kind,
                        "status": "False",
                        "reason": f"KubeletHasNo{kind.removesuffix('Pressure')}Pressure"
                        if kind != "PIDPressure"
                        else "KubeletHasSufficientPID",
                        "lastHeartbeatTime": ts,
                        "lastTransitionTime": ts,
                    }
                    for kind in ("MemoryPressure", "DiskPressure", "PIDPressure")
                ),
            ],
            "nodeInfo": {
                "kubeletVersion": self.version,
                "kubeProxyVersion": "",
                "containerRuntimeVersion": "refit-node-agent://1",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "refit simulated node",
                "kernelVersion": os.uname().release,
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        }
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.node, "labels": self.labels},
        }
        try:
            self.kube.request("POST", "/api/v1/nodes", body)
        except ApiError as e:
            if e.status != 409:
                raise
        path = f"/api/v1/nodes/{self.node}"
        self.kube.merge_patch(path, {"metadata": {"labels": self.labels}, "spec": {"taints": None}})
        self.kube.merge_patch(path + "/status", {"status": status})
        log.info("node %s registered: allocatable %s", self.node, self.allocatable)

    # -- scheduling ----------------------------------------------------------------
    def unschedulable_reason(self, pod: Obj) -> str | None:
        spec = pod["spec"]
        for key, want in (spec.get("nodeSelector") or {}).items():
            if self.labels.get(key) != want:
                return f"0/1 nodes are available: node selector {key}={want} does not match"
        for res, have in self.allocatable.items():
            if "/" not in res:
                continue  # only extended resources (nvidia.com/gpu) are checked
            want = sum(
                _quantity(((c.get("resources") or {}).get("limits") or {}).get(res, 0))
                for c in spec["containers"]
            )
            if want > _quantity(have):
                return f"0/1 nodes are available: Insufficient {res}"
        return None

    def bind(self, pod: Obj) -> None:
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        reason = self.unschedulable_reason(pod)
        try:
            if reason is not None:
                if self.unschedulable.get(meta["uid"]) != reason:
                    self.unschedulable[meta["uid"]] = reason
                    cond = {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": reason,
                        "lastTransitionTime": now(),
                    }
                    self.kube.merge_patch(
                        f"/api/v1/namespaces/{ns}/pods/{name}/status",
                        {"status": {"conditions": [cond]}},
                    )
                    log.info("%s/%s: unschedulable: %s", ns, name, reason)
                return
            self.kube.request(
                "POST",
                f"/api/v1/namespaces/{ns}/pods/{name}/binding",
                {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": name, "uid": meta["uid"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": self.node},
                },
            )
            log.info("%s/%s: bound to %s", ns, name, self.node)
        except ApiError as e:
            if e.status not in (404, 409):
                log.warning("%s/%s: bind failed: %s", ns, name, e)
        except Exception:
            log.exception("%s/%s: bind failed", ns, name)
        finally:
            with self.lock:
                self.binding.discard(meta["uid"])

    def finish_deletion(self, path: str, uid: str) -> None:
        """A deleted pod's processes are gone: complete the graceful deletion."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                "preconditions": {"uid": uid}}  # fmt: skip
        try:
            self.kube.request("DELETE", path, body)
        except ApiError as e:
            if e.status not in (404, 409):
                log.warning("%s: final delete failed: %s", path, e)

    # -- pod events ----------------------------------------------------------------
    def observe(self, kind: str, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        uid = meta["uid"]
        if kind == "DELETED":
            self.unschedulable.pop(uid, None)
            with self.lock:
                worker = self.workers.pop(uid, None)
            if worker is not None:
                worker.stop(0)
            return
        node = spec.get("nodeName")
        if not node:
            if (
                not meta.get("deletionTimestamp")
                and spec.get("schedulerName", "default-scheduler") == "default-scheduler"
                and not spec.get("schedulingGates")
            ):
                with self.lock:
                    if uid in self.binding:
                        return
                    self.binding.add(uid)
                self.binder.submit(self.bind, pod)
            return
        if node != self.node:
            return
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
        with self.lock:
            worker = self.workers.get(uid)
            if worker is None and not meta.get("deletionTimestamp"):
                phase = (pod.get("status") or {}).get("phase", "Pending")
                if phase in ("Succeeded", "Failed"):
                    return
                if phase == "Running":  # running before this agent started: lost
                    self.binder.submit(self._mark_lost, path)
                    return
                worker = self.workers[uid] = PodWorker(self, pod)
                worker.start()
                return
        if meta.get("deletionTimestamp"):
            if worker is None or worker.finished.is_set():
                self.binder.submit(self.finish_deletion, path, uid)
            else:
                worker.stop(float(meta.get("deletionGracePeriodSeconds") or 0), finalize=True)

    def _mark_lost(self, path: str) -> None:
        patch = {"status": {"phase": "Failed", "reason": "NodeAgentRestarted",
                            "message": "the simulated node agent restarted; process lost"}}  # fmt: skip
        with contextlib.suppress(ApiError):
            self.kube.merge_patch(path + "/status", patch)

    def run(self, stop: threading.Event) -> None:
        """List, then watch from the list's resourceVersion; re-list when the watch
        expires (410 Gone) or breaks."""
        while not stop.is_set():
            try:
                listing = self.kube.get("/api/v1/pods")
                seen = set()
                for pod in listing.get("items") or []:
                    seen.add(pod["metadata"]["uid"])
                    self.observe("MODIFIED", pod)
                with self.lock:
                    gone = [uid for uid in self.workers if uid not in seen]
                for uid in gone:
                    self.observe("DELETED", {"metadata": {"uid": uid}, "spec": {}})
                rv = listing["metadata"]["resourceVersion"]
                while not stop.is_set():
                    for event in self.kube.watch("/api/v1/pods", rv):
                        kind, obj = event["type"], event["object"]
                        if kind == "ERROR":
                            raise ApiError(int(obj.get("code", 500)), obj.get("message", ""))
                        rv = obj["metadata"]["resourceVersion"]
                        if kind != "BOOKMARK":
                            self.observe(kind, obj)
            except ApiError as e:
                if e.status != 410:
                    log.warning("watch: %s; re-listing", e)
                    stop.wait(1)
            except requests.RequestException as e:
                log.warning("watch: %s; re-listing", e)
                stop.wait(1)

    def shutdown(self) -> None:
        with self.lock:
            workers = list(self.workers.values())
        for w in workers:
            w.stop(0)
        for w in workers:
            w.finished.wait(5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kubeconfig", required=True, type=Path)
    p.add_argument("--node-name", default="refit-node")
    p.add_argument("--work-dir", default=".cluster/pods", help="pod sandboxes and logs")
    p.add_argument("--gpus", type=int, default=8, help="nvidia.com/gpu allocatable")
    p.add_argument("--label", action="append", default=[], help="extra node label k=v")
    p.add_argument("--kubernetes-version", default="v0.0.0-refit", help="reported kubeletVersion")
    p.add_argument(
        "--python-bin-dir",
        default=os.path.dirname(sys.executable),
        help="put first on each child's PATH (python resolves to this virtualenv)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(message)s"
    )
    kube = Kube(args.kubeconfig)
    agent = NodeAgent(kube, args)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agent.register()
    threading.Thread(target=agent.run, args=(stop,), name="watch", daemon=True).start()
    while not stop.wait(1):
        pass
    log.info("stopping: killing %d pod(s)", len(agent.workers))
    agent.shutdown()
    kube.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
