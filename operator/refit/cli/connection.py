"""The CLI's way into a cluster: kubeconfig as kubectl finds it, and errors a person can act on.

Every failure the user can fix ends in `CliError` with one line: no kubeconfig, an API server
that does not answer, the Refit CRDs not installed, an object that does not exist, a request
the server refused. The command prints it and exits 1, without a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from refit.adapters.kube import Kube
from refit.api import base

# Module attributes (not imports) so that a test can point the CLI at a group no server serves.
GROUP: str = base.GROUP
VERSION: str = base.VERSION
PIPELINES: Final = "trainingpipelines"
RUNS: Final = "trainingruns"
# (connect, read) seconds: a cluster that does not answer should fail fast, not hang.
TIMEOUT: Final = (5, 30)


class CliError(RuntimeError):
    """A problem the user can fix; the message is the whole story."""


def _reason(error: ApiException) -> str:
    import json

    try:
        return str(json.loads(error.body or "{}").get("message") or error.reason)
    except ValueError:
        return str(error.reason)


@dataclass
class Cluster:
    """An API client, the namespace to use, and where the API server is (for messages)."""

    api: client.ApiClient
    namespace: str
    server: str

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def kube(self) -> Kube:
        return Kube(self.api)

    @contextlib.contextmanager
    def calls(self, what: str) -> Iterator[None]:
        """Translate transport and API failures of `what` into one-line CliErrors."""
        try:
            yield
        except ApiException as error:
            if error.status == 404:
                self.require_crds()
                raise CliError(f"{what}: not found") from error
            if error.status in (401, 403):
                raise CliError(f"{what}: {_reason(error)}") from error
            if error.status == 0 or error.status is None:
                raise CliError(f"cannot reach the Kubernetes API at {self.server}") from error
            raise CliError(f"{what}: {_reason(error)} (HTTP {error.status})") from error
        except (HTTPError, OSError) as error:
            raise CliError(
                f"cannot reach the Kubernetes API at {self.server}: {_transport(error)}"
            ) from error

    def require_crds(self) -> None:
        """Fail with a clear message when the cluster does not serve refit.dev/v1alpha1."""
        try:
            self.custom.get_api_resources(GROUP, VERSION, _request_timeout=TIMEOUT)
        except ApiException as error:
            if error.status == 404:
                raise CliError(
                    f"the Refit CRDs ({GROUP}/{VERSION}) are not installed in the cluster at "
                    f"{self.server}: install them with `refit crd | kubectl apply -f -` "
                    "or the Helm chart"
                ) from error
            raise

    # -- objects ------------------------------------------------------------------------------

    def get(self, plural: str, name: str) -> dict[str, Any]:
        kind = "trainingpipeline" if plural == PIPELINES else "trainingrun"
        with self.calls(f'{kind} "{name}" in namespace "{self.namespace}"'):
            obj = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name, _request_timeout=TIMEOUT
            )
        return cast(dict[str, Any], obj)

    def list(
        self, plural: str, *, all_namespaces: bool = False, selector: str = ""
    ) -> list[dict[str, Any]]:
        where = "all namespaces" if all_namespaces else f'namespace "{self.namespace}"'
        with self.calls(f"listing {plural} in {where}"):
            if all_namespaces:
                result = self.custom.list_cluster_custom_object(
                    GROUP, VERSION, plural, label_selector=selector, _request_timeout=TIMEOUT
                )
            else:
                result = self.custom.list_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    self.namespace,
                    plural,
                    label_selector=selector,
                    _request_timeout=TIMEOUT,
                )
        return list(cast(dict[str, Any], result).get("items") or [])

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        with self.calls(f'creating {plural} "{name}" in namespace "{self.namespace}"'):
            obj = self.custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, body, _request_timeout=TIMEOUT
            )
        return cast(dict[str, Any], obj)

    def patch(self, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        with self.calls(f'{plural} "{name}" in namespace "{self.namespace}"'):
            obj = self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name, patch, _request_timeout=TIMEOUT
            )
        return cast(dict[str, Any], obj)

    def patch_status(self, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        with self.calls(f'status of {plural} "{name}" in namespace "{self.namespace}"'):
            obj = self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, plural, name, patch, _request_timeout=TIMEOUT
            )
        return cast(dict[str, Any], obj)

    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.kube.event(obj, type_, reason, message, now=datetime.now(UTC))


def _transport(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    # urllib3 wraps the socket error several times; the last part is the useful one.
    return text.rsplit(": ", 1)[-1] if ": " in text else text


def connect(kubeconfig: str | None, namespace: str | None, context: str | None = None) -> Cluster:
    """The cluster kubectl would talk to (KUBECONFIG, ~/.kube/config, or in-cluster)."""
    configuration = client.Configuration()
    default_namespace = "default"
    try:
        if kubeconfig is None and context is None and not _kubeconfig_exists():
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            default_namespace = _incluster_namespace() or default_namespace
        else:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
            _, active = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
            if context is not None:
                contexts, _ = config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
                active = next((c for c in contexts if c.get("name") == context), active)
            default_namespace = (active or {}).get("context", {}).get("namespace") or "default"
    except config.ConfigException as error:
        where = kubeconfig or "KUBECONFIG / ~/.kube/config"
        raise CliError(f"no usable Kubernetes configuration ({where}): {error}") from error
    except OSError as error:
        raise CliError(f"cannot read kubeconfig {kubeconfig}: {error.strerror or error}") from error
    configuration.retries = 1  # a dead endpoint should fail in seconds
    return Cluster(
        client.ApiClient(configuration), namespace or default_namespace, configuration.host
    )


def _kubeconfig_exists() -> bool:
    import os

    paths = os.environ.get("KUBECONFIG", "")
    if paths:
        return any(Path(p).expanduser().exists() for p in paths.split(os.pathsep) if p)
    return (
        Path("~/.kube/config").expanduser().exists()
        or not Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists()
    )


def _incluster_namespace() -> str | None:
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return path.read_text().strip() if path.exists() else None
