"""The `refit` command line (also installed as `kubectl-refit`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from refit.cli import crd as crd_files

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


def main() -> None:
    sys.exit(app())
