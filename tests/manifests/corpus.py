"""The malformed-manifest corpus: every way a TrainingPipeline or TrainingRun can be wrong that
the project tests, with what must happen to it.

Each case is either refused at apply time (the API server's schema, CEL rules or request limits)
with a message that names the field, or accepted and surfaced by the operator as Ready=False
with a reason and an event. Most cases are files in ``malformed/``: line 1 ``# expect: FIELD``
(the field the refusal must name), optionally ``# operator: REASON`` (accepted by the API server;
the operator's Ready=False reason). Non-ASCII is written as YAML escapes (``"\\u202E"``) so that
a reviewer sees every invisible character. The oversized cases are generated here: megabytes
of filler do not belong in git.

Three tests consume the corpus: tests/cli/test_validate.py (offline, ``refit validate``),
tests/cluster/test_refit_crds.py (the real API server) and
tests/controllers/test_invalid_pipelines.py (the real operator, the whole corpus at once).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MALFORMED_DIR = Path(__file__).parent / "malformed"


@dataclass(frozen=True)
class Case:
    name: str
    doc: dict[str, Any]
    field: str  # the field path `refit validate` reports (or lies below)
    operator_reason: str | None = None  # None: the API server refuses it at apply time
    # What the API server's refusal must contain; defaults to the field. Limits enforced outside
    # the schema (etcd's request size, the body limit) cannot name a field.
    api_says: str | None = None
    api_status: tuple[int, ...] = (400, 422)  # 422: schema or CEL; 400: strict decoding

    @property
    def refused_at_apply(self) -> bool:
        return self.operator_reason is None

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    def body(self, name: str | None = None) -> dict[str, Any]:
        """A deep copy (tests rename and namespace it)."""
        doc = copy.deepcopy(self.doc)
        if name is not None:
            doc["metadata"]["name"] = name
        return doc


def _from_file(path: Path) -> Case:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# expect: "), f"{path.name} must start with '# expect: <field>'"
    field = lines[0].removeprefix("# expect: ").strip()
    reason = None
    if len(lines) > 1 and lines[1].startswith("# operator: "):
        reason = lines[1].removeprefix("# operator: ").strip()
    doc = yaml.safe_load("\n".join(lines))
    return Case(path.stem, doc, field, reason)


def _pipeline(name: str = "bad") -> dict[str, Any]:
    return {
        "apiVersion": "refit.dev/v1alpha1",
        "kind": "TrainingPipeline",
        "metadata": {"name": name},
        "spec": {
            "data": {"train": "file:///data/train.csv"},
            "trainer": {"image": "trainer:1"},
            "evaluation": {"metric": "rmse", "direction": "minimize"},
            "model": {"name": "m"},
        },
    }


def _generated() -> list[Case]:
    cases: list[Case] = []

    # Two annotations of 128 KiB each: 256 KiB of values plus the keys, just over the API
    # server's 262144-byte limit on all annotations together.
    doc = _pipeline()
    doc["metadata"]["annotations"] = {
        "example.com/notes-a": "x" * 131072,
        "example.com/notes-b": "x" * 131072,
    }
    cases.append(Case("90-annotations-just-over-256kib", doc, "metadata.annotations"))

    # Every trainer field within its own bound, together 1.48 MiB (just under etcd's limit, so
    # the CEL rule on spec.trainer is what refuses it, naming the field).
    doc = _pipeline()
    doc["spec"]["trainer"].update(
        command=["c" * 4096] * 64, args=["a" * 4096] * 256, evaluateCommand=["e" * 4096] * 60
    )
    cases.append(Case("91-trainer-text-over-1mib", doc, "spec.trainer"))

    # Within the trainer rule, yet 1.7 MiB as a whole: volumes are free-form Kubernetes objects
    # (checked by the API server when the Job is created), so only the request limit bounds
    # them. Past etcd's 1.5 MiB the API server relays etcd's refusal, which cannot name a
    # field; nothing is stored.
    doc = _pipeline()
    doc["spec"]["trainer"]["args"] = ["a" * 4096] * 240
    doc["spec"]["trainer"]["volumes"] = [{"name": "v", "configMap": {"name": "x" * 800_000}}]
    cases.append(
        Case(
            "92-object-over-etcd-request-limit",
            doc,
            "",
            api_says="etcdserver: request is too large",
            api_status=(500,),
        )
    )

    # Over the API server's 3 MiB request body limit: refused before it is even decoded.
    doc = _pipeline()
    doc["spec"]["trainer"]["env"] = [{"name": f"E{i}", "value": "v" * 65536} for i in range(56)]
    cases.append(
        Case(
            "93-request-body-over-3mib",
            doc,
            "",
            api_says="Request entity too large",
            api_status=(413,),
        )
    )
    return cases


def load() -> list[Case]:
    return [_from_file(p) for p in sorted(MALFORMED_DIR.glob("*.yaml"))] + _generated()


CORPUS = load()
