"""deploy/ is consistent with itself and with the code (issue 17 item 3).

Offline checks of every manifest under deploy/: each object's kind is one the cluster will know
(a built-in or a kind of the pinned CRDs), the Deployment's arguments are flags ``kic-trio run``
accepts (through the real parser and validation), the ServiceAccount the Pod runs as is the one
RBAC binds, the names the flags refer to exist, images are pinned, and the CRD versions the
install takes are those the test control plane installs. That the objects are also valid to a
real API server is tests/integration/test_deploy_apply.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import kic_trio
from kic_trio.config import Config, config_fields, config_from_args, env_of
from kic_trio.testing.controlplane import (
    GATEWAY_API_VERSION,
    KONG_CONFIGURATION_VERSION,
    assets_dir,
    assets_present,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KIC_GATEWAY_CONTROLLER = "konghq.com/kic-gateway-controller"
KONG_INGRESS_CONTROLLER = "ingress-controllers.konghq.com/kong"

#: Built-in kinds a manifest here may use: (apiVersion, kind).
BUILTIN = {
    ("v1", "Namespace"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("apps/v1", "Deployment"),
    ("networking.k8s.io/v1", "IngressClass"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ("policy/v1", "PodDisruptionBudget"),
}


def _manifest_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*.yaml") if p.name != "kustomization.yaml")


def _objects() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in _manifest_files():
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                yield path, doc


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        doc
        for _, doc in _objects()
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''} in deploy/, found {len(found)}"
    return found[0]


def _crd_kinds() -> set[tuple[str, str]]:
    """(group/version, kind) of every served version of the pinned CRDs."""
    assert assets_present(), (
        "the pinned CRDs are not in the cache: run `python -m kic_trio.testing.controlplane "
        "assets` (needs the Go toolchain and the Go module proxy)"
    )
    out: set[tuple[str, str]] = set()
    for path in (assets_dir() / "crds").rglob("*.yaml"):
        for crd in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    out.add((f"{spec['group']}/{version['name']}", spec["names"]["kind"]))
    return out


def _deployment() -> dict[str, Any]:
    return _one("Deployment")


def _containers() -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in _deployment()["spec"]["template"]["spec"]["containers"]}


def _controller_container() -> dict[str, Any]:
    found = [c for c in _containers().values() if c["image"].split(":")[0].endswith("kic-trio")]
    assert len(found) == 1, "the Deployment runs exactly one kic-trio container"
    return found[0]


def _literal_env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in container.get("env", ()) if "value" in e}


def _controller_config() -> Config:
    container = _controller_container()
    args = [str(a) for a in container["args"]]
    assert args[0] == "run", "the image's entrypoint is kic-trio: the first argument is run"
    environ = _literal_env(container)
    # fieldRef variables get the value the kubelet would give them
    meta = _deployment()["metadata"]
    downward = {"metadata.namespace": meta["namespace"], "metadata.name": f"{meta['name']}-x2x4z"}
    for e in container.get("env", ()):
        if "valueFrom" in e:
            environ[e["name"]] = downward[e["valueFrom"]["fieldRef"]["fieldPath"]]
    return config_from_args(args[1:], environ=environ).validate()


# ---------------------------------------------------------------------------------------------


def test_every_manifest_parses_and_names_a_known_kind() -> None:
    known = BUILTIN | _crd_kinds()
    seen = 0
    for path, doc in _objects():
        seen += 1
        key = (doc.get("apiVersion"), doc.get("kind"))
        assert key in known, f"{path.name}: {key} is neither built in nor a pinned CRD's kind"
        assert doc.get("metadata", {}).get("name"), f"{path.name}: a {key[1]} without a name"
    assert seen >= 10


def test_every_object_is_in_an_existing_namespace_or_cluster_scoped() -> None:
    namespaces = {doc["metadata"]["name"] for _, doc in _objects() if doc["kind"] == "Namespace"}
    cluster_scoped = {
        "Namespace",
        "IngressClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "GatewayClass",
        "ValidatingWebhookConfiguration",
    }
    for path, doc in _objects():
        ns = doc["metadata"].get("namespace")
        if doc["kind"] in cluster_scoped:
            assert ns is None, f"{path.name}: {doc['kind']} is cluster-scoped"
        else:
            assert ns in namespaces, f"{path.name}: {doc['kind']} in namespace {ns!r}"


def test_deployment_args_are_flags_kic_trio_accepts() -> None:
    cfg = _controller_config()
    assert cfg.ingress_class == "kong"
    env_names = {env_of(f.name) for f in config_fields()}
    for name in _literal_env(_controller_container()):
        if name.startswith("CONTROLLER_"):
            assert name in env_names, f"{name} is not a kic-trio setting"


def test_the_check_refuses_an_unknown_flag() -> None:
    # The parser the test relies on does refuse a flag kic-trio does not have.
    with pytest.raises(kic_trio.ConfigError, match="--no-such-flag"):
        config_from_args(["--no-such-flag=1"], environ={})


def test_controller_talks_to_kong_on_loopback_of_its_own_pod() -> None:
    kong = _containers()["proxy"]
    env = _literal_env(kong)
    assert env["KONG_DATABASE"] == "off"
    assert kong["image"].startswith("kong:"), "Kong's official image"
    listen = [part.split()[0] for part in env["KONG_ADMIN_LISTEN"].split(",")]
    for addr in listen:
        assert addr.rpartition(":")[0] == "127.0.0.1", "the Admin API only on loopback"
    urls = _controller_config().kong_admin_url
    assert urls, "static admin URLs in the sidecar layout"
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1"
        assert f"127.0.0.1:{parts.port}" in listen, f"{url} is not where Kong's Admin API listens"
    for port in kong.get("ports", ()):
        assert port["containerPort"] not in {urlsplit(u).port for u in urls}, "admin port exposed"


def test_the_pod_runs_as_the_service_account_rbac_binds() -> None:
    deployment = _deployment()
    namespace = deployment["metadata"]["namespace"]
    account = deployment["spec"]["template"]["spec"]["serviceAccountName"]
    sa = _one("ServiceAccount", account)
    assert sa["metadata"]["namespace"] == namespace
    subject = {"kind": "ServiceAccount", "name": account, "namespace": namespace}
    for binding_kind in ("ClusterRoleBinding", "RoleBinding"):
        bindings = [doc for _, doc in _objects() if doc["kind"] == binding_kind]
        assert bindings, binding_kind
        for binding in bindings:
            assert subject in binding["subjects"], f"{binding_kind} does not bind {account}"
            role_kind = binding["roleRef"]["kind"]
            role = _one(role_kind, binding["roleRef"]["name"])
            if role_kind == "Role":
                # leader election: the Lease lives in the Pod's namespace
                assert role["metadata"]["namespace"] == namespace
                assert binding["metadata"]["namespace"] == namespace


def test_names_the_flags_refer_to_exist() -> None:
    cfg = _controller_config()
    assert cfg.publish_service, "Ingress status needs the proxy Service"
    ns, _, name = cfg.publish_service.partition("/")
    service = _one("Service", name)
    assert service["metadata"]["namespace"] == ns
    selector = service["spec"]["selector"]
    labels = _deployment()["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items(), "the proxy Service selects the Kong Pods"
    proxy_ports = {p["name"] for p in _containers()["proxy"]["ports"]}
    for port in service["spec"]["ports"]:
        target = port["targetPort"]
        numbers = {p["containerPort"] for p in _containers()["proxy"]["ports"]}
        assert target in numbers or target in proxy_ports, port
    ingress_class = _one("IngressClass", cfg.ingress_class)
    assert ingress_class["spec"]["controller"] == KONG_INGRESS_CONTROLLER


def test_probes_use_the_ports_kic_trio_binds() -> None:
    cfg = _controller_config()
    container = _controller_container()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probe_port = int(cfg.health_probe_bind_address.rpartition(":")[2])
    for probe in ("livenessProbe", "readinessProbe"):
        port = container[probe]["httpGet"]["port"]
        assert ports.get(port, port) == probe_port, probe
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert int(cfg.metrics_bind_address.rpartition(":")[2]) in ports.values()


def test_images_are_pinned() -> None:
    for container in _containers().values():
        image = container["image"]
        name, sep, tag = image.rpartition(":")
        assert sep and name and "/" not in tag, f"{image}: no tag"
        assert tag != "latest", f"{image}: pin a version"
        assert re.fullmatch(r"\d+\.\d+\.\d+", tag) or "@sha256:" in image, f"{image}: not pinned"
    assert _controller_container()["image"].endswith(f":{kic_trio.__version__}")
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("FROM "):
            base = line.split()[1]
            assert ":" in base and not base.endswith(":latest"), line


def test_gatewayclass_example_names_kongs_controller() -> None:
    gateway_class = _one("GatewayClass")
    assert gateway_class["spec"]["controllerName"] == KIC_GATEWAY_CONTROLLER
    for _, doc in _objects():
        if doc["kind"] == "Gateway":
            assert doc["spec"]["gatewayClassName"] == gateway_class["metadata"]["name"]


def test_crds_are_installed_by_the_pinned_versions() -> None:
    kustomization = yaml.safe_load((DEPLOY / "crds" / "kustomization.yaml").read_text())
    resources: list[str] = kustomization["resources"]
    kong = [r for r in resources if "kong/kubernetes-configuration" in r]
    gateway = [r for r in resources if "kubernetes-sigs/gateway-api" in r]
    assert {r.split("/config/crd/")[1] for r in kong} == {
        f"ingress-controller?ref={KONG_CONFIGURATION_VERSION}",
        f"ingress-controller-incubator?ref={KONG_CONFIGURATION_VERSION}",
    }
    assert gateway == [
        "https://github.com/kubernetes-sigs/gateway-api/releases/download/"
        f"{GATEWAY_API_VERSION}/experimental-install.yaml"
    ]
    assert len(resources) == len(kong) + len(gateway)


def test_kustomization_lists_existing_files() -> None:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    resources: list[str] = kustomization["resources"]
    for resource in resources:
        assert (DEPLOY / resource).is_file(), resource
    assert {"rbac.yaml", "deployment.yaml"} <= set(resources)
    # the CRDs and the Gateway API example are applied on their own, before/after it
    assert "gatewayclass.yaml" not in resources


def test_rbac_lets_the_deployed_controller_list_and_watch_every_kind_it_watches() -> None:
    from kic_trio.k8s import enabled_kinds
    from kic_trio.models import KINDS

    granted: dict[tuple[str, str], set[str]] = {}
    for _, doc in _objects():
        if doc["kind"] == "ClusterRole":
            for rule in doc["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        granted.setdefault((group, resource), set()).update(rule["verbs"])
    kinds = enabled_kinds(_controller_config())
    assert "Ingress" in kinds
    for kind in kinds:
        info = KINDS[kind]
        verbs = granted.get((info.group, info.plural), set())
        assert {"list", "watch"} <= verbs, f"{kind}: the ClusterRole does not let it be watched"
