"""Hypothesis strategies: small worlds of interrelated (and sometimes malformed) objects.

Names come from tiny pools so that objects actually reference each other (Ingress -> Service ->
EndpointSlice, plugins, consumers, credentials, TLS Secrets); ``garbage`` swaps a random field
for a value of the wrong type.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import strategies as st


def _pair() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t.example.com")])
    start = datetime.datetime(2025, 1, 1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )


PAIRS = [_pair(), _pair()]
NAMESPACES = ["a", "a", "a", "b"]
NAMES = ["x", "x", "y", "z"]
HOSTS = ["", "one.example.com", "two.example.com", "*.example.com"]
ns_s = st.sampled_from(NAMESPACES)
name_s = st.sampled_from(NAMES)
created_s = st.sampled_from(["2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", ""])
classes = st.sampled_from([None, None, "kong", "kong", "other"])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _meta(
    name: str, ns: str | None, created: str, annotations: dict[str, str], labels=None
) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "uid": f"uid-{ns}-{name}", "creationTimestamp": created}
    if ns is not None:
        m["namespace"] = ns
    if annotations:
        m["annotations"] = annotations
    if labels:
        m["labels"] = labels
    return m


route_annotations = st.dictionaries(
    st.sampled_from(
        [
            "konghq.com/strip-path",
            "konghq.com/methods",
            "konghq.com/protocols",
            "konghq.com/regex-priority",
            "konghq.com/host-aliases",
            "konghq.com/plugins",
            "konghq.com/tags",
            "konghq.com/headers.x-a",
            "ingress.kubernetes.io/force-ssl-redirect",
            "konghq.com/https-redirect-status-code",
            "konghq.com/path-handling",
            "konghq.com/snis",
            "konghq.com/rewrite",
        ]
    ),
    st.sampled_from(
        [
            "true",
            "FALSE",
            "GET,post",
            "grpc,http",
            "https",
            "7",
            "x",
            "alias.example.com",
            "p1,p2",
            "v1",
            "301",
            "/r/$1",
            "",
        ]
    ),
    max_size=3,
)
service_annotations = st.dictionaries(
    st.sampled_from(
        [
            "konghq.com/protocol",
            "konghq.com/path",
            "konghq.com/retries",
            "konghq.com/plugins",
            "konghq.com/upstream-policy",
            "ingress.kubernetes.io/service-upstream",
            "konghq.com/client-cert",
            "konghq.com/tls-verify",
            "konghq.com/host-header",
            "konghq.com/override",
        ]
    ),
    st.sampled_from(
        ["https", "grpc", "/base", "3", "p1", "x", "true", "tls-x", "h.example.com", "bad", "ki"]
    ),
    max_size=3,
)


FACADE_GROUP = "incubator.ingress-controller.konghq.com"


@st.composite
def backend(draw: Any) -> dict[str, Any]:
    if draw(st.integers(0, 5)) == 0:  # a KongServiceFacade (or another resource) backend
        kind = draw(st.sampled_from(["KongServiceFacade", "KongServiceFacade", "Other"]))
        return {"resource": {"apiGroup": FACADE_GROUP, "kind": kind, "name": draw(name_s)}}
    port = draw(
        st.sampled_from([{"number": 80}, {"number": 80}, {"name": "http"}, {"number": 81}, {}])
    )
    return {"service": {"name": draw(name_s), "port": port}}


@st.composite
def ingress(draw: Any) -> dict[str, Any]:
    ns, name = draw(ns_s), draw(name_s)
    cls = draw(classes)
    rules = []
    for _ in range(draw(st.integers(0, 2))):
        paths = [
            {
                "path": draw(st.sampled_from(["/", "/a", "//b//", "/~/re/\\d+", "", "/c/"])),
                "pathType": draw(
                    st.sampled_from(["Prefix", "Exact", "ImplementationSpecific", None])
                ),
                "backend": draw(backend()),
            }
            for _ in range(draw(st.integers(0, 2)))
        ]
        rules.append({"host": draw(st.sampled_from(HOSTS)), "http": {"paths": paths}})
    spec: dict[str, Any] = {"rules": rules}
    if cls:
        spec["ingressClassName"] = cls
    if draw(st.booleans()):
        spec["tls"] = [
            {
                "hosts": draw(st.lists(st.sampled_from(HOSTS[1:]), min_size=1, max_size=2)),
                "secretName": draw(name_s),
            }
        ]
    if draw(st.integers(0, 4)) == 0:
        spec["defaultBackend"] = draw(backend())
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(name, ns, draw(created_s), draw(route_annotations)),
        "spec": spec,
    }


@st.composite
def service(draw: Any) -> dict[str, Any]:
    ns, name = draw(ns_s), draw(name_s)
    spec: dict[str, Any] = {
        "ports": draw(
            st.lists(
                st.sampled_from(
                    [
                        {"name": "http", "port": 80, "targetPort": 8080},
                        {"name": "http", "port": 80, "targetPort": 8080},
                        {"name": "other", "port": 81, "targetPort": "http"},
                        {"port": 82},
                    ]
                ),
                min_size=1,
                max_size=2,
                unique_by=lambda p: p["port"],
            )
        )
    }
    if draw(st.integers(0, 5)) == 0:
        spec.update(type="ExternalName", externalName="ext.example.org")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, ns, "", draw(service_annotations)),
        "spec": spec,
    }


@st.composite
def endpoint_slice(draw: Any) -> dict[str, Any]:
    ns = draw(ns_s)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": _meta(
            draw(st.sampled_from(["e1", "e2", "e3"])),
            ns,
            "",
            {},
            {"kubernetes.io/service-name": draw(name_s)},
        ),
        "ports": [
            {
                "name": draw(st.sampled_from(["http", "http", "other", ""])),
                "port": 8080,
                "protocol": "TCP",
            }
        ],
        "endpoints": [
            {
                "addresses": [
                    draw(st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1"]))
                ],
                "conditions": {"ready": draw(st.sampled_from([True, True, False, None]))},
            }
            for _ in range(draw(st.integers(0, 3)))
        ],
    }


@st.composite
def secret(draw: Any) -> dict[str, Any]:
    ns, name = draw(ns_s), draw(name_s)
    kind = draw(
        st.sampled_from(
            ["tls", "tls", "tls", "tls-bad", "key-auth", "basic-auth", "acl", "conf", "ca"]
        )
    )
    labels: dict[str, str] = {}
    if kind == "tls":
        cert, key = draw(st.sampled_from(PAIRS))
        data = {"tls.crt": _b64(cert), "tls.key": _b64(key)}
    elif kind == "tls-bad":
        data = {"tls.crt": _b64(PAIRS[0][0]), "tls.key": _b64(PAIRS[1][1])}
    elif kind == "conf":
        data = {"conf": _b64('{"a": 1}'), "v": _b64("[1]")}
    elif kind == "ca":
        labels["konghq.com/ca-cert"] = "true"
        data = {"id": _b64("ca-" + name), "cert": _b64(PAIRS[0][0])}
    else:
        labels["konghq.com/credential"] = kind
        field = {"key-auth": "key", "basic-auth": "username", "acl": "group"}[kind]
        data = {field: _b64(draw(st.sampled_from(["k1", "k2"])))}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(name, ns, draw(created_s), {}, labels),
        "data": data,
    }


@st.composite
def kong_plugin(draw: Any) -> dict[str, Any]:
    cluster = draw(st.booleans())
    name = draw(st.sampled_from(["p1", "p2"]))
    obj: dict[str, Any] = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongClusterPlugin" if cluster else "KongPlugin",
        "plugin": draw(st.sampled_from(["key-auth", "cors", "rate-limiting"])),
    }
    labels = {"global": "true"} if cluster and draw(st.booleans()) else {}
    ann = {"kubernetes.io/ingress.class": "kong"} if cluster else {}
    obj["metadata"] = _meta(name, None if cluster else draw(ns_s), "", ann, labels)
    choice = draw(st.integers(0, 3))
    if choice == 0:
        obj["config"] = {"minute": 5}
    elif choice == 1:
        ref = {"name": draw(name_s), "key": "conf"}
        if cluster:
            ref["namespace"] = draw(ns_s)
        obj["configFrom"] = {"secretKeyRef": ref}
    elif choice == 2:
        obj["instance_name"] = "inst"
    return obj


@st.composite
def consumer(draw: Any) -> dict[str, Any]:
    ns, name = draw(ns_s), draw(name_s)
    ann = {"kubernetes.io/ingress.class": "kong"}
    if draw(st.booleans()):
        ann["konghq.com/plugins"] = draw(st.sampled_from(["p1", "p2", "p1,p2"]))
    obj = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongConsumer",
        "metadata": _meta(name, ns, "", ann),
        "username": draw(st.sampled_from(["u1", "u2", f"{ns}-{name}", ""])),
        "credentials": draw(st.lists(name_s, max_size=2, unique=True)),
        "consumerGroups": draw(st.lists(st.sampled_from(["g1", "g2"]), max_size=2, unique=True)),
    }
    if not obj["username"]:
        obj["custom_id"] = draw(st.sampled_from(["", "cid"]))
    return obj


@st.composite
def consumer_group(draw: Any) -> dict[str, Any]:
    ann = {"kubernetes.io/ingress.class": "kong"}
    if draw(st.booleans()):
        ann["konghq.com/plugins"] = "p1"
    return {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongConsumerGroup",
        "metadata": _meta(draw(st.sampled_from(["g1", "g2"])), draw(ns_s), "", ann),
    }


@st.composite
def service_facade(draw: Any) -> dict[str, Any]:
    ann: dict[str, str] = draw(service_annotations)
    cls = draw(classes)
    if cls:
        ann["kubernetes.io/ingress.class"] = cls
    ref: dict[str, Any] = {"name": draw(name_s), "port": draw(st.sampled_from([80, 80, 81, 0]))}
    if draw(st.integers(0, 5)) == 0:
        del ref[draw(st.sampled_from(["name", "port"]))]
    return {
        "apiVersion": f"{FACADE_GROUP}/v1alpha1",
        "kind": "KongServiceFacade",
        "metadata": _meta(draw(name_s), draw(ns_s), draw(created_s), ann),
        "spec": {"backendRef": ref},
    }


@st.composite
def kong_ingress(draw: Any) -> dict[str, Any]:
    upstream = draw(
        st.dictionaries(
            st.sampled_from(["algorithm", "slots", "hash_on", "hash_on_header", "host_header"]),
            st.sampled_from(["round-robin", "header", "x-user", 20, 5, "h.example.com", "bad"]),
            max_size=3,
        )
    )
    obj: dict[str, Any] = {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongIngress",
        "metadata": _meta(draw(st.sampled_from(["ki", "x"])), draw(ns_s), "", {}),
        "upstream": upstream,
    }
    if draw(st.booleans()):
        obj["proxy"] = {"connect_timeout": 5}
    return obj


@st.composite
def stream_ingress(draw: Any) -> dict[str, Any]:
    """A TCPIngress or UDPIngress; its backends share Services (and Kong service names) with
    the Ingresses above, so the TCPIngress takeover of an Ingress's Kong service is drawn."""
    kind = draw(st.sampled_from(["TCPIngress", "UDPIngress"]))
    ann: dict[str, str] = {}
    cls = draw(classes)
    if cls:
        ann["kubernetes.io/ingress.class"] = cls
    if draw(st.booleans()):
        ann["konghq.com/plugins"] = draw(st.sampled_from(["p1", "p1,p2", "other:p1"]))
    rules = []
    for _ in range(draw(st.integers(0, 2))):
        rule: dict[str, Any] = {
            "port": draw(st.sampled_from([9000, 9001, 0, 70000])),
            "backend": {
                "serviceName": draw(name_s),
                "servicePort": draw(st.sampled_from([80, 80, 81, 0])),
            },
        }
        if kind == "TCPIngress" and draw(st.booleans()):
            rule["host"] = draw(st.sampled_from([*HOSTS[1:], "bad host"]))
        rules.append(rule)
    spec: dict[str, Any] = {"rules": rules}
    if kind == "TCPIngress" and draw(st.booleans()):
        # claims the same hosts and Secrets as the Ingresses' TLS sections
        spec["tls"] = [
            {
                "hosts": draw(st.lists(st.sampled_from(HOSTS[1:]), min_size=1, max_size=2)),
                "secretName": draw(name_s),
            }
        ]
    return {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": kind,
        "metadata": _meta(draw(name_s), draw(ns_s), draw(created_s), ann),
        "spec": spec,
    }


upstream_policy = st.builds(
    lambda ns, alg: {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongUpstreamPolicy",
        "metadata": {"name": "p1", "namespace": ns},
        "spec": {"algorithm": alg, "hashOn": {"header": "x"}},
    },
    ns_s,
    st.sampled_from(["round-robin", "consistent-hashing", "bogus"]),
)

ingress_class = st.builds(
    lambda default: {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": "kong",
            "annotations": {
                "ingressclass.kubernetes.io/is-default-class": "true" if default else "false"
            },
        },
        "spec": {"controller": "konghq.com/kic"},
    },
    st.booleans(),
)

#: The IngressClassParameters an IngressClass below may point at (class-wide context).
icp = st.builds(
    lambda ns, legacy, upstream: {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "IngressClassParameters",
        "metadata": {"name": "params", "namespace": ns},
        "spec": {"enableLegacyRegexDetection": legacy, "serviceUpstream": upstream},
    },
    ns_s,
    st.booleans(),
    st.booleans(),
)

ingress_class_with_params = st.builds(
    lambda ns: {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": "kong",
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
        },
        "spec": {
            "controller": "konghq.com/kic",
            "parameters": {
                "apiGroup": "configuration.konghq.com",
                "kind": "IngressClassParameters",
                "name": "params",
                "namespace": ns,
                "scope": "Namespace",
            },
        },
    },
    ns_s,
)


@st.composite
def custom_entity(draw: Any) -> dict[str, Any]:
    """A KongCustomEntity, often attached to the plugins above (p1/p2), sometimes not ours."""
    spec: dict[str, Any] = {
        "controllerName": draw(st.sampled_from(["kong", "kong", "other"])),
        "type": draw(st.sampled_from(["degraphql_routes", "degraphql_routes", "other_things"])),
        "fields": {"uri": "/q", "query": draw(st.sampled_from(["query{a}", "query{b}"]))},
    }
    parent = draw(st.sampled_from([None, "KongPlugin", "KongPlugin", "KongClusterPlugin"]))
    if parent is not None:
        ref = {
            "group": "configuration.konghq.com",
            "kind": parent,
            "name": draw(st.sampled_from(["p1", "p2"])),
        }
        if draw(st.integers(0, 4)) == 0:
            ref["namespace"] = draw(ns_s)
        spec["parentRef"] = ref
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongCustomEntity",
        "metadata": _meta(draw(name_s), draw(ns_s), draw(created_s), {}),
        "spec": spec,
    }


@st.composite
def vault(draw: Any) -> dict[str, Any]:
    """A KongVault: prefixes from a tiny pool, so duplicates (oldest wins) are drawn."""
    ann = {"kubernetes.io/ingress.class": c} if (c := draw(classes)) else {}
    spec: dict[str, Any] = {
        "backend": draw(st.sampled_from(["env", "aws", ""])),
        "prefix": draw(st.sampled_from(["env-a", "env-b"])),
        "config": {"prefix": "SECRET_"},
    }
    if draw(st.booleans()):
        spec["description"] = "d"
    return {
        "apiVersion": "configuration.konghq.com/v1alpha1",
        "kind": "KongVault",
        "metadata": _meta(draw(name_s), None, draw(created_s), ann),
        "spec": spec,
    }


# --- Gateway API: small pools, so routes attach to the Gateways and grants drawn here ---------

GW_API = "gateway.networking.k8s.io"
GW_CONTROLLER = "konghq.com/kic-gateway-controller"
gw_name_s = st.sampled_from(["gw", "gw", "gw2"])
gw_hosts = st.sampled_from(["one.example.com", "*.example.com", "two.example.com", "BAD_host"])

gateway_class = st.builds(
    lambda name, controller, unmanaged, accepted: {
        "apiVersion": f"{GW_API}/v1",
        "kind": "GatewayClass",
        "metadata": {
            "name": name,
            "generation": 1,
            **({"annotations": {"konghq.com/gatewayclass-unmanaged": "true"}} if unmanaged else {}),
        },
        "spec": {"controllerName": controller},
        **(
            {
                "status": {
                    "conditions": [
                        {
                            "type": "Accepted",
                            "status": "True",
                            "reason": "Accepted",
                            "observedGeneration": 1,
                        }
                    ]
                }
            }
            if accepted
            else {}
        ),
    },
    st.sampled_from(["kong", "kong", "other"]),
    st.sampled_from([GW_CONTROLLER, GW_CONTROLLER, "example.com/other"]),
    st.booleans(),
    st.booleans(),
)


@st.composite
def gw_listener(draw: Any, i: int) -> dict[str, Any]:
    protocol = draw(st.sampled_from(["HTTP", "HTTP", "HTTPS", "TLS", "TCP", "UDP", "SCTP"]))
    lst: dict[str, Any] = {
        "name": f"l{i}",
        "port": draw(st.sampled_from([80, 443, 8000, 9000, 0])),
        "protocol": protocol,
    }
    if draw(st.booleans()):
        lst["hostname"] = draw(gw_hosts)
    if protocol in ("HTTPS", "TLS") or draw(st.integers(0, 5)) == 0:
        tls: dict[str, Any] = {"mode": draw(st.sampled_from(["Terminate", "Passthrough"]))}
        ref: dict[str, Any] = {"name": draw(name_s)}
        if draw(st.integers(0, 3)) == 0:
            ref["namespace"] = draw(ns_s)
        if draw(st.integers(0, 5)) == 0:
            ref["kind"] = "ConfigMap"
        tls["certificateRefs"] = [ref]
        lst["tls"] = tls
    if draw(st.booleans()):
        ar: dict[str, Any] = {
            "namespaces": {"from": draw(st.sampled_from(["Same", "All", "Selector", "Bogus"]))}
        }
        if ar["namespaces"]["from"] == "Selector":
            ar["namespaces"]["selector"] = {"matchLabels": {"team": "a"}}
        if draw(st.booleans()):
            ar["kinds"] = [{"kind": draw(st.sampled_from(["HTTPRoute", "GRPCRoute", "TCPRoute"]))}]
        lst["allowedRoutes"] = ar
    return lst


@st.composite
def gateway(draw: Any) -> dict[str, Any]:
    listeners = [draw(gw_listener(i)) for i in range(draw(st.integers(0, 3)))]
    obj: dict[str, Any] = {
        "apiVersion": f"{GW_API}/v1",
        "kind": "Gateway",
        "metadata": {**_meta(draw(gw_name_s), draw(ns_s), draw(created_s), {}), "generation": 1},
        "spec": {"gatewayClassName": draw(st.sampled_from(["kong", "kong", "other", "missing"]))},
    }
    obj["spec"]["listeners"] = listeners
    if draw(st.booleans()):
        obj["status"] = {
            "conditions": [
                {
                    "type": "Accepted",
                    "status": "True",
                    "reason": "Accepted",
                    "observedGeneration": 1,
                }
            ],
            "listeners": [
                {
                    "name": lst["name"],
                    "attachedRoutes": 0,
                    "supportedKinds": [{"group": GW_API, "kind": "HTTPRoute"}],
                    "conditions": [
                        {
                            "type": "Programmed",
                            "status": "True",
                            "reason": "Programmed",
                            "observedGeneration": 1,
                        }
                    ],
                }
                for lst in listeners
            ],
        }
    return obj


@st.composite
def gw_parent_refs(draw: Any) -> list[dict[str, Any]]:
    refs = []
    for _ in range(draw(st.integers(0, 2))):
        ref: dict[str, Any] = {"name": draw(gw_name_s)}
        if draw(st.integers(0, 3)) == 0:
            ref["namespace"] = draw(ns_s)
        if draw(st.integers(0, 3)) == 0:
            ref["sectionName"] = draw(st.sampled_from(["l0", "l1", "nope"]))
        if draw(st.integers(0, 4)) == 0:
            ref["port"] = draw(st.sampled_from([80, 443, 0]))
        if draw(st.integers(0, 6)) == 0:
            ref["kind"] = "Service"
        refs.append(ref)
    return refs


@st.composite
def gw_backend_refs(draw: Any) -> list[dict[str, Any]]:
    refs = []
    for _ in range(draw(st.integers(0, 2))):
        ref: dict[str, Any] = {
            "name": draw(name_s),
            "port": draw(st.sampled_from([80, 80, 81, 0])),
        }
        if draw(st.integers(0, 4)) != 0:
            ref["kind"] = "Service"
        if draw(st.integers(0, 3)) == 0:
            ref["namespace"] = draw(ns_s)
        if draw(st.booleans()):
            ref["weight"] = draw(st.sampled_from([0, 1, 50, 100]))
        refs.append(ref)
    return refs


@st.composite
def gw_filters(draw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 2))):
        t = draw(
            st.sampled_from(
                [
                    "RequestHeaderModifier",
                    "ResponseHeaderModifier",
                    "RequestRedirect",
                    "URLRewrite",
                    "ExtensionRef",
                    "RequestMirror",
                ]
            )
        )
        f: dict[str, Any] = {"type": t}
        if t.endswith("HeaderModifier"):
            f[t[0].lower() + t[1:]] = {
                "set": [{"name": "x-a", "value": "1"}],
                "remove": draw(st.sampled_from([[], ["x-b"], ["bad header"]])),
            }
        elif t == "RequestRedirect":
            f["requestRedirect"] = {
                "scheme": "https",
                "statusCode": draw(st.sampled_from([301, 302, 418])),
            }
        elif t == "URLRewrite":
            f["urlRewrite"] = {
                "path": draw(
                    st.sampled_from(
                        [
                            {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"},
                            {"type": "ReplaceFullPath", "replaceFullPath": "/full"},
                        ]
                    )
                )
            }
        elif t == "ExtensionRef":
            f["extensionRef"] = {
                "group": "configuration.konghq.com",
                "kind": "KongPlugin",
                "name": draw(st.sampled_from(["p1", "p2"])),
            }
        out.append(f)
    return out


@st.composite
def http_route(draw: Any) -> dict[str, Any]:
    rules = []
    for _ in range(draw(st.integers(0, 3))):
        rule: dict[str, Any] = {"backendRefs": draw(gw_backend_refs())}
        matches = []
        for _ in range(draw(st.integers(0, 2))):
            m: dict[str, Any] = {
                "path": {
                    "type": draw(st.sampled_from(["PathPrefix", "Exact", "RegularExpression"])),
                    "value": draw(st.sampled_from(["/", "/a", "/b/", "/a//b", "^/r[0-9]+"])),
                }
            }
            if draw(st.integers(0, 3)) == 0:
                m["headers"] = [{"name": "x-h", "value": "v"}]
            if draw(st.integers(0, 4)) == 0:
                m["method"] = draw(st.sampled_from(["GET", "FETCH"]))
            if draw(st.integers(0, 5)) == 0:
                m["queryParams"] = [{"name": "q", "value": "1"}]
            matches.append(m)
        if matches:
            rule["matches"] = matches
        if draw(st.integers(0, 2)) == 0:
            rule["filters"] = draw(gw_filters())
        if draw(st.integers(0, 4)) == 0:
            rule["name"] = draw(st.sampled_from(["r1", "r2"]))
        if draw(st.integers(0, 5)) == 0:
            rule["timeouts"] = {"backendRequest": draw(st.sampled_from(["10s", "1m", "soon"]))}
        rules.append(rule)
    spec: dict[str, Any] = {"parentRefs": draw(gw_parent_refs()), "rules": rules}
    if draw(st.booleans()):
        spec["hostnames"] = draw(st.lists(gw_hosts, min_size=1, max_size=2))
    ann = draw(route_annotations)
    return {
        "apiVersion": f"{GW_API}/v1",
        "kind": "HTTPRoute",
        "metadata": {**_meta(draw(name_s), draw(ns_s), draw(created_s), ann), "generation": 1},
        "spec": spec,
    }


@st.composite
def grpc_route(draw: Any) -> dict[str, Any]:
    rules = []
    for _ in range(draw(st.integers(0, 2))):
        rule: dict[str, Any] = {"backendRefs": draw(gw_backend_refs())}
        if draw(st.booleans()):
            rule["matches"] = [
                {
                    "method": {
                        "service": draw(st.sampled_from(["pkg.Svc", "", "bad/svc"])),
                        "method": draw(st.sampled_from(["Get", ""])),
                        "type": draw(st.sampled_from(["Exact", "RegularExpression"])),
                    }
                }
            ]
        rules.append(rule)
    spec: dict[str, Any] = {"parentRefs": draw(gw_parent_refs()), "rules": rules}
    if draw(st.booleans()):
        spec["hostnames"] = draw(st.lists(gw_hosts, min_size=1, max_size=2))
    return {
        "apiVersion": f"{GW_API}/v1",
        "kind": "GRPCRoute",
        "metadata": {**_meta(draw(name_s), draw(ns_s), draw(created_s), {}), "generation": 1},
        "spec": spec,
    }


@st.composite
def l4_route(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["TCPRoute", "UDPRoute", "TLSRoute"]))
    rules = [{"backendRefs": draw(gw_backend_refs())} for _ in range(draw(st.integers(0, 2)))]
    spec: dict[str, Any] = {"parentRefs": draw(gw_parent_refs()), "rules": rules}
    if kind == "TLSRoute" and draw(st.integers(0, 3)) != 0:
        spec["hostnames"] = draw(st.lists(gw_hosts, min_size=1, max_size=2))
    return {
        "apiVersion": f"{GW_API}/v1alpha2",
        "kind": kind,
        "metadata": {**_meta(draw(name_s), draw(ns_s), draw(created_s), {}), "generation": 1},
        "spec": spec,
    }


namespace_obj = st.builds(
    lambda name, team: {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, **({"labels": {"team": team}} if team else {})},
    },
    ns_s,
    st.sampled_from([None, "a", "b"]),
)

reference_grant = st.builds(
    lambda ns, from_ns, from_kind, to_kind, to_name: {
        "apiVersion": f"{GW_API}/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "grant", "namespace": ns},
        "spec": {
            "from": [{"group": GW_API, "kind": from_kind, "namespace": from_ns}],
            "to": [{"group": "", "kind": to_kind, **({"name": to_name} if to_name else {})}],
        },
    },
    ns_s,
    ns_s,
    st.sampled_from(["HTTPRoute", "Gateway", "GRPCRoute", "TCPRoute"]),
    st.sampled_from(["Service", "Secret"]),
    st.sampled_from([None, "x", "y"]),
)

backend_tls_policy = st.builds(
    lambda ns, target, ca, sans: {
        "apiVersion": f"{GW_API}/v1",
        "kind": "BackendTLSPolicy",
        "metadata": {"name": "btp", "namespace": ns, "generation": 1},
        "spec": {
            "targetRefs": [{"group": "", "kind": "Service", "name": target}],
            "validation": {
                "hostname": "backend.example.com",
                "caCertificateRefs": [{"group": "", "kind": ca, "name": "x"}],
                **({"subjectAltNames": [{"type": "Hostname", "hostname": "a"}]} if sans else {}),
            },
        },
    },
    ns_s,
    name_s,
    st.sampled_from(["ConfigMap", "Secret"]),
    st.booleans(),
)


any_object = st.one_of(
    ingress(),
    ingress(),
    service(),
    service(),
    endpoint_slice(),
    endpoint_slice(),
    secret(),
    secret(),
    kong_plugin(),
    consumer(),
    consumer_group(),
    upstream_policy,
    service_facade(),
    kong_ingress(),
    stream_ingress(),
    ingress_class,
    icp,
    ingress_class_with_params,
    custom_entity(),
    vault(),
    gateway_class,
    gateway(),
    http_route(),
    http_route(),
    grpc_route(),
    l4_route(),
    reference_grant,
    backend_tls_policy,
    namespace_obj,
)

junk = st.one_of(
    st.integers(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.none(),
    st.booleans(),
)


@st.composite
def maybe_garbled(draw: Any, strategy: Any = any_object) -> dict[str, Any]:
    """An object, sometimes with one field (at any depth) replaced by junk."""
    obj = draw(strategy)
    if draw(st.integers(0, 3)) == 0:
        node: Any = obj
        for _ in range(draw(st.integers(1, 4))):
            if isinstance(node, dict) and node:
                key = draw(st.sampled_from(sorted(node)))
                if key in ("kind", "apiVersion"):
                    break
                if not isinstance(node[key], dict | list) or draw(st.booleans()):
                    node[key] = draw(junk)
                    break
                node = node[key]
            elif isinstance(node, list) and node:
                i = draw(st.integers(0, len(node) - 1))
                if not isinstance(node[i], dict | list) or draw(st.booleans()):
                    node[i] = draw(junk)
                    break
                node = node[i]
            else:
                break
    return obj


def key_of(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    ns = (
        meta.get("namespace")
        if obj["kind"]
        not in ("KongClusterPlugin", "IngressClass", "KongVault", "GatewayClass", "Namespace")
        else ""
    )
    return (
        obj["kind"],
        ns if isinstance(ns, str) else "",
        meta.get("name") if isinstance(meta.get("name"), str) else "",
    )


def unique_objects(min_size: int = 0, max_size: int = 25, garbled: bool = True) -> Any:
    return st.lists(
        maybe_garbled() if garbled else any_object,
        min_size=min_size,
        max_size=max_size,
        unique_by=key_of,
    )


# --- coherent worlds: interlinked sets, then targeted mutations -------------------------------


def world_set(i: int, draw: Any) -> list[dict[str, Any]]:
    """One set of linked objects with random options (shared hosts/keys make conflicts)."""
    ns = "a" if i % 3 else "b"
    host = draw(st.sampled_from([f"h{i}.example.com", "shared.example.com", "*.example.com"]))
    ing_ann: dict[str, str] = {}
    if draw(st.booleans()):
        ing_ann["konghq.com/plugins"] = draw(
            st.sampled_from([f"p{i}", "pshared", f"p{i},pshared", "missing"])
        )
    if draw(st.integers(0, 3)) == 0:
        ing_ann["konghq.com/strip-path"] = "true"
    port = draw(st.sampled_from([{"number": 80}, {"name": "http"}]))
    spec: dict[str, Any] = {
        "ingressClassName": "kong",
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": f"/p{i}",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": f"s{i % 4}", "port": port}},
                        }
                    ]
                },
            }
        ],
    }
    if draw(st.booleans()):
        spec["tls"] = [{"hosts": [host], "secretName": draw(st.sampled_from([f"tls{i}", "tls0"]))}]
    if draw(st.integers(0, 4)) == 0:
        spec["defaultBackend"] = {"service": {"name": f"s{i % 4}", "port": {"number": 80}}}
    created = draw(st.sampled_from(["2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"]))
    objs: list[dict[str, Any]] = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": _meta(f"i{i}", ns, created, ing_ann),
            "spec": spec,
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(
                f"s{i % 4}",
                ns,
                "",
                draw(
                    st.sampled_from(
                        [
                            {},
                            {"konghq.com/plugins": "pshared"},
                            {"konghq.com/upstream-policy": "pol"},
                            {"konghq.com/protocol": "grpc"},
                        ]
                    )
                ),
            ),
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": _meta(
                f"s{i % 4}-e{i}", ns, "", {}, {"kubernetes.io/service-name": f"s{i % 4}"}
            ),
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "endpoints": [
                {"addresses": [f"10.0.{i}.{j}"], "conditions": {"ready": draw(st.booleans())}}
                for j in range(2)
            ],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(f"tls{i}", ns, created, {}),
            "data": {"tls.crt": _b64(PAIRS[i % 2][0]), "tls.key": _b64(PAIRS[i % 2][1])},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongPlugin",
            "metadata": _meta(f"p{i}", ns, "", {}),
            "plugin": "key-auth",
            **({"instance_name": "ka"} if draw(st.booleans()) else {"config": {"n": i}}),
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": _meta(f"k{i}", ns, "", {}, {"konghq.com/credential": "key-auth"}),
            "data": {"key": _b64(draw(st.sampled_from([f"key{i}", "dup"])))},
        },
        {
            "apiVersion": "configuration.konghq.com/v1",
            "kind": "KongConsumer",
            "metadata": _meta(
                f"c{i}",
                ns,
                "",
                {
                    "kubernetes.io/ingress.class": "kong",
                    **({"konghq.com/plugins": "pshared"} if draw(st.booleans()) else {}),
                },
            ),
            "username": f"user{i}",
            "credentials": [f"k{i}"],
            "consumerGroups": draw(
                st.lists(st.sampled_from(["g1", "g2"]), max_size=2, unique=True)
            ),
        },
    ]
    return objs


SHARED = [
    {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongPlugin",
        "metadata": {"name": "pshared", "namespace": "a"},
        "plugin": "cors",
        "instance_name": "c",
    },
    {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongClusterPlugin",
        "metadata": {"name": "pshared", "annotations": {"kubernetes.io/ingress.class": "kong"}},
        "plugin": "acl",
    },
    {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongConsumerGroup",
        "metadata": {
            "name": "g1",
            "namespace": "b",
            "creationTimestamp": "2023-01-01T00:00:00Z",
            "annotations": {"kubernetes.io/ingress.class": "kong"},
        },
    },
    {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongConsumerGroup",
        "metadata": {
            "name": "g1",
            "namespace": "a",
            "creationTimestamp": "2024-06-01T00:00:00Z",
            "annotations": {"kubernetes.io/ingress.class": "kong", "konghq.com/plugins": "pshared"},
        },
    },
    {
        "apiVersion": "configuration.konghq.com/v1beta1",
        "kind": "KongUpstreamPolicy",
        "metadata": {"name": "pol", "namespace": "a"},
        "spec": {"algorithm": "least-connections"},
    },
    {
        "apiVersion": "configuration.konghq.com/v1",
        "kind": "KongClusterPlugin",
        "metadata": {
            "name": "glob",
            "labels": {"global": "true"},
            "annotations": {"kubernetes.io/ingress.class": "kong"},
        },
        "plugin": "prometheus",
    },
]


@st.composite
def world(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 6))
    objs = [o for i in range(n) for o in world_set(i, draw)]
    objs += [o for o in SHARED if draw(st.booleans())]
    return objs


@st.composite
def mutation(draw: Any) -> tuple[str, Any]:
    """An operation on a world: replace an object by a fresh variant, delete one, or garble one."""
    kind = draw(st.sampled_from(["variant", "variant", "delete", "garble", "shared", "class"]))
    if kind == "variant":
        i = draw(st.integers(0, 6))
        objs = world_set(i, draw)
        return ("upsert", objs[draw(st.integers(0, len(objs) - 1))])
    if kind == "shared":
        return ("upsert", draw(st.sampled_from(SHARED)))
    if kind == "class":
        return ("upsert", draw(ingress_class))
    if kind == "garble":
        return (
            "upsert",
            draw(
                maybe_garbled(
                    st.builds(lambda: None).flatmap(lambda _: st.just(world_set(0, draw)[0]))
                )
            ),
        )
    return ("delete", draw(st.integers(0, 10_000)))
