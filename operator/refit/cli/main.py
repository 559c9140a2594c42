"""The `refit` command line (also installed as `kubectl-refit`)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from refit.cli import crd as crd_files

if TYPE_CHECKING:
    from refit.api.pipeline import ChampionStatus

app = typer.Typer(
    name="refit",
    help="Refit: continuous training for Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def crd(
    out: Annotated[Path | None, typer.Option(help="Write the CRDs into this folder.")] = None,
    check: Annotated[
        Path | None, typer.Option(help="Fail if this folder's CRDs are stale.")
    ] = None,
) -> None:
    """Print the CustomResourceDefinitions generated from the API models."""
    if check is not None:
        stale = crd_files.stale(check)
        if stale:
            typer.echo(
                f"stale generated CRDs in {check}: {', '.join(stale)} (run `make crds`)", err=True
            )
            raise typer.Exit(1)
        typer.echo(f"{check}: CRDs up to date")
        return
    if out is not None:
        for path in crd_files.write(out):
            typer.echo(f"wrote {path}")
        return
    typer.echo("---\n".join(crd_files.render().values()), nl=False)


def _manifest_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"})
        else:
            files.append(path)
    return files


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Manifest files or folders (YAML).")],
) -> None:
    """Validate TrainingPipeline and TrainingRun manifests offline; one line per problem."""
    from refit.cli.validate import validate_file

    files = _manifest_files(paths)
    if not files:
        typer.echo("no manifest files found", err=True)
        raise typer.Exit(2)
    failures = 0
    for path in files:
        warnings: list[str] = []
        problems = validate_file(path, warnings)
        for line in warnings:
            typer.echo(line, err=True)
        failures += bool(problems)
        for line in problems:
            typer.echo(line, err=True)
    if failures:
        typer.echo(f"{failures} of {len(files)} file(s) invalid", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(files)} file(s) valid")


@app.command()
def operator(
    kubeconfig: Annotated[
        str | None, typer.Option(envvar="KUBECONFIG", help="Kubeconfig; in-cluster when unset.")
    ] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option(help="Namespace to serve (repeat); default: REFIT_NAMESPACES or all."),
    ] = None,
    mlflow_tracking_uri: Annotated[
        str | None, typer.Option(help="Default MLflow tracking URI.")
    ] = None,
    standalone: Annotated[
        bool, typer.Option(help="Skip peering (only for a single replica).")
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus /metrics port (0: off).")
    ] = None,
    health_port: Annotated[
        int | None, typer.Option(help="Liveness /healthz port (0: off).")
    ] = None,
) -> None:
    """Run the Refit operator (the controllers for TrainingPipeline and TrainingRun)."""
    import dataclasses

    from refit.controllers.config import OperatorConfig
    from refit.controllers.main import run_operator

    config = OperatorConfig.from_env()
    overrides: dict[str, object] = {}
    if namespace:
        overrides["namespaces"] = tuple(namespace)
    if mlflow_tracking_uri:
        overrides["mlflow_tracking_uri"] = mlflow_tracking_uri
    if standalone:
        overrides["peering"] = None
    if metrics_port is not None:
        overrides["metrics_port"] = metrics_port
    if health_port is not None:
        overrides["health_port"] = health_port
    run_operator(dataclasses.replace(config, **overrides), kubeconfig=kubeconfig)  # type: ignore[arg-type]


def _fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr and the exit code: no traceback for problems the user can fix."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def run(
    file: Annotated[Path, typer.Argument(help="A TrainingPipeline manifest (YAML).")],
    at: Annotated[
        str | None,
        typer.Option(help="Run the schedule tick at TIME (RFC 3339 or a date; UTC if no offset)."),
    ] = None,
    replay: Annotated[
        str | None,
        typer.Option(
            metavar="FROM..TO", help="Run every schedule tick in (FROM, TO], one after another."
        ),
    ] = None,
    drift: Annotated[
        bool, typer.Option(help="Run the drift check (at --at or now); retrain if it drifted.")
    ] = False,
    pipeline: Annotated[
        str | None, typer.Option(help="The pipeline to run when FILE holds several.")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: the store under --store).")
    ] = None,
    store: Annotated[
        Path, typer.Option(help="Local store: MLflow SQLite database, artifacts, Job logs.")
    ] = Path(".refit"),
    warm: Annotated[
        bool,
        typer.Option(
            help="Run refit-trainer steps in one warm worker process (fast; see refit.local.executors)."
        ),
    ] = False,
    approve: Annotated[
        bool, typer.Option(help="Approve the promotion of a pipeline in Manual promotion mode.")
    ] = False,
) -> None:
    """Run a pipeline locally: the operator's run state machine, with processes for Jobs.

    Without --at/--replay it is a Manual run now. Prints progress, then the run's conditions
    and the gate's decision; exits 1 when a run failed, with the reason.
    """
    from refit.adapters.mlflow import MlflowUnavailable
    from refit.cli.local_run import RunsFailed, UsageProblem, run_local
    from refit.local.manifest import ManifestError
    from refit.local.runner import LocalRunError

    _quiet_mlflow()
    try:
        code = run_local(
            _console(),
            file=file,
            pipeline_name=pipeline,
            at=at,
            replay=replay,
            drift=drift,
            tracking_uri=tracking_uri,
            store_dir=store,
            warm=warm,
            approve=approve,
        )
    except UsageProblem as error:
        _fail(str(error), 2)
    except (ManifestError, LocalRunError, MlflowUnavailable, RunsFailed) as error:
        _fail(str(error))
    raise typer.Exit(code)


def _console() -> Console:
    # Piped output (CI logs, `make demo | tee`) gets a readable width instead of rich's 80.
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 120)
    return console


def _quiet_mlflow() -> None:
    # MLflow logs schema migrations and artifact downloads at INFO: noise around our own output.
    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def demo(
    data: Annotated[
        Path, typer.Option(help="Folder with cdnow_transactions.csv.gz and telco_churn.csv.gz.")
    ] = Path("examples/data"),
    out: Annotated[Path, typer.Option(help="Where the PNGs and manifests go.")] = Path(
        "demo-output"
    ),
    store: Annotated[
        Path, typer.Option(help="Local store: MLflow SQLite database, artifacts, Job logs.")
    ] = Path(".refit"),
    weeks: Annotated[
        str | None,
        typer.Option(
            metavar="FROM..TO", help="Replay these weeks (default 1997-03-01..1998-06-30)."
        ),
    ] = None,
) -> None:
    """Refit's main job on real data, locally (no cluster needed).

    Daily sales: weekly retraining replayed over the CDNOW history, 1997-03..1998-06; then churn
    with drift on the telco data. Writes demo-output/daily-sales.png and churn-drift.png.
    """
    from refit.adapters.mlflow import MlflowUnavailable
    from refit.cli.local_run import UsageProblem, parse_range
    from refit.local.demo import REPLAY_END, REPLAY_START, DemoError, run_demo
    from refit.local.runner import LocalRunError
    from refit.local.store import LocalStore

    _quiet_mlflow()
    console = _console()
    try:
        start, end = parse_range(weeks) if weeks else (REPLAY_START, REPLAY_END)
        result = run_demo(
            console, data=data, out=out, store=LocalStore(store), start=start, end=end
        )
    except UsageProblem as error:
        _fail(str(error), 2)
    except (DemoError, LocalRunError, MlflowUnavailable) as error:
        _fail(str(error))
    console.print(
        f"\ndemo finished in {result.seconds:.0f} s; MLflow UI: mlflow ui --backend-store-uri sqlite:///{store / 'mlflow.db'}"
    )
    if not result.ok:
        _fail("the demo did not show what it should (see above)")


# --- against a cluster ------------------------------------------------------------------------------

Kubeconfig = Annotated[
    str | None,
    typer.Option(
        help="Kubeconfig file (default: as kubectl finds it: $KUBECONFIG, ~/.kube/config)."
    ),
]
KubeContext = Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")]
Namespace = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Namespace (default: the context's, else default)."),
]
TrackingUri = Annotated[
    str | None,
    typer.Option(help="MLflow tracking URI (default: the pipeline's spec.mlflow.trackingUri)."),
]
PipelineName = Annotated[str, typer.Argument(help="TrainingPipeline name.")]


def _cluster(kubeconfig: str | None, namespace: str | None, context: str | None) -> Any:
    from refit.cli.connection import connect

    return connect(kubeconfig, namespace, context)


@contextlib.contextmanager
def _cli_errors() -> Iterator[None]:
    """Run a cluster command: a CliError becomes `error: <one line>` and exit code 1."""
    from refit.cli.connection import CliError

    try:
        yield
    except CliError as error:
        _fail(str(error))


@app.command()
def get(
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")
    ] = False,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """The fleet: every TrainingPipeline with its schedule, last run, champion, drift, readiness."""
    from refit.cli.fleet import print_get

    with _cli_errors():
        print_get(_console(), _cluster(kubeconfig, namespace, context), all_namespaces)


@app.command()
def status(
    name: PipelineName,
    tracking_uri: TrackingUri = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """One pipeline: conditions, champion and its history, recent runs, drift per feature, MLflow links."""
    from refit.cli.fleet import status_view

    _quiet_mlflow()
    with _cli_errors():
        view = status_view(_cluster(kubeconfig, namespace, context), name, tracking_uri)
        _console().print(view)


@app.command()
def trigger(
    name: PipelineName,
    reason: Annotated[str | None, typer.Option(help="Why (recorded in the run's trigger).")] = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """Start a Manual run now: a TrainingRun with a snapshot of the pipeline, owned by it."""
    from refit.cli import actions

    with _cli_errors():
        run_body = actions.trigger(
            _cluster(kubeconfig, namespace, context), name, reason, actions.utc_now()
        )
    typer.echo(f"trainingrun/{run_body['metadata']['name']} created")


@app.command()
def approve(
    run: Annotated[str, typer.Argument(help="TrainingRun name.")],
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """Approve a run's promotion (pipelines with promotion.mode Manual)."""
    from refit.cli import actions

    with _cli_errors():
        _, note = actions.approve(_cluster(kubeconfig, namespace, context), run)
    typer.echo(f"trainingrun/{run} approved: {note}")


@app.command()
def promote(
    name: PipelineName,
    version: Annotated[str, typer.Argument(help="Registered model version to make champion.")],
    tracking_uri: TrackingUri = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """Make VERSION the champion: move the alias in MLflow and record it on the pipeline."""
    from refit.cli import actions

    _quiet_mlflow()
    with _cli_errors():
        champion, previous = actions.promote_version(
            _cluster(kubeconfig, namespace, context), name, version, tracking_uri, actions.utc_now()
        )
    _echo_champion(name, "champion is now", champion, previous)


@app.command()
def rollback(
    name: PipelineName,
    tracking_uri: TrackingUri = None,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """Back to the previous champion (status.championHistory): alias and status."""
    from refit.cli import actions

    _quiet_mlflow()
    with _cli_errors():
        champion, previous = actions.roll_back(
            _cluster(kubeconfig, namespace, context), name, tracking_uri, actions.utc_now()
        )
    _echo_champion(name, "rolled back, champion is", champion, previous)


def _echo_champion(
    name: str, what: str, champion: ChampionStatus, previous: ChampionStatus | None
) -> None:
    was = f" (was version {previous.version})" if previous and previous.version else ""
    typer.echo(f"trainingpipeline/{name}: {what} version {champion.version}{was}")


def _suspend(
    name: str, value: bool, kubeconfig: str | None, namespace: str | None, context: str | None
) -> None:
    from refit.cli import actions

    with _cli_errors():
        actions.suspend(_cluster(kubeconfig, namespace, context), name, value)
    typer.echo(f"trainingpipeline/{name} {'suspended' if value else 'resumed'}")


@app.command()
def suspend(
    name: PipelineName,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """Stop creating runs and drift checks (spec.suspend=true); active runs finish."""
    _suspend(name, True, kubeconfig, namespace, context)


@app.command()
def resume(
    name: PipelineName,
    kubeconfig: Kubeconfig = None,
    context: KubeContext = None,
    namespace: Namespace = None,
) -> None:
    """Create runs again (spec.suspend=false)."""
    _suspend(name, False, kubeconfig, namespace, context)


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()
