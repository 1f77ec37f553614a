"""deploy/rbac.yaml grants exactly the verbs the code uses (issue 13), no more.

``USED`` says, per resource, which verbs the controller's requests need and where they are
made; the test checks each site still exists in the source (so the table cannot drift from
the code silently) and that the RBAC grants exactly the table. That the grants are enough
is shown live by tests/integration/test_operability.py (the whole controller as this identity)
and tests/integration/test_watch.py (every kind lists and watches).
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "src" / "kic_trio" / "k8s"

#: (apiGroup, resource) -> {verb: (file under src/kic_trio/k8s, text that makes the request)}
USED: dict[tuple[str, str], dict[str, tuple[str, str]]] = {
    ("", "services"): {
        "get": ("_status.py", '"GET", _service_path(ns, name)'),
        "list": ("_reflector.py", "collection_path"),
        "watch": ("_reflector.py", '"watch"'),
    },
    ("", "secrets"): {
        "get": ("_watchers.py", '"GET", f"/api/v1/namespaces/{namespace_segment(ns)}/secrets/'),
        "list": ("_reflector.py", "collection_path"),
        "watch": ("_reflector.py", '"watch"'),
    },
    ("networking.k8s.io", "ingresses"): {
        "get": ("_status.py", 'self.kube.request("GET", path)'),
        "list": ("_reflector.py", "collection_path"),
        "watch": ("_reflector.py", '"watch"'),
    },
    ("networking.k8s.io", "ingresses/status"): {
        "patch": ("_status.py", 'path = _ingress_path(ref) + "/status"'),
    },
    **{
        (group, f"{plural}/status"): {"patch": ("_conditions.py", '"PATCH",')}
        for group, plural in (
            ("configuration.konghq.com", "kongcustomentities"),
            ("configuration.konghq.com", "kongvaults"),
            ("incubator.ingress-controller.konghq.com", "kongservicefacades"),
        )
    },
    ("", "events"): {
        "create": (
            "_events.py",
            '"POST", f"/api/v1/namespaces/{namespace_segment(namespace)}/events"',
        ),
        "patch": ("_events.py", '"PATCH",'),
    },
    ("coordination.k8s.io", "leases"): {
        "get": ("_leader.py", 'self.kube.request("GET", self._path)'),
        "create": ("_leader.py", 'self.kube.request("POST", self._collection, json=body)'),
        "update": ("_leader.py", 'self.kube.request("PUT", self._path, json=body)'),
        "list": ("_leader.py", 'stream("GET", self._collection, params=params)'),
        "watch": ("_leader.py", 'stream("GET", self._collection, params=params)'),
    },
}
#: Kinds only listed and watched by the reflector (no get, no writes).
WATCHED_ONLY = [
    ("discovery.k8s.io", "endpointslices"),
    ("networking.k8s.io", "ingressclasses"),
    ("", "namespaces"),
    *(
        ("configuration.konghq.com", r)
        for r in (
            "kongplugins",
            "kongclusterplugins",
            "kongconsumers",
            "kongconsumergroups",
            "kongupstreampolicies",
            "ingressclassparameterses",
            "kongcustomentities",
            "kongvaults",
            "kongingresses",
            "tcpingresses",
            "udpingresses",
        )
    ),
    ("incubator.ingress-controller.konghq.com", "kongservicefacades"),
    ("gateway.networking.k8s.io", "referencegrants"),
]
#: Gateway API kinds whose status k8s/_gwstatus.py writes: read (get), compare, PUT /status.
GW_STATUS_RESOURCES = (
    "gatewayclasses",
    "gateways",
    "httproutes",
    "grpcroutes",
    "tcproutes",
    "udproutes",
    "tlsroutes",
    "backendtlspolicies",
)
for _r in GW_STATUS_RESOURCES:
    USED[("gateway.networking.k8s.io", _r)] = {
        "get": ("_gwstatus.py", 'current = (await self.kube.request("GET", path)).json()'),
        "list": ("_reflector.py", "collection_path"),
        "watch": ("_reflector.py", '"watch"'),
    }
    USED[("gateway.networking.k8s.io", _r + "/status")] = {
        "update": ("_gwstatus.py", 'self.kube.request("PUT", path + "/status", json=body)'),
    }


def _granted() -> dict[tuple[str, str], set[str]]:
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()) if d]
    out: dict[tuple[str, str], set[str]] = {}
    for doc in docs:
        for rule in doc.get("rules") or ():
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def test_every_request_site_in_the_table_exists() -> None:
    for (group, resource), verbs in USED.items():
        for verb, (file, text) in verbs.items():
            assert text in (K8S / file).read_text(), (group, resource, verb, file, text)


def test_rbac_grants_exactly_the_verbs_used() -> None:
    expected = {key: set(verbs) for key, verbs in USED.items()}
    expected.update({key: {"list", "watch"} for key in WATCHED_ONLY})
    assert _granted() == expected


def test_no_wildcards_and_no_delete() -> None:
    for key, verbs in _granted().items():
        assert "*" not in verbs and "*" not in key
        assert not verbs & {"delete", "deletecollection", "escalate", "bind", "impersonate"}, key
