"""The test control plane is the real Kubernetes API: pinned version, RBAC, CRDs with a
status subresource, and a Ready node that offers GPUs."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .binaries import REPO_ROOT, require, versions
from .controlplane import NODE_NAME, ClusterState, kubectl
from .kube import wait_for

GROUP = "harness.test.refit.dev"
PLURAL = "widgets"


def test_server_reports_the_pinned_version(
    cluster: ClusterState, api_client: client.ApiClient
) -> None:
    pinned = versions()["KUBERNETES_VERSION"]
    info = client.VersionApi(api_client).get_code()
    assert info.git_version == pinned
    assert (info.major, info.minor) == ("1", pinned.split(".")[1])
    out = subprocess.run(
        [str(require().kubectl), "--kubeconfig", str(cluster.kubeconfig), "version", "-o", "yaml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    both = yaml.safe_load(out)
    assert both["clientVersion"]["gitVersion"] == pinned
    assert both["serverVersion"]["gitVersion"] == pinned


def test_rbac_is_enforced(cluster: ClusterState, api_client: client.ApiClient) -> None:
    """RBAC is on: an identity without bindings is denied, the admin is allowed."""
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user="nobody",
            resource_attributes=client.V1ResourceAttributes(
                verb="list", resource="pods", namespace="default"
            ),
        )
    )
    result = client.AuthorizationV1Api(api_client).create_subject_access_review(review)
    assert result.status is not None and result.status.allowed is False
    review.spec.user, review.spec.groups = "someone", ["system:masters"]
    result = client.AuthorizationV1Api(api_client).create_subject_access_review(review)
    assert result.status is not None and result.status.allowed is True


def test_node_is_ready_and_offers_gpus(api_client: client.ApiClient) -> None:
    node = client.CoreV1Api(api_client).read_node(NODE_NAME)
    assert node.status is not None and node.metadata is not None
    ready = {c.type: c.status for c in node.status.conditions or []}
    assert ready["Ready"] == "True"
    assert int(node.status.allocatable["nvidia.com/gpu"]) >= 1
    assert node.metadata.labels["nvidia.com/gpu.present"] == "true"
    assert not node.spec or not node.spec.taints


def test_every_crd_in_the_repo_is_established(cluster: ClusterState) -> None:
    """cluster-up (and the session fixture) install crds/*.yaml and wait for Established."""
    names = []
    for f in sorted((REPO_ROOT / "crds").glob("*.y*ml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                names.append(doc["metadata"]["name"])
    for name in names:
        established = kubectl(
            cluster,
            "get",
            "crd",
            name,
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Established')].status}",
        )
        assert established == "True", name


@pytest.fixture(scope="module")
def widget_crd(api_client: client.ApiClient) -> str:
    """A tiny namespaced CRD of the harness's own, with a status subresource."""
    ext = client.ApiextensionsV1Api(api_client)
    name = f"{PLURAL}.{GROUP}"
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"size": {"type": "integer", "minimum": 1}},
                "required": ["size"],
            },
            "status": {
                "type": "object",
                "properties": {
                    "phase": {"type": "string"},
                    "observedGeneration": {"type": "integer"},
                },
            },
        },
    }
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": {"status": {}},
                }
            ],
        },
    }
    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as e:
        if e.status != 409:  # a reused cluster has it already
            raise

    def established() -> bool:
        got = ext.read_custom_resource_definition(name)
        conds = (got.status and got.status.conditions) or []
        return any(c.type == "Established" and c.status == "True" for c in conds)

    wait_for(f"CRD {name} Established", established, timeout=30)
    return name


def test_status_subresource_survives_a_read_back(
    widget_crd: str, api_client: client.ApiClient, namespace: str
) -> None:
    api = client.CustomObjectsApi(api_client)
    args = (GROUP, "v1", namespace, PLURAL)
    body = {"apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "w"}}
    body["spec"] = {"size": 3}
    # Status sent with the main resource is dropped: only the status subresource writes it.
    created = wait_for(
        "the new CRD to serve",
        lambda: _create_when_served(api, args, {**body, "status": {"phase": "Sneaky"}}),
        timeout=30,
    )
    assert "status" not in created or created["status"].get("phase") != "Sneaky"

    patch = {"status": {"phase": "Ready", "observedGeneration": created["metadata"]["generation"]}}
    api.patch_namespaced_custom_object_status(*args, "w", patch)
    # ...and a spec change through the status subresource is ignored.
    api.patch_namespaced_custom_object_status(*args, "w", {"spec": {"size": 99}})

    again = api.get_namespaced_custom_object(*args, "w")
    assert again["status"] == {"phase": "Ready", "observedGeneration": 1}
    assert again["spec"] == {"size": 3}
    assert again["metadata"]["generation"] == 1  # status writes do not bump generation

    # The schema is enforced at apply time.
    with pytest.raises(ApiException) as bad:
        api.create_namespaced_custom_object(
            *args, {**body, "metadata": {"name": "bad"}, "spec": {"size": 0}}
        )
    assert bad.value.status == 422


def _create_when_served(
    api: client.CustomObjectsApi, args: tuple[str, str, str, str], body: dict[str, object]
) -> dict[str, object] | None:
    try:
        created: dict[str, object] = api.create_namespaced_custom_object(*args, body)
        return created
    except ApiException as e:
        if e.status == 404:  # discovery of a brand-new CRD can lag Established briefly
            return None
        raise
