"""Where the control-plane and tool binaries live: a cache outside the repo, keyed by the
versions pinned in versions.env (the same layout tests/cluster/build.sh writes)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, fields
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
VERSIONS_FILE = HERE / "versions.env"
BUILD_SCRIPT = HERE / "build.sh"


class BinariesMissing(RuntimeError):
    pass


def versions() -> dict[str, str]:
    """The KEY=value pins of versions.env."""
    pins: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pins[key.strip()] = value.strip().strip('"')
    return pins


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "refit"


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path
    helm: Path
    promtool: Path
    kube_score: Path

    def missing(self, names: tuple[str, ...] | None = None) -> list[Path]:
        wanted = names or tuple(f.name for f in fields(self))
        paths = [getattr(self, n) for n in wanted]
        return [p for p in paths if not os.access(p, os.X_OK)]


CONTROL_PLANE = ("etcd", "kube_apiserver", "kube_controller_manager", "kubectl")


def binaries() -> Binaries:
    v = versions()
    root = cache_root()
    k8s = root / f"kubernetes-{v['KUBERNETES_VERSION']}"
    return Binaries(
        etcd=root / f"etcd-{v['ETCD_VERSION']}" / "etcd",
        kube_apiserver=k8s / "kube-apiserver",
        kube_controller_manager=k8s / "kube-controller-manager",
        kubectl=k8s / "kubectl",
        helm=root / f"helm-{v['HELM_VERSION']}" / "helm",
        promtool=root / f"promtool-{v['PROMETHEUS_MODULE_VERSION']}" / "promtool",
        kube_score=root / f"kube-score-{v['KUBE_SCORE_VERSION']}" / "kube-score",
    )


def require(names: tuple[str, ...] = CONTROL_PLANE, build: bool = False) -> Binaries:
    """The binaries, built first when ``build`` is set; otherwise a clear error when any of
    ``names`` is missing."""
    b = binaries()
    if b.missing(names) and build:
        subprocess.run([str(BUILD_SCRIPT)], check=True)
    missing = b.missing(names)
    if missing:
        raise BinariesMissing(
            "missing test binaries: "
            + ", ".join(str(p) for p in missing)
            + "\nbuild them once with `make binaries` (tests/cluster/build.sh; a cold build"
            " compiles Kubernetes from source and takes a while, see tests/cluster/README.md)"
        )
    return b
