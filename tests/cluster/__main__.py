"""``PYTHONPATH=tests python -m cluster up|down|status [--state-dir DIR]``

up      start the control plane (idempotent); prints how to use it
down    stop it by process id and remove its state (idempotent)
status  exit 0 when a healthy cluster runs in the state directory, 1 otherwise
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .binaries import BinariesMissing
from .controlplane import DEFAULT_STATE_DIR, ClusterError, ClusterState, down, up


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m cluster", description=__doc__)
    p.add_argument("command", choices=["up", "down", "status"])
    p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    args = p.parse_args(argv)
    if args.command == "down":
        down(args.state_dir)
        return 0
    if args.command == "status":
        state = ClusterState.load(args.state_dir.resolve())
        ok = state is not None and state.healthy()
        print(f"healthy: {state.server}" if ok and state else "no healthy cluster")
        return 0 if ok else 1
    try:
        state = up(args.state_dir)
    except (BinariesMissing, ClusterError) as e:
        print(f"cluster-up: {e}", file=sys.stderr)
        return 1
    print(f"kubeconfig: {state.kubeconfig}\nuse it:     source {state.path / 'env'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
