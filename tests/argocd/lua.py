"""Run an Argo CD Lua health script on a Kubernetes object (a dict) with lua5.1."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).with_name("harness.lua")


def to_lua(value: Any) -> str:
    """A Lua literal for a JSON-like value, as Argo CD hands objects to Lua: objects become
    tables with string keys, arrays 1-based sequences, null fields absent."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'
    if isinstance(value, list):
        return "{" + ", ".join(to_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        items = (f"[{to_lua(str(k))}] = {to_lua(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def run_health(lua: Path, script: Path, obj: dict[str, Any]) -> tuple[str, str]:
    """(status, message) that ``script`` returns for ``obj``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", encoding="utf-8") as f:
        f.write("obj = " + to_lua(obj) + "\n")
        f.flush()
        done = subprocess.run(
            [str(lua), str(HARNESS), f.name, str(script)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    if done.returncode != 0:
        raise AssertionError(f"{script.name} failed in Lua:\n{done.stderr}")
    status, message = done.stdout.rstrip("\n").split("\n", 1)
    return status, message
