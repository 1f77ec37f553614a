"""Every object in deploy/ is accepted by a real kube-apiserver with the pinned CRDs installed.

Server-side dry run (``dryRun=All``) with strict field validation: the API server runs its
schema checks (built-in kinds and the CRDs' OpenAPI schemas) and admission, so an unknown field,
a typo'd enum or a missing required field fails here, and nothing is persisted. The Deployment
is created (dry run) too; its Pods could not run here anyway (no kubelet, no images).

The manifests' namespace ``kong`` becomes the test's fresh namespace and cluster-scoped names
get the namespace as suffix, so the test shares the control plane with every other test.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import trio
import yaml

from kic_trio.testing.controlplane import ControlPlane

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFEST_NAMESPACE = "kong"


#: Placeholders the deploy files ask the user to fill in (their comments say how), with a
#: well-formed value of the same kind, so the API server judges the rest of the document.
PLACEHOLDERS = {"<base64 of tls.crt>": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="}


def _documents() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        text = path.read_text(encoding="utf-8")
        for placeholder, value in PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        for doc in yaml.safe_load_all(text):
            if doc:
                out.append((path.name, doc))
    return out


async def _resources(client: httpx.AsyncClient, api_version: str) -> dict[str, tuple[str, bool]]:
    """kind -> (plural, namespaced) from the API server's discovery document."""
    path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    r = await client.get(path)
    assert r.status_code == 200, f"{api_version} is not served: {r.text[:200]}"
    return {
        res["kind"]: (res["name"], res["namespaced"])
        for res in r.json()["resources"]
        if "/" not in res["name"]
    }


def _relocate(doc: dict[str, Any], namespace: str, scoped: set[str]) -> dict[str, Any]:
    """Move one manifest into the test's namespace; cluster-scoped names get a suffix."""
    doc = copy.deepcopy(doc)
    meta = doc["metadata"]
    if meta.get("namespace") == MANIFEST_NAMESPACE:
        meta["namespace"] = namespace
    if doc["kind"] in scoped:
        meta["name"] = f"{meta['name']}-{namespace}"
    for subject in doc.get("subjects", ()):
        if subject.get("namespace") == MANIFEST_NAMESPACE:
            subject["namespace"] = namespace
    if doc["kind"] == "ClusterRoleBinding":
        doc["roleRef"]["name"] = f"{doc['roleRef']['name']}-{namespace}"
    if doc["kind"] == "Gateway":
        doc["spec"]["gatewayClassName"] = f"{doc['spec']['gatewayClassName']}-{namespace}"
    return doc


async def test_every_deploy_manifest_is_accepted_by_the_api_server(
    control_plane: ControlPlane, k8s_namespace: str
) -> None:
    documents = _documents()
    assert any(doc["kind"] == "Deployment" for _, doc in documents)
    with trio.fail_after(60):
        async with control_plane.admin_client() as client:
            discovery: dict[str, dict[str, tuple[str, bool]]] = {}
            for _, doc in documents:
                if doc["apiVersion"] not in discovery:
                    discovery[doc["apiVersion"]] = await _resources(client, doc["apiVersion"])
            scoped = {
                kind for kinds in discovery.values() for kind, (_, ns) in kinds.items() if not ns
            }
            refused = []
            for file, original in documents:
                doc = _relocate(original, k8s_namespace, scoped)
                api_version, kind = doc["apiVersion"], doc["kind"]
                assert kind in discovery[api_version], f"{file}: {api_version} has no {kind}"
                plural, namespaced = discovery[api_version][kind]
                base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
                ns = doc["metadata"].get("namespace")
                assert namespaced == (ns is not None), f"{file}: {kind} namespace {ns!r}"
                path = f"{base}/namespaces/{ns}/{plural}" if namespaced else f"{base}/{plural}"
                r = await client.post(
                    path, json=doc, params={"dryRun": "All", "fieldValidation": "Strict"}
                )
                if r.status_code != 201:
                    refused.append(f"{file} {kind}/{original['metadata']['name']}: {r.text}")
    assert refused == []
