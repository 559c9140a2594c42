"""Kubernetes I/O: TrainingRuns, Jobs, events, status patches. Every create is idempotent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from refit.api.base import GROUP, VERSION

log = logging.getLogger(__name__)

PIPELINES = "trainingpipelines"
RUNS = "trainingruns"
COMPONENT = "refit-operator"


def load_config(kubeconfig: str | None = None) -> client.ApiClient:
    """In-cluster config when running in a pod, else the kubeconfig kubectl would use."""
    if kubeconfig is None:
        try:
            config.load_incluster_config()  # type: ignore[no-untyped-call]
            return client.ApiClient()
        except config.ConfigException:
            pass
    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


class Conflict(RuntimeError):
    """A conditional write lost: the object changed since it was read (HTTP 409). Not an error:
    re-read the object and run the pass again."""


def status_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A merge patch that turns status `old` into `new`: top-level fields that disappeared are
    sent as null (merge-patch removes them), so a cleared nextScheduleTime does not linger."""
    return {**{key: None for key in old if key not in new}, **new}


class Kube:
    """Thin wrapper over the Kubernetes client; callers never see ApiException for 404/409."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api_client = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)

    def to_dict(self, obj: Any) -> dict[str, Any]:
        """A client model as the plain camelCase dict the API sent."""
        return cast(dict[str, Any], self.api_client.sanitize_for_serialization(obj))  # type: ignore[no-untyped-call]

    # -- custom resources -------------------------------------------------------------------

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            obj = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
            return cast(dict[str, Any], obj)
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def list(self, plural: str, namespace: str, label_selector: str = "") -> list[dict[str, Any]]:
        result = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, label_selector=label_selector
        )
        return cast(list[dict[str, Any]], cast(dict[str, Any], result).get("items", []))

    def create(
        self, plural: str, namespace: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create, or return the existing object of that name. Returns (object, created)."""
        try:
            obj = self.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, body
            )
            return cast(dict[str, Any], obj), True
        except ApiException as error:
            if error.status != 409:
                raise
        existing = self.get(plural, namespace, body["metadata"]["name"])
        if existing is None:  # deleted in between; the next pass will try again
            raise RuntimeError(f"{plural}/{body['metadata']['name']} vanished after AlreadyExists")
        return existing, False

    def delete(self, plural: str, namespace: str, name: str) -> bool:
        try:
            self.custom.delete_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, propagation_policy="Background"
            )
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            raise

    def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: dict[str, Any],
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """Merge-patch the status subresource (the only part of our objects Refit writes).

        With `resource_version` (the version the caller decided from), the API server applies
        the patch only if the object is still at that version, else answers 409 and this raises
        `Conflict`: a pass that read a stale object must not overwrite a newer write (a
        `refit promote`, another pass). Returns the patched object.
        """
        # A dict body is sent as application/merge-patch+json: fields we omit are kept.
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        try:
            obj = self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, plural, name, body
            )
        except ApiException as error:
            if error.status == 409:
                raise Conflict(
                    f"{plural}/{namespace}/{name} changed since resourceVersion "
                    f"{resource_version}; re-reading"
                ) from error
            raise
        return cast(dict[str, Any], obj)

    def patch_metadata(
        self, plural: str, namespace: str, name: str, metadata: dict[str, Any]
    ) -> None:
        self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, name, {"metadata": metadata}
        )

    # -- jobs -------------------------------------------------------------------------------

    def get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            job = self.batch.read_namespaced_job(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return self.to_dict(job)

    def create_job(self, manifest: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create the Job, or return the one that already has its deterministic name."""
        namespace = manifest["metadata"]["namespace"]
        try:
            job = self.batch.create_namespaced_job(namespace, cast(Any, manifest))
            return self.to_dict(job), True
        except ApiException as error:
            if error.status != 409:
                raise
        existing = self.get_job(namespace, manifest["metadata"]["name"])
        if existing is None:
            raise RuntimeError(f"job {manifest['metadata']['name']} vanished after AlreadyExists")
        return existing, False

    def delete_job(self, namespace: str, name: str) -> bool:
        try:
            # Background propagation: without it the Job's pods are orphaned.
            self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background")
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            raise

    # -- references ---------------------------------------------------------------------------

    def secret_exists(self, namespace: str, name: str) -> bool:
        """Whether the Secret exists. Its data is read by the API call but never kept or logged."""
        try:
            self.core.read_namespaced_secret(name, namespace)
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            raise

    # -- events -----------------------------------------------------------------------------

    def event(
        self,
        involved: dict[str, Any],
        event_type: str,
        reason: str,
        message: str,
        now: datetime | None = None,
    ) -> None:
        """Post a core/v1 Event about an object (shown by kubectl describe). Best effort."""
        meta = involved.get("metadata", {})
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{meta.get('name', 'refit')}.", namespace=meta.get("namespace")
            ),
            involved_object=client.V1ObjectReference(
                api_version=involved.get("apiVersion"),
                kind=involved.get("kind"),
                name=meta.get("name"),
                namespace=meta.get("namespace"),
                uid=meta.get("uid"),
                resource_version=meta.get("resourceVersion"),
            ),
            reason=reason,
            message=message[:1024],
            type=event_type,
            first_timestamp=moment,
            last_timestamp=moment,
            count=1,
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            reporting_instance=COMPONENT,
        )
        try:
            self.core.create_namespaced_event(meta.get("namespace"), body)
        except ApiException as error:  # events are advisory: never fail a reconcile on them
            log.warning("could not post event %s on %s: %s", reason, meta.get("name"), error.reason)
